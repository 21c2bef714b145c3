"""The growth funnel as numbers: acquisition → activation → retention → conversion, per
source channel, per group or per referrer, over any period.

:func:`funnel` reads a store; the HTML report draws its per-channel rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from ._errors import InputError, Problem
from ._model import Event, Member, Membership
from ._time import Duration, to_zone
from .plugins._store import Store
from .rules._book import RuleBook

__all__ = ["FUNNEL_STAGES", "RETENTION_WINDOW", "FunnelBy", "FunnelRow", "funnel"]

FUNNEL_STAGES: tuple[str, ...] = ("acquired", "activated", "retained", "converted")
RETENTION_WINDOW = timedelta(days=28)
"""How recent a member's last activity must be for them to count as retained, by default."""

FunnelBy = Literal["source", "group", "referrer"]
_PRESENCE_KINDS = frozenset({"joined", "left"})
# roles that are not customers: they never count as converted
_NOT_CUSTOMERS = frozenset({"owner", "admin", "assistant", "guest", "lecturer"})


@dataclass(frozen=True)
class FunnelRow:
    """The members of one row at each stage of the funnel.

    ``key`` is the row's source channel, group id or referrer (as ``by`` says); None is
    the unknown row: members whose profile names no channel, who are in no group, or whom
    nobody brought. ``acquired``: members first seen in the period (their first event);
    ``activated``: of those, members who did something that counts as activity by the
    period's end; ``retained``: of those, members still in a group at the end and active
    within the retention window before it; ``converted``: members in a group of a
    converting kind (``paid``) as customers (not staff, guests or lecturers).
    """

    key: str | None
    acquired: int
    activated: int
    retained: int
    converted: int
    by: FunnelBy = "source"

    @property
    def source(self) -> str | None:
        """The row's key (the source channel, for rows by source)."""
        return self.key

    def stage(self, name: str) -> int:
        """The count at a stage of :data:`FUNNEL_STAGES`."""
        return int(getattr(self, name))

    def rate(self, name: str) -> float | None:
        """The count at a stage as a share of ``acquired`` (None for an empty row)."""
        return None if self.acquired == 0 else self.stage(name) / self.acquired


def funnel(
    store: Store,
    book: RuleBook,
    *,
    until: datetime,
    since: datetime | None = None,
    by: FunnelBy = "source",
    retention: Duration | timedelta = RETENTION_WINDOW,
    activity: Sequence[str] | None = None,
    converting_kinds: Sequence[str] = ("paid",),
) -> tuple[FunnelRow, ...]:
    """Acquisition → activation → retention → conversion of the members first seen in
    ``(since, until]`` (``since`` None: from the beginning), one row per source channel,
    per group (a member counts in each group they joined) or per referrer (``by``), with
    an unknown row, biggest first and the unknown row last.

    ``activity``: the event kinds that count as activation and retention (default: any
    kind but ``joined`` and ``left``); ``retention``: how recent the last activity must
    be at ``until`` (default 28 days; a :class:`Duration` counts calendar units in the
    book's time zone); ``converting_kinds``: the group kinds whose customers count as
    converted. Events after ``until`` are left out; memberships count if they began by
    ``until`` (their status is as the store keeps it now). Raises :class:`InputError`
    for ``since`` not before ``until`` or an unknown ``by``.
    """
    tz = book.tz
    until = to_zone(until, tz)
    if since is not None and to_zone(since, tz) >= until:
        raise InputError(
            [Problem("since", f"{since.isoformat()!r} is not before until {until.isoformat()!r}")]
        )
    if by not in ("source", "group", "referrer"):
        raise InputError([Problem("by", f"{by!r} is not one of source, group, referrer")])
    events = [e for _, e in store.events_after(0) if e.at <= until]
    memberships = [ms for ms in store.memberships() if ms.joined_at <= until]
    kinds = {g.id: g.kind for g in book.groups} | {g.id: g.kind for g in store.groups()}
    return funnel_rows(
        events,
        memberships,
        store.members(),
        kinds,
        until=until,
        since=since,
        by=by,
        retention=retention,
        activity=activity,
        converting_kinds=converting_kinds,
        tz_book=book,
    )


def funnel_rows(
    events: Iterable[Event],
    memberships: Sequence[Membership],
    members: Iterable[Member],
    group_kinds: Mapping[str, str],
    *,
    until: datetime,
    since: datetime | None = None,
    by: FunnelBy = "source",
    retention: Duration | timedelta = RETENTION_WINDOW,
    activity: Sequence[str] | None = None,
    converting_kinds: Sequence[str] = ("paid",),
    tz_book: RuleBook | None = None,
) -> tuple[FunnelRow, ...]:
    """:func:`funnel` over records already read (events up to ``until``, memberships
    begun by then, member profiles, group kinds by id)."""
    active_kinds = frozenset(activity) if activity is not None else None

    def counts_as_activity(kind: str) -> bool:
        return kind in active_kinds if active_kinds is not None else kind not in _PRESENCE_KINDS

    first_seen: dict[str, datetime] = {}
    last_active: dict[str, datetime] = {}
    for e in events:
        if e.member not in first_seen or e.at < first_seen[e.member]:
            first_seen[e.member] = e.at
        if counts_as_activity(e.kind) and (e.member not in last_active or e.at > last_active[e.member]):
            last_active[e.member] = e.at
    if isinstance(retention, Duration):
        tz = tz_book.tz if tz_book is not None else until.tzinfo
        assert tz is not None
        window_start = retention.before(until, tz)
    else:
        window_start = until - retention
    converting = set(converting_kinds)
    converted = {
        ms.member
        for ms in memberships
        if group_kinds.get(ms.group) in converting and ms.role not in _NOT_CUSTOMERS
    }
    still_in = {ms.member for ms in memberships if ms.present}
    cohort = {m for m, t in first_seen.items() if since is None or t > since}
    profiles = {m.id: m for m in members}
    rows: dict[str | None, list[str]] = {}
    if by == "group":
        in_a_group: set[str] = set()
        for ms in memberships:
            if ms.member in cohort:
                rows.setdefault(ms.group, [])
                if ms.member not in rows[ms.group]:
                    rows[ms.group].append(ms.member)
                in_a_group.add(ms.member)
        alone = sorted(cohort - in_a_group)
        if alone:
            rows[None] = alone
    else:
        for member in sorted(cohort):
            profile = profiles.get(member)
            key = (profile.source if by == "source" else profile.referrer) if profile is not None else None
            rows.setdefault(key or None, []).append(member)
    out = [
        FunnelRow(
            key=key,
            by=by,
            acquired=len(ids),
            activated=sum(1 for i in ids if i in last_active),
            retained=sum(
                1 for i in ids if i in still_in and i in last_active and last_active[i] > window_start
            ),
            converted=sum(1 for i in ids if i in converted),
        )
        for key, ids in rows.items()
    ]
    return tuple(sorted(out, key=lambda r: (r.key is None, -r.acquired, r.key or "")))
