"""Ingest and the membership lifecycle: records in, memberships opened and closed by event time."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from .._errors import InputError, Problem
from .._gc import collector_paused
from .._model import (
    MAX_DATA_DEPTH,
    MAX_RECORD_SIZE,
    Event,
    Member,
    Membership,
    MembershipChange,
)
from .._reports import (
    IngestReport,
    Rejected,
)
from .._time import micros
from .._trusted import built, event_from_mapping
from .._validation import problems_from
from ..plugins._event_rows import EventRow, event_row, event_row_from_mapping, row_instant
from ..rules._facts_api import MemoryFacts, StoreFacts
from ._base import EngineBase
from ._world import StoreWorld


class Ingesting(EngineBase):
    """Ingest and the membership lifecycle."""

    def ingest(
        self, records: Iterable[Event | Member | Mapping[str, Any] | str], *, check_groups: bool = True
    ) -> IngestReport:
        """Take in events and member profiles: models, dicts, or JSON text lines.

        A mapping with a ``kind`` key is an event, any other a member profile.
        Re-ingesting an event id is a no-op (counted in ``duplicates``). A bad record is
        set aside in ``rejected`` with its problems; the rest goes through. ``joined``
        and ``left`` events open and close memberships (``data.role`` sets the role).

        An event naming a group neither the rule book nor the store knows is a bad record
        (most often a typo, which no policy would ever see), rejected with a problem
        naming the group and the known ones. A group created at run time (by
        :func:`~groupops.create_group` or a decision) is kept in the store, and accepted.
        With ``check_groups=False`` it is stored, and the report's ``unknown_groups``
        lists the groups the book does not know (for a host that ingests before it has a
        rule book, like ``groupops ingest`` without ``--rules``).

        A member profile whose ``referrer`` would close a cycle of referrers (A referred
        B referred A, or A referred A) with the stored profiles and those before it in
        the batch is rejected, with a problem naming the cycle's members.
        """
        with collector_paused():  # see groupops._gc
            return self._ingest(records, check_groups=check_groups)

    def _ingest(
        self, records: Iterable[Event | Member | Mapping[str, Any] | str], *, check_groups: bool
    ) -> IngestReport:
        # A store that takes events as rows (SQLiteStore) gets them without an Event
        # built for each: the common shape goes from the parsed record to its row.
        add_rows = _row_writer(self.store)
        events: list[Event] = []
        rows: list[EventRow] = []
        movers: list[tuple[int, str, Any]] = []  # joined and left events' rows: index, group, role
        members: list[Member] = []
        origins: dict[int, tuple[int, Any]] = {}  # id(profile) -> (index, record)
        rejected: list[Rejected] = []
        known = self._known_groups()
        unknown: set[str] = set()
        for index, record in enumerate(records):
            try:
                parsed = _parse_record(record, as_row=add_rows is not None)
            except InputError as exc:
                rejected.append(Rejected(index=index, record=record, problems=tuple(map(str, exc.problems))))
                continue
            if isinstance(parsed, tuple):  # an event's row, and its data
                row, data = parsed
                group = row[2]
            elif isinstance(parsed, Event):
                group = parsed.group
            else:
                members.append(parsed)
                origins[id(parsed)] = (index, record)
                continue
            if group is not None and group not in known:
                if check_groups:
                    problem = _unknown_group(group, known)
                    rejected.append(Rejected(index=index, record=record, problems=(str(problem),)))
                    continue
                unknown.add(group)
            if isinstance(parsed, tuple):
                if row[3] in _MOVES and group is not None:
                    movers.append((len(rows), group, data.get("role") if data else None))
                rows.append(row)
            else:
                events.append(parsed)
        if any(m.referrer is not None for m in members):
            members = self._without_referral_cycles(members, origins, rejected)
        with self.store.transaction():
            for m in members:
                self.store.put_member(m)
            if add_rows is not None:
                fresh: list[bool] = add_rows(rows)
                moves = [
                    (rows[i][5], rows[i][3], rows[i][1], group, row_instant(rows[i]), role)
                    for i, group, role in movers
                    if fresh[i]
                ]
            else:
                fresh = self.store.add_events(events)
                moves = [
                    (micros(e.at), e.kind, e.member, e.group, e.at, e.data.get("role"))
                    for e, is_new in zip(events, fresh, strict=True)
                    if is_new and e.kind in _MOVES and e.group is not None
                ]
            if moves:
                moves.sort(key=_first)  # by time; events at the same instant in their order
                current = self._memberships_of({(move[2], move[3]) for move in moves})
                for move in moves:
                    self._presence(move, current)
        # no fact work here: a run reads the facts it needs when it runs
        return IngestReport(
            events=fresh.count(True),
            members=len(members),
            duplicates=() if all(fresh) else _duplicates(rows or events, fresh),
            rejected=tuple(sorted(rejected, key=lambda r: r.index)),
            unknown_groups=tuple(sorted(unknown)),
        )

    def _known_groups(self) -> set[str]:
        """The groups events may name: the book's, and every group the store keeps (a
        store without group operations knows the book's only)."""
        known = {g.id for g in self.book.groups}
        groups = getattr(self.store, "groups", None)
        if groups is not None:
            known.update(g.id for g in groups())
        return known

    def _without_referral_cycles(
        self, members: list[Member], origins: Mapping[int, tuple[int, Any]], rejected: list[Rejected]
    ) -> list[Member]:
        """The profiles of a batch that close no cycle of referrers (A referred B referred
        A), checked against the stored profiles and the batch before them; a profile
        that would close one is set aside with a problem naming the cycle's members."""
        referrer_of = {m.id: m.referrer for m in self.store.members() if m.referrer is not None}
        kept: list[Member] = []
        for m in members:
            cycle = _referral_cycle(m.id, m.referrer, referrer_of)
            if cycle is None:
                kept.append(m)
                if m.referrer is None:
                    referrer_of.pop(m.id, None)
                else:
                    referrer_of[m.id] = m.referrer
                continue
            problem = Problem(
                "referrer",
                f"{m.referrer!r} would make a cycle of referrers: {' → '.join(map(repr, cycle))} "
                "(a member cannot be referred, directly or not, by someone they referred)",
            )
            index, record = origins[id(m)]
            rejected.append(Rejected(index=index, record=record, problems=(str(problem),)))
        return kept

    def _memberships_of(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Membership | None]:
        """The stored memberships of (member, group) pairs, None for those not stored:
        in one read where the store offers one (``get_memberships``), else one by one."""
        many = getattr(self.store, "get_memberships", None)
        if many is not None:
            found: dict[tuple[str, str], Membership] = many(keys)
            return {key: found.get(key) for key in keys}
        return {(m, g): self.store.get_membership(m, g) for m, g in keys}

    def _presence(self, move: _Move, current: dict[tuple[str, str], Membership | None]) -> None:
        """Open or close a membership from a joined/left event, by event time.
        ``current`` holds the memberships as they stand, and is kept up to date."""
        _, kind, member, group, at, role = move
        key = (member, group)
        ms = current[key]
        if kind == "joined":
            if ms is None:
                # the event's fields are valid already: no second validation
                ms = built(
                    Membership,
                    member=member,
                    group=group,
                    joined_at=at,
                    role=role if isinstance(role, str) and role else "member",
                )
            elif ms.present and at < ms.joined_at:
                ms = ms.model_copy(update={"joined_at": at})
            elif not ms.present and at >= _latest(ms.left_at, ms.evicted_at, ms.joined_at):
                ms = ms.model_copy(update={"status": "active", "joined_at": at, "left_at": None})
            else:
                return
        else:
            if ms is None or not ms.present or at < ms.joined_at:
                return
            ms = ms.model_copy(update={"status": "left", "left_at": at})
        current[key] = ms
        self._record_membership(ms, at, trusted_at=True)

    def put_membership(self, membership: Membership, *, at: datetime | None = None) -> None:
        """Insert or replace a membership directly (set a role, lock it, import state).

        The change is kept in the membership's history as taking effect at ``at``
        (default: the latest moment the membership names, such as its ``joined_at``)."""
        if membership.group not in self._known_groups():
            self.book.group(membership.group)  # raises UnknownGroupError naming the book's
        self._record_membership(membership, at if at is not None else _latest_moment(membership))

    def _record_membership(
        self, membership: Membership, at: datetime, decision: str | None = None, *, trusted_at: bool = False
    ) -> None:
        """Put the membership, keeping the change in its history (if the store keeps one).
        ``trusted_at``: ``at`` is a validated model's time (no second validation)."""
        change = (
            built(MembershipChange, at=at, membership=membership, decision=decision)
            if trusted_at
            else MembershipChange(at=at, membership=membership, decision=decision)
        )
        record = getattr(self.store, "record_membership", None)
        if record is None:  # a store written before membership history
            self.store.put_membership(membership)
        else:
            record(change)

    def _facts_for(self, profiles: Mapping[str, Member]) -> StoreFacts:
        """The facts a run (or an explanation) reads, as of now (see :meth:`_facts_and_world`)."""
        return self._facts_and_world(profiles)[0]

    def _facts_and_world(self, profiles: Mapping[str, Member]) -> tuple[StoreFacts, StoreWorld]:
        """The facts a run (or an explanation) reads, as of now, and the world its
        conditions see (other members read through those facts): the store's own facts,
        where it answers them (an optional ``facts`` method, as
        :class:`~groupops.SQLiteStore` has), else the in-memory facts, first caught up
        with the events stored since."""
        world = StoreWorld(self.store, None, profiles)
        answer = getattr(self._batch_facts or self.store, "facts", None)
        facts: StoreFacts
        if answer is not None:
            facts = answer(
                tz=self.book.tz,
                profiles=profiles,
                metrics=self.metrics,
                world=world,
                presence=self._present_groups,
            )
        else:
            self._sync()
            facts = MemoryFacts(
                self._community, profiles, self.metrics, world=world, presence=self._present_groups
            )
        world.facts = facts
        return facts, world

    def _sync(self) -> None:
        """Bring the in-memory facts up to date with events stored since the last sync
        (by this or any other process). Only for a store that answers no facts itself."""
        with self._sync_lock:
            for seq, event in self.store.events_after(self._seq):
                self._community.add(event)
                self._seq = seq


def _referral_cycle(member: str, referrer: str | None, referrer_of: Mapping[str, str]) -> list[str] | None:
    """The cycle ``member`` -> ``referrer`` -> ... -> ``member`` that naming ``referrer``
    would close, as the members in order (first and last ``member``), or None."""
    chain = [member]
    seen = {member}
    current = referrer
    while current is not None:
        chain.append(current)
        if current == member:
            return chain
        if current in seen:  # a cycle elsewhere (stored before this check): not ours
            return None
        seen.add(current)
        current = referrer_of.get(current)
    return None


def _latest(*moments: datetime | None) -> datetime:
    return max(m for m in moments if m is not None)


def parse_json_record(text: str | bytes) -> Any:
    """One record's JSON text as data; :class:`InputError` saying what is wrong with it
    (too long, not JSON, nested deeper than Python can read)."""
    if len(text) > MAX_RECORD_SIZE:
        unit = "bytes" if isinstance(text, bytes) else "characters"
        raise InputError(
            [Problem("", f"is {len(text):,} {unit} long; a record is at most {MAX_RECORD_SIZE:,}")]
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError([Problem("", f"not valid JSON: {exc.msg} at column {exc.colno}")]) from None
    except RecursionError:
        raise InputError(
            [Problem("", f"JSON nested too deeply to read (data may nest at most {MAX_DATA_DEPTH} levels)")]
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError([Problem("", f"not UTF-8 text: {exc.reason} at byte {exc.start + 1}")]) from None


def _unknown_group(group: str, known: set[str]) -> Problem:
    return Problem(
        "group",
        f"{group!r} is not a group of the rule book (known groups: {', '.join(map(repr, sorted(known)))})",
    )


def _latest_moment(ms: Membership) -> datetime:
    return _latest(ms.joined_at, ms.left_at, ms.evicted_at, ms.revived_at, ms.promoted_at)


def _parse_record(
    record: Event | Member | Mapping[str, Any] | str, *, as_row: bool = False
) -> Event | Member | tuple[EventRow, Mapping[str, Any] | None]:
    """The event or member profile a record describes. ``as_row``: an event as its row
    and its data (None if it has none), without building the event where the record
    has the common shape. :class:`InputError` saying what is wrong with a bad record."""
    data: Any = record
    if type(record) is str:  # a line of JSON or a dict, the common records: tested first
        data = parse_json_record(record)
    elif type(record) is dict:
        pass
    elif isinstance(record, Member):
        return record
    elif isinstance(record, Event):
        return (event_row(record), record.data) if as_row else record
    elif isinstance(record, str | bytes):
        data = parse_json_record(record)
    if type(data) is not dict and not isinstance(data, Mapping):  # (an ABC's test costs more)
        raise InputError([Problem("", f"expected an event or member object, got {type(data).__name__}")])
    if "kind" not in data:
        return _validated(Member, data)
    if as_row:
        # the common shape, checked without the model
        row = event_row_from_mapping(data)
        if row is None:
            event = _validated(Event, data)
            return event_row(event), event.data
        return row, data.get("data")
    return event_from_mapping(data) or _validated(Event, data)


def _validated(model: type[_V], data: Mapping[str, Any]) -> _V:
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise InputError(problems_from(exc)) from None


_V = TypeVar("_V", Event, Member)
_MOVES = frozenset({"joined", "left"})  # the kinds of event that open and close memberships
_Move = tuple[int, str, str, str, datetime, Any]
"""A joined or left event, as it opens or closes a membership: its time in microseconds
since the epoch, kind, member, group, time (the instant), and its data's ``role``."""


def _row_writer(store: Any) -> Callable[[Sequence[EventRow]], list[bool]] | None:
    """The store's ``add_event_rows``, if it has one and its ``add_events`` is the one
    written with it: a store whose ``add_events`` was replaced (a subclass overriding
    it alone, or set on the instance) keeps getting its events through it."""
    cls = type(store)
    rows_by = next((c for c in cls.__mro__ if "add_event_rows" in vars(c)), None)
    events_by = next((c for c in cls.__mro__ if "add_events" in vars(c)), None)
    if rows_by is None or events_by is None or not issubclass(rows_by, events_by):
        return None
    if "add_events" in getattr(store, "__dict__", {}):
        return None
    writer: Callable[[Sequence[EventRow]], list[bool]] = store.add_event_rows
    return writer


def _duplicates(events: Sequence[EventRow | Event], fresh: list[bool]) -> tuple[str, ...]:
    """The ids of the events (or their rows) stored already, in order."""
    return tuple(
        e.id if isinstance(e, Event) else e[0] for e, is_new in zip(events, fresh, strict=True) if not is_new
    )


def _first(move: _Move) -> int:
    return move[0]
