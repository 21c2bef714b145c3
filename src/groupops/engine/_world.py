"""The world a condition sees beyond one member during a run: other members' events,
profiles and memberships, the referral tree and the points ledger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .._errors import StoreError
from .._model import LATEST_TIME, Event, LedgerEntry, Member, Membership
from .._referrals import REFERRAL_EVENT, referees_of, referral_edges
from ..plugins._store import Store
from ..rules._facts import History
from ..rules._facts_api import StoreFacts

__all__ = ["StoreWorld", "add_entries_to", "entries_of", "referral_events"]


def referral_events(facts: StoreFacts) -> list[Event]:
    """The ``referral`` events the facts hold (asked of the facts, so a store that
    answers them does it where the events are; only their member, time and data are
    kept: the ids are made up, in member and time order)."""
    return facts.events_of(REFERRAL_EVENT, LATEST_TIME)


def _ledger_method(store: Store, name: str) -> Any:
    method = getattr(store, name, None)
    if method is None:  # a host's store written before the ledger
        raise StoreError(
            f"{type(store).__name__} keeps no points ledger (it has no Store.{name}): "
            "points, a reward in points and the 'points' condition need one"
        )
    return method


def entries_of(store: Store, *, member: str | None = None) -> list[LedgerEntry]:
    """The store's points entries (of ``member``); a store without a ledger is a
    :class:`StoreError` naming the missing method."""
    found: list[LedgerEntry] = _ledger_method(store, "entries")(member=member)
    return found


def add_entries_to(store: Store, entries: Sequence[LedgerEntry]) -> list[bool]:
    """Record ``entries`` in the store's ledger (per entry: whether it was new)."""
    added: list[bool] = _ledger_method(store, "add_entries")(list(entries))
    return added


class StoreWorld:
    """:class:`~groupops.rules._world.World` over a store, the run's facts and profiles.

    Other members' histories and the ``referral`` events are read through the facts
    (``facts`` may be bound after construction, as the facts are handed this world).

    Ledger reads go to the store each time: a redemption decided earlier in the same run
    counts for the next one."""

    def __init__(self, store: Store, facts: StoreFacts | None, profiles: Mapping[str, Member]) -> None:
        self._store = store
        self.facts = facts
        self._profiles = profiles
        self._referees: dict[str, tuple[str, ...]] | None = None

    def history(self, member: str) -> History:
        return self._facts_bound().history(member)

    def _facts_bound(self) -> StoreFacts:
        if self.facts is None:
            raise RuntimeError("StoreWorld used before its facts were bound")
        return self.facts

    def profile(self, member: str) -> Member | None:
        return self._profiles.get(member)

    def membership(self, member: str, group: str) -> Membership | None:
        return self._store.get_membership(member, group)

    def memberships_of(self, member: str) -> Sequence[Membership]:
        return self._store.memberships(member=member)

    def _tree(self) -> dict[str, tuple[str, ...]]:
        if self._referees is None:  # every profile, not only those the caller loaded
            edges = referral_edges(self._store.members(), referral_events(self._facts_bound()))
            self._referees = referees_of(edges)
        return self._referees

    def referees(self, member: str) -> Sequence[str]:
        return self._tree().get(member, ())

    def referrers(self) -> Sequence[str]:
        return sorted(self._tree())

    def balance(self, member: str, at: datetime) -> float:
        return sum(e.points for e in entries_of(self._store, member=member) if e.at <= at)
