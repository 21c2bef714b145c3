"""The world a condition sees beyond one member during a run: other members' events,
profiles and memberships, the referral tree and the points ledger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .._errors import StoreError
from .._model import LedgerEntry, Member, Membership
from ..plugins._store import Store
from ..rules._facts import Community, History

__all__ = ["StoreWorld", "add_entries_to", "entries_of", "referees_by_referrer"]


def referees_by_referrer(profiles: Mapping[str, Member]) -> dict[str, tuple[str, ...]]:
    """Each referrer's referees (members whose profile names them), sorted."""
    found: dict[str, list[str]] = {}
    for profile in profiles.values():
        if profile.referrer is not None:
            found.setdefault(profile.referrer, []).append(profile.id)
    return {r: tuple(sorted(ids)) for r, ids in found.items()}


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

    Ledger reads go to the store each time: a redemption decided earlier in the same run
    counts for the next one."""

    def __init__(self, store: Store, community: Community, profiles: Mapping[str, Member]) -> None:
        self._store = store
        self._community = community
        self._profiles = profiles
        self._referees: dict[str, tuple[str, ...]] | None = None

    def history(self, member: str) -> History:
        return self._community.history(member)

    def profile(self, member: str) -> Member | None:
        return self._profiles.get(member)

    def membership(self, member: str, group: str) -> Membership | None:
        return self._store.get_membership(member, group)

    def memberships_of(self, member: str) -> Sequence[Membership]:
        return self._store.memberships(member=member)

    def referees(self, member: str) -> Sequence[str]:
        if self._referees is None:  # every profile, not only those the caller loaded
            self._referees = referees_by_referrer({m.id: m for m in self._store.members()})
        return self._referees.get(member, ())

    def balance(self, member: str, at: datetime) -> float:
        return sum(e.points for e in entries_of(self._store, member=member) if e.at <= at)
