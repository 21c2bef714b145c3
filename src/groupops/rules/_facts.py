"""Facts about members, derived from their events and kept up to date incrementally.

A :class:`History` holds one member's events, indexed per (kind, group) as time-sorted
series with prefix sums, so every question a leaf asks (how many, how much, on how many
days, when last) is answered by two binary searches, whatever the history's length.
Events may arrive in any order; answers always follow event time.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any

from .._model import Event

__all__ = ["Community", "History", "Series"]


def _ts(at: datetime) -> float:
    return at.timestamp()


class Series:
    """The events of one kind in one place (a group, member-wide, or all), by time."""

    __slots__ = (
        "_changes",
        "_dirty",
        "_field_prefix",
        "_shared",
        "_value_prefix",
        "data",
        "days",
        "ids",
        "ts",
        "values",
    )

    def __init__(self) -> None:
        self.ts: list[float] = []
        self.values: list[float] = []
        self.data: list[dict[str, Any]] = []
        self.days: list[int] = []
        self.ids: list[str] = []
        self._dirty = False
        self._value_prefix: list[float] = [0.0]
        self._changes: list[int] = [0]
        self._field_prefix: dict[str, list[float]] = {}
        self._shared = False  # also its kind's series of every place (see History._index)

    def copy(self) -> Series:
        """A series of its own with the same events."""
        out = Series.__new__(Series)
        out.ts, out.values, out.data = self.ts[:], self.values[:], self.data[:]
        out.days, out.ids = self.days[:], self.ids[:]
        out._dirty, out._shared = self._dirty, False
        out._value_prefix, out._changes = self._value_prefix[:], self._changes[:]
        out._field_prefix = {field: prefix[:] for field, prefix in self._field_prefix.items()}
        return out

    def __len__(self) -> int:
        return len(self.ts)

    def add(self, ts: float, value: float, data: dict[str, Any], day: int, id: str = "") -> None:
        """Insert one event, keeping time order (ties keep arrival order)."""
        if not self.ts or ts >= self.ts[-1]:
            i = len(self.ts)
            if not self._dirty:  # appending: extend prefixes in place
                self._value_prefix.append(self._value_prefix[-1] + value)
                changed = 1 if self.days and day != self.days[-1] else 0
                self._changes.append(self._changes[-1] + changed)
                for field, prefix in self._field_prefix.items():
                    prefix.append(prefix[-1] + _number(data, field))
        else:
            i = bisect_right(self.ts, ts)
            self._dirty = True
        self.ts.insert(i, ts)
        self.values.insert(i, value)
        self.data.insert(i, data)
        self.days.insert(i, day)
        self.ids.insert(i, id)

    def _rebuild(self) -> None:
        vp = [0.0]
        ch = [0]
        for k, v in enumerate(self.values):
            vp.append(vp[-1] + v)
            ch.append(ch[-1] + (1 if k and self.days[k] != self.days[k - 1] else 0))
        self._value_prefix, self._changes = vp, ch
        self._field_prefix = {}
        self._dirty = False

    def span(self, start: float | None, end: float) -> tuple[int, int]:
        """Indices ``[i, j)`` of events with ``start <= ts <= end``."""
        i = 0 if start is None else bisect_left(self.ts, start)
        j = bisect_right(self.ts, end)
        return i, max(i, j)

    def count(self, start: float | None, end: float) -> int:
        i, j = self.span(start, end)
        return j - i

    def total(self, field: str, start: float | None, end: float) -> float:
        if self._dirty:
            self._rebuild()
        i, j = self.span(start, end)
        if field == "value":
            return self._value_prefix[j] - self._value_prefix[i]
        prefix = self._field_prefix.get(field)
        if prefix is None:
            prefix = [0.0]
            for d in self.data:
                prefix.append(prefix[-1] + _number(d, field))
            self._field_prefix[field] = prefix
        return prefix[j] - prefix[i]

    def distinct_days(self, start: float | None, end: float) -> int:
        if self._dirty:
            self._rebuild()
        i, j = self.span(start, end)
        if j <= i:
            return 0
        return 1 + self._changes[j] - self._changes[i + 1]

    def day_set(self, start: float | None, end: float) -> set[int]:
        i, j = self.span(start, end)
        return set(self.days[i:j])

    def last(self, end: float) -> float | None:
        j = bisect_right(self.ts, end)
        return self.ts[j - 1] if j else None


def _number(data: dict[str, Any], field: str) -> float:
    v = data.get(field)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return 0.0
    return float(v)


_ALL = "\x00all"
_EMPTY = Series()


class History:
    """One member's events, answering the questions conditions ask.

    ``group`` arguments: a group id means that group's events plus member-wide ones
    (``group: null``); None means every event of the member.
    """

    __slots__ = ("_series", "tz")

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self._series: dict[tuple[str, str], Series] = {}

    def add(self, event: Event) -> None:
        """Index one event (no de-duplication here: the caller keeps ids unique)."""
        day = event.at.astimezone(self.tz).date().toordinal()
        self._index(event.kind, event.group, _ts(event.at), event.value, event.data, day, event.id)

    def add_values(
        self, kind: str, group: str | None, ts: float, value: float, data: dict[str, Any], id: str = ""
    ) -> None:
        """Index one event given by its parts (``ts``: its POSIX timestamp), as a store
        reads them from its columns without building an :class:`~groupops.Event`."""
        day = datetime.fromtimestamp(ts, self.tz).date().toordinal()
        self._index(kind, group, ts, value, data, day, id)

    def _index(
        self,
        kind: str,
        group: str | None,
        ts: float,
        value: float,
        data: dict[str, Any],
        day: int,
        id: str = "",
    ) -> None:
        # a kind seen in one place only (most of them: a member's check-ins are in one
        # group) has one series, which is also its series of every place; the second
        # place gives "every place" a series of its own (a quarter less memory per event).
        place = group if group is not None else ""
        index = self._series
        own = index.get((kind, place))
        every = index.get((kind, _ALL))
        if every is None:  # the kind's first event
            own = every = index[(kind, place)] = index[(kind, _ALL)] = Series()
            own._shared = True
        elif own is None:  # the kind's next place
            own = index[(kind, place)] = Series()
            if every._shared:  # until now the kind's one place: it stays that place's
                every = index[(kind, _ALL)] = every.copy()
        own.add(ts, value, data, day, id)
        if every is not own:
            every.add(ts, value, data, day, id)

    def _parts(self, kind: str, group: str | None) -> tuple[Series, ...]:
        get = self._series.get
        if group is None:
            return (get((kind, _ALL), _EMPTY),)
        return (get((kind, group), _EMPTY), get((kind, ""), _EMPTY))

    def count(self, kind: str, group: str | None, start: datetime | None, end: datetime) -> int:
        """Events of ``kind`` with ``start <= at <= end``."""
        s, e = _bounds(start, end)
        return sum(p.count(s, e) for p in self._parts(kind, group))

    def total(self, kind: str, field: str, group: str | None, start: datetime | None, end: datetime) -> float:
        """Sum of ``field`` (``value`` or a ``data`` key) over those events."""
        s, e = _bounds(start, end)
        return sum(p.total(field, s, e) for p in self._parts(kind, group))

    def distinct_days(self, kind: str, group: str | None, start: datetime | None, end: datetime) -> int:
        """Calendar days (book time zone) with at least one such event."""
        s, e = _bounds(start, end)
        parts = [p for p in self._parts(kind, group) if len(p)]
        if not parts:
            return 0
        if len(parts) == 1:
            return parts[0].distinct_days(s, e)
        return len(set().union(*(p.day_set(s, e) for p in parts)))

    def last_at(self, kind: str, group: str | None, end: datetime) -> datetime | None:
        """When the last such event at or before ``end`` happened, or None."""
        e = _ts(end)
        lasts = [t for p in self._parts(kind, group) if (t := p.last(e)) is not None]
        if not lasts:
            return None
        return datetime.fromtimestamp(max(lasts), tz=UTC)

    def events(
        self, kind: str, group: str | None, start: datetime | None, end: datetime
    ) -> Iterator[tuple[datetime, float, dict[str, Any]]]:
        """``(at, value, data)`` of those events, for metric plugins."""
        s, e = _bounds(start, end)
        for p in self._parts(kind, group):
            i, j = p.span(s, e)
            for k in range(i, j):
                yield datetime.fromtimestamp(p.ts[k], tz=UTC), p.values[k], p.data[k]

    def events_in(
        self, kind: str, group: str | None, start: datetime | None, end: datetime
    ) -> Iterator[tuple[datetime, float, dict[str, Any]]]:
        """``(at, value, data)`` of the events of ``kind`` in exactly ``group`` (None:
        the member-wide ones, with no group), ``start <= at <= end``, by time."""
        s, e = _bounds(start, end)
        series = self._series.get((kind, group if group is not None else ""), _EMPTY)
        i, j = series.span(s, e)
        for k in range(i, j):
            yield datetime.fromtimestamp(series.ts[k], tz=UTC), series.values[k], series.data[k]

    def in_group(
        self, kind: str, group: str, start: datetime | None, end: datetime
    ) -> Iterator[tuple[str, datetime, float, dict[str, Any]]]:
        """``(id, at, value, data)`` of the events of ``kind`` in ``group`` itself (not
        the member-wide ones), in time order: what group-level facts read."""
        s, e = _bounds(start, end)
        p = self._series.get((kind, group), _EMPTY)
        i, j = p.span(s, e)
        for k in range(i, j):
            yield p.ids[k], datetime.fromtimestamp(p.ts[k], tz=UTC), p.values[k], p.data[k]

    def kinds(self) -> set[str]:
        """Every event kind seen."""
        return {kind for kind, place in self._series if place == _ALL}


def _bounds(start: datetime | None, end: datetime) -> tuple[float | None, float]:
    return (None if start is None else _ts(start)), _ts(end)


class Community:
    """Histories of every member, updated one event at a time."""

    __slots__ = ("_histories", "_seen", "tz")

    def __init__(self, tz: tzinfo, events: Iterable[Event] = ()) -> None:
        self.tz = tz
        self._histories: dict[str, History] = {}
        self._seen: set[str] = set()
        self.add_all(events)

    def add(self, event: Event) -> bool:
        """Index ``event``; False (and nothing changes) if its id was seen already."""
        if event.id in self._seen:
            return False
        self._seen.add(event.id)
        history = self._histories.get(event.member)
        if history is None:
            history = self._histories[event.member] = History(self.tz)
        history.add(event)
        return True

    def add_all(self, events: Iterable[Event]) -> int:
        """Index many events; returns how many were new."""
        return sum(self.add(e) for e in events)

    def history(self, member: str) -> History:
        """The member's history (empty if no event was seen)."""
        history = self._histories.get(member)
        if history is None:
            return History(self.tz)
        return history

    def members(self) -> set[str]:
        """Ids of members with at least one event."""
        return set(self._histories)
