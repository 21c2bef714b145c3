"""Ingest and the membership lifecycle: records in, memberships opened and closed by event time."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from .._errors import InputError, Problem
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
from .._validation import problems_from
from ..rules._facts_api import MemoryFacts, StoreFacts
from ._base import EngineBase


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

        An event naming a group the rule book does not know is a bad record (most often
        a typo, which no policy would ever see), rejected with a problem naming the group
        and the known ones. With ``check_groups=False`` it is stored, and the report's
        ``unknown_groups`` lists the groups the book does not know (for a host that
        ingests before it has a rule book, like ``groupops ingest`` without ``--rules``).
        """
        events: list[Event] = []
        members: list[Member] = []
        rejected: list[Rejected] = []
        known = {g.id for g in self.book.groups}
        unknown: set[str] = set()
        for index, record in enumerate(records):
            try:
                parsed = _parse_record(record)
            except InputError as exc:
                rejected.append(Rejected(index=index, record=record, problems=tuple(map(str, exc.problems))))
                continue
            if isinstance(parsed, Event):
                if parsed.group is not None and parsed.group not in known:
                    if check_groups:
                        problem = _unknown_group(parsed.group, known)
                        rejected.append(Rejected(index=index, record=record, problems=(str(problem),)))
                        continue
                    unknown.add(parsed.group)
                events.append(parsed)
            else:
                members.append(parsed)
        with self.store.transaction():
            for m in members:
                self.store.put_member(m)
            fresh = self.store.add_events(events)
            new_events = [e for e, is_new in zip(events, fresh, strict=True) if is_new]
            for e in sorted(new_events, key=lambda e: e.at):
                if e.kind in ("joined", "left") and e.group is not None:
                    self._presence(e)
        # no fact work here: a run reads the facts it needs when it runs
        return IngestReport(
            events=len(new_events),
            members=len(members),
            duplicates=tuple(e.id for e, is_new in zip(events, fresh, strict=True) if not is_new),
            rejected=tuple(rejected),
            unknown_groups=tuple(sorted(unknown)),
        )

    def _presence(self, event: Event) -> None:
        """Open or close a membership from a joined/left event, by event time."""
        assert event.group is not None
        ms = self.store.get_membership(event.member, event.group)
        role = event.data.get("role")
        if event.kind == "joined":
            if ms is None:
                ms = Membership(
                    member=event.member,
                    group=event.group,
                    joined_at=event.at,
                    role=role if isinstance(role, str) and role else "member",
                )
            elif ms.present and event.at < ms.joined_at:
                ms = ms.model_copy(update={"joined_at": event.at})
            elif not ms.present and event.at >= _latest(ms.left_at, ms.evicted_at, ms.joined_at):
                ms = ms.model_copy(update={"status": "active", "joined_at": event.at, "left_at": None})
            else:
                return
        else:
            if ms is None or not ms.present or event.at < ms.joined_at:
                return
            ms = ms.model_copy(update={"status": "left", "left_at": event.at})
        self._record_membership(ms, event.at)

    def put_membership(self, membership: Membership, *, at: datetime | None = None) -> None:
        """Insert or replace a membership directly (set a role, lock it, import state).

        The change is kept in the membership's history as taking effect at ``at``
        (default: the latest moment the membership names, such as its ``joined_at``)."""
        self.book.group(membership.group)
        self._record_membership(membership, at if at is not None else _latest_moment(membership))

    def _record_membership(self, membership: Membership, at: datetime, decision: str | None = None) -> None:
        """Put the membership, keeping the change in its history (if the store keeps one)."""
        change = MembershipChange(at=at, membership=membership, decision=decision)
        record = getattr(self.store, "record_membership", None)
        if record is None:  # a store written before membership history
            self.store.put_membership(membership)
        else:
            record(change)

    def _facts_for(self, profiles: Mapping[str, Member]) -> StoreFacts:
        """The facts a run (or an explanation) reads, as of now: the store's own, where
        it answers them (an optional ``facts`` method, as :class:`~groupops.SQLiteStore`
        has), else the in-memory facts, first caught up with the events stored since."""
        answer = getattr(self.store, "facts", None)
        if answer is not None:
            facts: StoreFacts = answer(tz=self.book.tz, profiles=profiles, metrics=self.metrics)
            return facts
        self._sync()
        return MemoryFacts(self._community, profiles, self.metrics)

    def _sync(self) -> None:
        """Bring the in-memory facts up to date with events stored since the last sync
        (by this or any other process). Only for a store that answers no facts itself."""
        with self._sync_lock:
            for seq, event in self.store.events_after(self._seq):
                self._community.add(event)
                self._seq = seq


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


def _parse_record(record: Event | Member | Mapping[str, Any] | str) -> Event | Member:
    if isinstance(record, Event | Member):
        return record
    data: Any = record
    if isinstance(record, str | bytes):
        data = parse_json_record(record)
    if not isinstance(data, Mapping):
        raise InputError([Problem("", f"expected an event or member object, got {type(data).__name__}")])
    model: type[Event] | type[Member] = Event if "kind" in data else Member
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise InputError(problems_from(exc)) from None
