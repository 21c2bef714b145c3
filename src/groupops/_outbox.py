"""Outgoing messages: what a decision asks messengers to do, and how delivery went."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = ["MessageStatus", "OutboxMessage"]

MessageStatus = Literal["pending", "delivered", "held", "dead"]


class OutboxMessage(BaseModel):
    """One message (or platform action) owed to someone because of a decision.

    ``key`` is the idempotency key handed to the messenger: the same message always
    has the same key, however often delivery is retried. ``action`` is what the
    messenger must do (``notice`` is a message; ``evict`` also removes the member;
    ``task`` asks an operator to act by hand). ``recipient`` is a member id, or an
    operator for tasks.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    decision: str
    messenger: str
    action: str
    member: str
    group: str
    recipient: str
    text: str
    created_at: AwareDatetime
    status: MessageStatus = "pending"
    attempts: int = Field(default=0, ge=0)
    next_at: AwareDatetime
    lease_until: AwareDatetime | None = None
    delivered_at: AwareDatetime | None = None
    last_error: str | None = None
