"""Outgoing messages: what a decision asks messengers to do, and how delivery went."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = ["Audience", "MessageStatus", "OutboxMessage"]

MessageStatus = Literal["pending", "delivered", "held", "dead", "cancelled"]

Audience = Literal["member", "group", "operators"]
"""Who a message goes to: a member (privately), a group (posted in it) or the group's
operators (a task, or a notification such as a lead handed to sales)."""


class OutboxMessage(BaseModel):
    """One message (or platform action) owed to someone because of a decision.

    ``key`` is the idempotency key handed to the messenger: the same message always
    has the same key, however often delivery is retried. ``action`` is what the
    messenger must do (``notice`` is a message; ``evict`` also removes the member;
    ``task`` asks an operator to act by hand). ``audience`` says who it goes to:
    ``member`` (``recipient`` is the member's id), ``group`` (posted in the group;
    ``recipient`` is the group's id) or ``operators`` (``recipient`` is an operator).
    ``member`` and ``group`` are the decision's subject (either may be None).

    ``created_at`` is the time of the decision; messages to one recipient are delivered
    in that order (then in queue order). ``status`` is ``pending`` (waiting, in flight or
    retrying: ``attempts`` so far, next try at ``next_at``), ``held`` (a quota or a rate
    limit holds it until ``next_at``), ``delivered`` (at ``delivered_at``, the ``at`` of
    that pass), ``dead`` (given up after the engine's ``max_attempts``) or ``cancelled``
    (no longer wanted when its turn came, e.g. an invitation to a group the member joined
    meanwhile; ``last_error`` says why). While a deliverer holds it,
    ``lease_owner`` names that deliverer's pass and ``lease_until`` is when the lease
    ends on the deliverers' clock (see :class:`~groupops.Engine`'s ``clock``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    decision: str
    messenger: str
    action: str
    member: str | None
    group: str | None
    recipient: str
    audience: Audience = "member"
    text: str
    created_at: AwareDatetime
    status: MessageStatus = "pending"
    attempts: int = Field(default=0, ge=0)
    next_at: AwareDatetime
    lease_until: AwareDatetime | None = None
    lease_owner: str | None = None
    delivered_at: AwareDatetime | None = None
    last_error: str | None = None
