"""What a condition may ask beyond one member's own events: other members (a referee's
events, profile and memberships) and the points ledger.

A :class:`World` is handed to a :class:`~groupops.rules.Context` by whoever evaluates (the
engine, :class:`~groupops.MemoryFacts`); the rule language only reads it, so ``rules/``
stays free of the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .._model import Member, Membership
    from ._facts import History

__all__ = ["World"]


class World(Protocol):
    """Members beyond the one evaluated, and the points ledger, at any instant."""

    def history(self, member: str) -> History:
        """The member's events (empty if none)."""
        ...

    def profile(self, member: str) -> Member | None:
        """The member's profile, or None."""
        ...

    def membership(self, member: str, group: str) -> Membership | None:
        """The member's membership in ``group``, or None."""
        ...

    def memberships_of(self, member: str) -> Sequence[Membership]:
        """Every membership of the member (present or not)."""
        ...

    def referees(self, member: str) -> Sequence[str]:
        """The members ``member`` referred (their profile names ``member`` as
        ``referrer``, or a ``referral`` event of ``member`` names them), sorted."""
        ...

    def referrers(self) -> Sequence[str]:
        """Every member who referred someone, sorted."""
        ...

    def balance(self, member: str, at: datetime) -> float:
        """The sum of the member's points entries at or before ``at``."""
        ...
