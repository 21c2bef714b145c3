"""Facts answered where the events are: the SQLite store's :class:`~groupops.StoreFacts`.

Counts, last-seen instants and group activity are SQL over the ``events`` table and its
indexes (``events_member_kind_at``, ``events_grp_kind_at``). Conditions, sums and
metric plugins read each member's :class:`~groupops.rules.History`, loaded from the table's
columns only for the members asked about (many per query) and kept by the store between
runs: a history is dropped when an event of its member is stored, by any process, and
loaded again when next asked for. No process replays every stored event.

Windows are closed, ``[start, at]``, compared in integer microseconds (``at_us``), which
orders events exactly as the in-memory :class:`~groupops.MemoryFacts` does.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .._errors import MissingExtraError
from .._gc import collector_paused
from .._model import Event, Member
from .._time import EPOCH, micros
from ..rules._evaluate import MetricFunction
from ..rules._facts import History
from ..rules._facts_api import GroupActivity, LoggedEvent, MemoryFacts, Subject
from ..rules._sql import NotCompilable
from ..rules._world import World

if TYPE_CHECKING:
    from .sqlite import SQLiteStore

__all__ = ["HistoryCache", "SQLiteFacts"]

log = logging.getLogger("groupops.store")

_IN_LIST = 500  # members bound in one IN (...) list


def _instant(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _IN_LIST):
        yield items[i : i + _IN_LIST]


def _marks(n: int) -> str:
    return ", ".join("?" * n)


_CACHED_EVENTS = 1_000_000
"""How many events the histories a store keeps between reads may hold in all (about a
kilobyte each in memory): beyond it the histories read first are dropped, to be read
again if asked for. Large enough that a community of 100,000 members with ten events
each is read once per run and kept for the next (a smaller bound made a run read each
history once per policy, measured: about half as much CPU again); a million members
hold about a tenth of theirs at a time."""


class HistoryCache:
    """Members' histories read from one store in one time zone (days are counted in
    it), valid up to the event numbered ``seq``. ``lock`` is the store's own (one lock,
    so a thread inside a store transaction and one reading facts cannot deadlock).

    ``planned`` maps each member whose history was announced (``prefetch``) and not read
    yet to the members announced with it, read together on first use; ``sizes`` holds
    the number of events of each history kept, at most ``limit`` in all (oldest
    dropped first)."""

    def __init__(self, tz: tzinfo, lock: threading.RLock, limit: int | None = None) -> None:
        self.tz = tz
        self.seq = 0
        self.histories: dict[str, History] = {}
        self.sizes: dict[str, int] = {}
        self.planned: dict[str, tuple[str, ...]] = {}
        self.limit = _CACHED_EVENTS if limit is None else limit
        self.held = 0
        self.lock = lock
        # (seq, whether a row up to it is read through its payload): SQL verdicts need none
        self.payload_rows: tuple[int, bool] | None = None

    def drop(self, member: str) -> None:
        """Forget ``member``'s history (an event of theirs was stored)."""
        if self.histories.pop(member, None) is not None:
            self.held -= self.sizes.pop(member, 0)

    def keep(self, loaded: Mapping[str, History], sizes: Mapping[str, int]) -> None:
        """Keep newly read histories, dropping the oldest kept ones (never these) while
        more than ``limit`` events are held."""
        for member, history in loaded.items():
            self.drop(member)
            self.histories[member] = history
            self.sizes[member] = sizes.get(member, 0)
            self.held += self.sizes[member]
        while self.held > self.limit and len(self.histories) > len(loaded):
            oldest = next(iter(self.histories))
            if oldest in loaded:
                break
            self.drop(oldest)


class SQLiteFacts(MemoryFacts):
    """:class:`~groupops.StoreFacts` over a :class:`~groupops.SQLiteStore`.

    Made by :meth:`SQLiteStore.facts`; one per run (its profiles are the run's)."""

    def __init__(
        self,
        store: SQLiteStore,
        cache: HistoryCache,
        profiles: Mapping[str, Member] | Callable[[], Mapping[str, Member]] | None = None,
        metrics: Mapping[str, MetricFunction] | None = None,
        *,
        world: World | None = None,
        presence: Callable[[str], Mapping[str, str]] | None = None,
    ) -> None:
        self._store = store
        self._cache = cache
        self._profiles = profiles
        self._metrics = dict(metrics or {})
        # referees, referrers and balances are asked of the world, as in MemoryFacts (its
        # referral events come from :meth:`events_of`, in SQL)
        self._world = world
        self._presence = presence

    @property
    def tz(self) -> tzinfo:
        return self._cache.tz

    # histories --------------------------------------------------------------------------
    def history(self, member: str) -> History:
        cache = self._cache
        history = cache.histories.get(member)
        if history is None:
            with cache.lock:
                chunk = cache.planned.pop(member, None)
                wanted = [member] if chunk is None else [m for m in chunk if m not in cache.histories]
                for m in wanted:
                    cache.planned.pop(m, None)
                if member not in wanted:
                    wanted.append(member)
                history = self._load(wanted)[member]
        return history

    def prefetch(self, members: Iterable[str]) -> None:
        """Note that the histories of ``members`` are about to be read: each is read on
        first use, with the ``_IN_LIST`` members noted after it (in one query), so a
        run over many members holds the histories of a slice of them at a time."""
        cache = self._cache
        with cache.lock:
            missing = [m for m in dict.fromkeys(members) if m not in cache.histories]
            for chunk in _chunks(missing):
                together = tuple(chunk)
                for m in together:
                    cache.planned[m] = together

    def _load(self, members: Sequence[str]) -> dict[str, History]:
        """Read the histories of ``members`` (one query per ``_IN_LIST``) and keep them."""
        cache = self._cache
        out: dict[str, History] = {}
        with cache.lock, collector_paused():
            for chunk in _chunks(members):
                loaded = {m: History(cache.tz) for m in chunk}
                sizes = dict.fromkeys(chunk, 0)
                # in time order (ties in storage order, as they arrived): each series is
                # appended to, never inserted into
                rows = self._store._read(
                    "SELECT seq, id, member, kind, grp, at_us, value, data,"
                    " CASE WHEN value IS NULL THEN payload END"
                    f" FROM events WHERE member IN ({_marks(len(chunk))}) ORDER BY at_us, seq",
                    chunk,
                )
                for seq, id_, member, kind, grp, at_us, value, data, payload in rows:
                    history = loaded[member]
                    sizes[member] += 1
                    if payload is not None:  # a row not written by the store: validate it
                        event = self._validated(seq, payload)
                        if event is not None:
                            history.add(event)
                        continue
                    history.add_values(kind, grp, at_us / 1e6, value, json.loads(data) if data else {}, id_)
                cache.keep(loaded, sizes)
                out.update(loaded)
        return out

    def _validated(self, seq: int, payload: str) -> Event | None:
        try:
            return Event.model_validate_json(payload)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors(include_url=False)
            )
            log.warning(
                "SQLite store %r: skipping stored event #%s, not valid: %s", self._store.path, seq, problems
            )
            return None

    # batch questions in SQL -------------------------------------------------------------
    def holding(
        self, condition: Any, subjects: Sequence[Subject], at: datetime, *, default_scope: str
    ) -> list[bool]:
        """Verdicts from the histories already read (the closures over them are the
        fastest way), else in one SQL query per batch where the condition compiles
        (:func:`~groupops.rules.compile_sql`; measured 2x faster than reading the histories
        first), else the closures."""
        cache = self._cache
        if all(s.membership.member in cache.histories for s in subjects) or self._payload_rows():
            return super().holding(condition, subjects, at, default_scope=default_scope)
        try:
            from ..rules._sql import compile_sql

            query = compile_sql(condition, at=at, tz=self.tz, default_scope=default_scope, dialect="sqlite")  # type: ignore[arg-type]
        except (NotCompilable, MissingExtraError):
            return super().holding(condition, subjects, at, default_scope=default_scope)
        verdicts = self._store._verdicts(query, subjects, self._members())
        self._replan([s.membership.member for s in subjects], verdicts)
        return verdicts

    def _replan(self, members: Sequence[str], verdicts: Sequence[bool]) -> None:
        """After a batch question, read the histories of the members it answered True
        for together, and stop planning to read those it answered False for: a kind
        reads a history for the explanation of a decision it makes, and makes none about
        them (a run after a 1 % change read the histories of every member with a new
        event, for the 3 % it decided about). Other planned members keep their place."""
        cache = self._cache
        with cache.lock:
            if not cache.planned:
                return
            passed = [m for m, v in zip(members, verdicts, strict=True) if v and m in cache.planned]
            asked = set(members)
            rest = [m for m in cache.planned if m not in asked]
            cache.planned.clear()
            self.prefetch(passed)
            self.prefetch(rest)

    def _payload_rows(self) -> bool:
        """Whether a stored row is read through its payload (a row a migration left
        without columns, or one not written by the store): SQL cannot validate it."""
        cache = self._cache
        if cache.payload_rows is None or cache.payload_rows[0] != cache.seq:
            [(found,)] = self._store._read("SELECT EXISTS (SELECT 1 FROM events WHERE value IS NULL)", ())
            cache.payload_rows = (cache.seq, bool(found))
        return cache.payload_rows[1]

    def _rows_of_kind(
        self, sql: str, params: Sequence[Any]
    ) -> Iterator[tuple[str, float, float, dict[str, Any]]]:
        """``(member, ts, value, data)`` of rows selected as ``seq, member, at_us, value,
        data, payload-if-no-value``; a row not written by the store is read through its
        payload (and skipped, with a warning, if not valid)."""
        for seq, member, at_us, value, data, payload in self._store._read(sql, params):
            if payload is not None:
                event = self._validated(seq, payload)
                if event is not None:
                    yield member, event.at.timestamp(), event.value, dict(event.data)
                continue
            yield member, at_us / 1e6, value, json.loads(data) if data else {}

    def events_of(self, kind: str, at: datetime) -> list[Event]:
        found: list[Event] = []
        numbered: dict[str, int] = {}
        rows = self._rows_of_kind(
            "SELECT seq, member, at_us, value, data, CASE WHEN value IS NULL THEN payload END"
            " FROM events WHERE kind = ? AND at_us <= ? ORDER BY member, at_us, seq",
            (kind, micros(at)),
        )
        for member, ts, value, data in rows:
            i = numbered.get(member, 0)
            numbered[member] = i + 1
            at_ = datetime.fromtimestamp(ts, tz=UTC)
            found.append(Event(id=f"{member}#{i}", kind=kind, member=member, at=at_, value=value, data=data))
        return found

    def event_log(
        self, kind: str, groups: Sequence[str], start: datetime | None, at: datetime
    ) -> list[list[LoggedEvent]]:
        window, bounds = self._window(start, at)
        out: list[list[LoggedEvent]] = []
        for g in groups:
            rows = self._rows_of_kind(
                "SELECT seq, member, at_us, value, data, CASE WHEN value IS NULL THEN payload END"
                f" FROM events WHERE grp = ? AND kind = ? AND {window} ORDER BY at_us, member, seq",
                [g, kind, *bounds],
            )
            out.append(
                [
                    LoggedEvent(member=m, at=datetime.fromtimestamp(ts, tz=UTC), value=v, data=d)
                    for m, ts, v, d in rows
                ]
            )
        return out

    def group_events(
        self, groups: Sequence[str], kinds: Sequence[str], start: datetime | None, at: datetime
    ) -> list[list[Event]]:
        """In SQL: the events of ``kinds`` in each group, by time then id."""
        found: dict[str, list[Event]] = {g: [] for g in groups}
        kinds = list(dict.fromkeys(kinds))
        if found and kinds:
            window, bounds = self._window(start, at)
            rows = self._store._read(
                "SELECT seq, id, member, kind, grp, at_us, value, data,"
                " CASE WHEN value IS NULL THEN payload END"
                f" FROM events WHERE grp IN ({_marks(len(found))}) AND kind IN ({_marks(len(kinds))})"
                f" AND {window} ORDER BY at_us, id",
                [*found, *kinds, *bounds],
            )
            for seq, id_, member, kind, grp, at_us, value, data, payload in rows:
                if payload is not None:  # a row not written by the store: validate it
                    event = self._validated(seq, payload)
                    if event is not None:
                        found[grp].append(event)
                    continue
                when = datetime.fromtimestamp(at_us / 1e6, tz=UTC)
                parsed = json.loads(data) if data else {}
                found[grp].append(
                    Event(id=id_, kind=kind, member=member, group=grp, at=when, value=value, data=parsed)
                )
        return [found[g] for g in groups]

    def _window(self, start: datetime | None, at: datetime) -> tuple[str, list[Any]]:
        if start is None:
            return "at_us <= ?", [micros(at)]
        return "at_us >= ? AND at_us <= ?", [micros(start), micros(at)]

    def _per_member_group(
        self, kinds: Sequence[str], members: Sequence[str], start: datetime | None, at: datetime
    ) -> dict[tuple[str, str | None], int]:
        """Events of ``kinds`` in the window, per (member, stored group or None)."""
        window, bounds = self._window(start, at)
        out: dict[tuple[str, str | None], int] = {}
        for chunk in _chunks(list(dict.fromkeys(members))):
            rows = self._store._read(
                f"SELECT member, grp, count(*) FROM events WHERE member IN ({_marks(len(chunk))})"
                f" AND kind IN ({_marks(len(kinds))}) AND {window} GROUP BY member, grp",
                [*chunk, *kinds, *bounds],
            )
            for member, grp, n in rows:
                out[(member, grp)] = n
        return out

    def counts(
        self, kind: str, pairs: Sequence[tuple[str, str | None]], start: datetime | None, at: datetime
    ) -> list[int]:
        found = self._per_member_group([kind], [m for m, _ in pairs], start, at)
        per_member: dict[str, int] = {}
        for (member, _), n in found.items():
            per_member[member] = per_member.get(member, 0) + n
        return [
            per_member.get(m, 0) if g is None else found.get((m, g), 0) + found.get((m, None), 0)
            for m, g in pairs
        ]

    def last_seen(
        self, members: Sequence[str], at: datetime, kinds: Sequence[str] | None = None
    ) -> list[datetime | None]:
        last: dict[str, int] = {}
        of_kinds = "" if kinds is None else f" AND kind IN ({_marks(len(kinds))})"
        for chunk in _chunks(list(dict.fromkeys(members))):
            rows = self._store._read(
                f"SELECT member, max(at_us) FROM events WHERE member IN ({_marks(len(chunk))})"
                f" AND at_us <= ?{of_kinds} GROUP BY member",
                [*chunk, micros(at), *(kinds or ())],
            )
            last.update(rows)
        return [_instant(last[m]) if m in last else None for m in members]

    def group_activity(
        self, groups: Sequence[str], kinds: Sequence[str], start: datetime | None, at: datetime
    ) -> list[GroupActivity]:
        # a member-wide event (no group) counts towards every group, as in MemoryFacts
        window, bounds = self._window(start, at)
        wanted = list(dict.fromkeys(groups))
        per: dict[str, dict[str | None, int]] = {}
        if kinds and wanted:
            rows = self._store._read(
                f"SELECT member, grp, count(*) FROM events WHERE kind IN ({_marks(len(kinds))})"
                f" AND (grp IN ({_marks(len(wanted))}) OR grp IS NULL) AND {window} GROUP BY member, grp",
                [*kinds, *wanted, *bounds],
            )
            for member, grp, n in rows:
                per.setdefault(member, {})[grp] = n
        out = []
        for g in groups:
            counted = [c.get(g, 0) + c.get(None, 0) for c in per.values()]
            out.append(GroupActivity(group=g, events=sum(counted), speakers=sum(1 for n in counted if n)))
        return out

    def ranking(
        self,
        kind: str,
        members: Sequence[str],
        start: datetime | None,
        at: datetime,
        *,
        field: str | None = None,
        group: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[str, float]]:
        if field is not None:
            # sums come from the histories, so a float total is rounded exactly as the
            # reference rounds it (SQL's sum adds in another order)
            self.prefetch(members)
            return super().ranking(kind, members, start, at, field=field, group=group, limit=limit)
        unique = list(dict.fromkeys(members))
        counted = self.counts(kind, [(m, group) for m in unique], start, at)
        ranked = sorted(zip(unique, map(float, counted), strict=True), key=lambda ms: (-ms[1], ms[0]))
        return ranked if limit is None else ranked[:limit]
