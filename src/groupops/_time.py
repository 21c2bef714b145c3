"""Durations (``30m``, ``12h``, ``7d``, ``2w``, ``3mo``, ``1y``) and RRULE schedules.

Minutes and hours are exact elapsed time. Days, weeks, months and years (``1y`` = 12
calendar months) are calendar units in the rule book's time zone: ``7d`` before Sunday
20:00 is the previous Sunday 20:00 local time even across a daylight-saving change, and
``1mo`` after 31 January is the end of February (python-dateutil's relativedelta).

Bounds, so that a book that passes validation cannot break a run: a duration is at most
100 years (:data:`MAX_DURATION`), and a schedule fires at most once an hour
(:data:`MIN_SCHEDULE_GAP`, checked over its first :data:`SCHEDULE_CHECKED` occurrences
or its first century, whichever ends first).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from itertools import takewhile
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, PlainSerializer, WithJsonSchema

from ._i18n import plural_form, text

__all__ = [
    "DURATION_PATTERN",
    "EPOCH",
    "MAX_DURATION",
    "MIN_SCHEDULE_GAP",
    "SCHEDULE_CHECKED",
    "Duration",
    "DurationField",
    "Instant",
    "Schedule",
    "ScheduleField",
    "as_instant",
    "micros",
    "parse_duration",
    "to_zone",
    "zone",
]

DURATION_PATTERN = r"^\s*([0-9]+)\s*(mo|m|h|d|w|y)\s*$"
_DURATION_RE = re.compile(DURATION_PATTERN)
MAX_DURATION = "100 years"
"""The longest duration a rule book may give (``within``, ``notice``, ``grace``, ...)."""
_DAYS_IN_100_YEARS = 36_525
# the largest amount of each unit that stays within 100 years
_MAX_AMOUNT = {
    "m": _DAYS_IN_100_YEARS * 24 * 60,
    "h": _DAYS_IN_100_YEARS * 24,
    "d": _DAYS_IN_100_YEARS,
    "w": _DAYS_IN_100_YEARS // 7,
    "mo": 1200,
    "y": 100,
}
MIN_SCHEDULE_GAP = timedelta(hours=1)
"""The shortest time allowed between two occurrences of a schedule (two period ends)."""
SCHEDULE_CHECKED = 1000
"""How many occurrences of a schedule are checked against :data:`MIN_SCHEDULE_GAP`
(those of its first century at most)."""
_CHECKED_SPAN = timedelta(days=_DAYS_IN_100_YEARS)


@dataclass(frozen=True, order=True)
class Duration:
    """A length of time written the way operators write it: ``7d``, ``3mo``."""

    amount: int
    unit: str

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    def describe(self, locale: str = "en") -> str:
        """``7 days`` / ``7 天``."""
        return text(f"duration.{self.unit}.{plural_form(self.amount)}", locale, n=self.amount)

    @property
    def _delta(self) -> relativedelta | timedelta:
        n = self.amount
        if self.unit == "m":
            return timedelta(minutes=n)
        if self.unit == "h":
            return timedelta(hours=n)
        if self.unit == "d":
            return relativedelta(days=n)
        if self.unit == "w":
            return relativedelta(weeks=n)
        if self.unit == "y":
            return relativedelta(months=12 * n)
        return relativedelta(months=n)

    def before(self, at: datetime, tz: tzinfo) -> datetime:
        """The moment this long before ``at`` (calendar units in ``tz``)."""
        return self._shift(at, tz, -1)

    def after(self, at: datetime, tz: tzinfo) -> datetime:
        """The moment this long after ``at`` (calendar units in ``tz``)."""
        return self._shift(at, tz, +1)

    def _shift(self, at: datetime, tz: tzinfo, sign: int) -> datetime:
        # keyed as an instant: the two instants of a repeated (fall-back) hour compare
        # equal in their own zone, and would share one cache entry
        return _shift(self, as_instant(at), tz, sign)


@lru_cache(maxsize=4096)
def _shift(duration: Duration, at: datetime, tz: tzinfo, sign: int) -> datetime:
    # cached: a run evaluates thousands of members at one moment with the same windows
    delta = duration._delta
    if isinstance(delta, timedelta):
        # exact elapsed time: ``at`` has a fixed offset, so wall-clock jumps don't count
        return to_zone(at + sign * delta, tz)
    return _localize(at.astimezone(tz).replace(tzinfo=None) + sign * delta, tz)


def _localize(naive: datetime, tz: tzinfo) -> datetime:
    """A wall-clock time in ``tz``, as an instant in ``tz``; a time in a spring-forward gap
    moves forward by the gap (it is read with the offset before the change)."""
    return to_zone(as_instant(naive.replace(tzinfo=tz)), tz)


def parse_duration(value: object) -> Duration:
    """Parse ``'7d'`` into a :class:`Duration`; raises ``ValueError`` quoting the value."""
    if isinstance(value, Duration):
        return value
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if m:
            amount, unit = int(m.group(1)), m.group(2)
            if amount > _MAX_AMOUNT[unit]:
                raise ValueError(
                    f"{value!r} is longer than {MAX_DURATION}, the longest duration allowed "
                    f"(at most {_MAX_AMOUNT[unit]:,}{unit})"
                )
            return Duration(amount, unit)
    raise ValueError(f"{value!r} is not a duration like '7d' (units: m, h, d, w, mo, y)")


DurationField = Annotated[
    Duration,
    BeforeValidator(parse_duration),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["7d", "3mo", "1y"]}),
]


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ``ValueError`` naming it if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone like 'Asia/Shanghai'") from exc


def to_zone(at: datetime, tz: tzinfo) -> datetime:
    """``at`` seen in ``tz``, as an instant: the wall clock and offset ``tz`` shows at
    that moment, with a fixed-offset ``tzinfo`` (see :func:`as_instant`); ``ValueError``
    if ``at`` is naive."""
    return as_instant(as_instant(at).astimezone(tz))


@lru_cache(maxsize=64)
def _offset_zone(offset: timedelta) -> tzinfo:
    return UTC if not offset else timezone(offset)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The Unix epoch: the origin of the stores' ``at_us`` columns."""
_MICROSECOND = timedelta(microseconds=1)


def micros(at: datetime) -> int:
    """Microseconds since the Unix epoch (an aware ``at``): exact, unlike a float
    timestamp. What the stores' ``at_us`` columns and the SQL of conditions compare."""
    return (at - EPOCH) // _MICROSECOND


def as_instant(at: datetime) -> datetime:
    """The same instant, same wall clock and offset, with a fixed-offset ``tzinfo``.

    Python compares two datetimes that share a ``tzinfo`` object by their wall clocks,
    ignoring ``fold``: in a zone with daylight-saving time, 01:30 before and 01:30 after
    the autumn change would compare equal, and 01:45 (first) after 01:30 (second). With
    a fixed offset, equal ``tzinfo`` means equal offsets, so every comparison is one of
    instants. The core keeps every datetime it compares in this form.
    """
    offset = at.utcoffset()
    if offset is None:
        raise ValueError(f"{at.isoformat()!r} is a naive datetime; pass a timezone-aware one")
    return at.replace(tzinfo=_offset_zone(offset), fold=0)


Instant = Annotated[AwareDatetime, AfterValidator(as_instant)]
"""A timezone-aware datetime kept as an instant (:func:`as_instant`): models compare their
times as instants whatever zone object they were written with."""

_EPOCH = datetime(2000, 1, 3)  # a Monday at midnight, local time
# Wider than any daylight-saving shift (the largest in the tz database is 2 hours): how far
# around a moment's wall clock to look for the occurrences that map near it.
_SHIFT = timedelta(hours=3)


@dataclass(frozen=True)
class Schedule:
    """An RFC 5545 recurrence (``FREQ=WEEKLY;BYDAY=SU;BYHOUR=20``) in the book's time zone.

    Occurrences are the *ends* of periods: period *k* runs from occurrence *k-1* to
    occurrence *k*. Unless the rule says otherwise (``DTSTART`` or the policy's
    ``start``), the recurrence is anchored at Monday 2000-01-03 00:00 local time, so
    minutes and seconds not named in the rule are zero. With a ``start``, a rule that
    names the hour (``BYHOUR``) still fires on the full hour: minutes and seconds finer
    than the rule names are zero, not copied from ``start`` as RFC 5545 would.

    The recurrence is computed on the wall clock, then each occurrence becomes an
    instant: a wall-clock time that a spring-forward change skips fires at the first
    instant after the gap (02:30 on the day Berlin jumps from 02:00 to 03:00 fires at
    03:00); one that an autumn change repeats fires once, at the first of the two
    instants (01:30 EDT, not 01:30 EST, in New York). Occurrences that fall on the same
    instant are one occurrence. So occurrences are strictly increasing instants and no
    period is empty. Every datetime returned is in the book's zone with a fixed offset
    (:func:`as_instant`).
    """

    rule: str

    def __str__(self) -> str:
        return self.rule

    def _recurrence(self, tz: tzinfo, start: datetime | None) -> _Recurrence:
        return _compiled(self.rule, tz, start)

    def next_after(self, at: datetime, tz: tzinfo, start: datetime | None = None) -> datetime | None:
        """The first occurrence strictly after ``at``."""
        return self._recurrence(tz, start).next_after(as_instant(at))

    def last_at_or_before(self, at: datetime, tz: tzinfo, start: datetime | None = None) -> datetime | None:
        """The last occurrence at or before ``at``."""
        return self._recurrence(tz, start).last_before(as_instant(at), inclusive=True)

    def previous_before(self, at: datetime, tz: tzinfo, start: datetime | None = None) -> datetime | None:
        """The last occurrence strictly before ``at``."""
        return self._recurrence(tz, start).last_before(as_instant(at), inclusive=False)

    def between(
        self, after: datetime, until: datetime, tz: tzinfo, start: datetime | None = None
    ) -> list[datetime]:
        """Occurrences ``o`` with ``after < o <= until``, in order."""
        return self._recurrence(tz, start).between(as_instant(after), as_instant(until))

    def iter_after(self, after: datetime, tz: tzinfo, start: datetime | None = None) -> Iterator[datetime]:
        """Occurrences strictly after ``after``, in order, generated lazily (for counting
        without building a list of millions)."""
        return self._recurrence(tz, start).iter_after(as_instant(after))


class _Recurrence:
    """An rrule on the naive wall clock of ``zone``, and the map from its occurrences to
    instants in the book's zone ``tz`` (gap: the first instant after it; fold: the first
    of the two). The map never decreases, so searches look a little beyond a moment's
    wall clock (``_SHIFT``) and skip occurrences that map to the same instant."""

    def __init__(self, rule: rrule, zone: tzinfo, tz: tzinfo) -> None:
        self.rule = rule
        self.zone = zone
        self.tz = tz

    def instant(self, wall: datetime) -> datetime:
        return to_zone(wall_to_instant(wall, self.zone), self.tz)

    def _wall(self, at: datetime) -> datetime:
        return at.astimezone(self.zone).replace(tzinfo=None)

    def iter_after(self, after: datetime) -> Iterator[datetime]:
        last = after
        for wall in self.rule.xafter(self._wall(after) - _SHIFT):
            o = self.instant(wall)
            if o > last:
                last = o
                yield o

    def next_after(self, at: datetime) -> datetime | None:
        return next(self.iter_after(at), None)

    def between(self, after: datetime, until: datetime) -> list[datetime]:
        return list(takewhile(lambda o: o <= until, self.iter_after(after)))

    def last_before(self, at: datetime, *, inclusive: bool) -> datetime | None:
        wall = self.rule.before(self._wall(at) + _SHIFT)
        while wall is not None:
            o = self.instant(wall)
            if o < at or (inclusive and o == at):
                return o
            wall = self.rule.before(wall)
        return None


def wall_to_instant(wall: datetime, zone: tzinfo) -> datetime:
    """The instant a naive wall-clock time in ``zone`` names (with a fixed offset, see
    :func:`as_instant`): in a spring-forward gap, the first instant after the gap (the
    change itself); in an autumn fold, the first of the two instants."""
    first = as_instant(wall.replace(tzinfo=zone))  # fold=0: the first of two, in a fold
    other = as_instant(wall.replace(tzinfo=zone, fold=1))
    if first <= other:  # exists: the same instant twice, or the two of a fold
        return first
    # In the gap: fold=0 reads it with the offset before the change (an instant after the
    # change), fold=1 with the offset after it (an instant before): the change is the
    # first whole second from ``other`` on whose offset is no longer ``other``'s.
    before = other.astimezone(zone).utcoffset()
    seconds = range(int(other.timestamp()), int(first.timestamp()) + 1)
    changed = bisect_left(seconds, True, key=lambda s: datetime.fromtimestamp(s, zone).utcoffset() != before)
    return as_instant(datetime.fromtimestamp(seconds[changed], UTC))


@lru_cache(maxsize=256)
def _compiled(rule: str, tz: tzinfo, start: datetime | None) -> _Recurrence:
    """The recurrence, built once per (rule, zone, start): its occurrences are cached as
    they are generated (from 2000 on, unless anchored later), so later look-ups walk a
    list instead of regenerating a quarter-century of weeks.

    It runs on the wall clock of the book's zone, or of the zone a ``DTSTART`` in the
    rule names."""
    dtstart = start.astimezone(tz) if start is not None else _EPOCH.replace(tzinfo=tz)
    parsed = rrulestr(rule, dtstart=dtstart, forceset=False, cache=True)
    if not isinstance(parsed, rrule):  # pragma: no cover - forceset=False
        raise ValueError("expected a single RRULE")
    # dateutil keeps these private; rrule.replace rebuilds the rule from the same fields
    first: datetime = parsed._dtstart  # type: ignore[attr-defined]
    zone = first.tzinfo or tz  # the book's zone, or a DTSTART's own in the rule
    until: datetime | None = parsed._until  # type: ignore[attr-defined]
    if until is not None:
        until = until.astimezone(zone).replace(tzinfo=None)
    parsed = parsed.replace(dtstart=first.replace(tzinfo=None), until=until, **_zero_finer_parts(parsed))
    return _Recurrence(parsed, zone, tz)


def _zero_finer_parts(parsed: rrule) -> dict[str, Any]:
    """``BYHOUR=20`` means 20:00:00: ``BYMINUTE=0`` and ``BYSECOND=0`` where the rule
    names a coarser part of the time but not these (dateutil would copy them from the
    start). Read from the parts dateutil parsed, not from the rule's text."""
    named = parsed._original_rule  # type: ignore[attr-defined]  # the BY... parts the rule gives
    finer: dict[str, Any] = {}  # keyword arguments of rrule.replace
    if "byhour" in named and "byminute" not in named:
        finer["byminute"] = 0
    if ("byhour" in named or "byminute" in named) and "bysecond" not in named:
        finer["bysecond"] = 0
    return finer


def parse_schedule(value: object) -> Schedule:
    """Validate an RRULE string; it must parse and fire at least once."""
    if isinstance(value, Schedule):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not an RRULE like 'FREQ=WEEKLY;BYDAY=SU;BYHOUR=20'")
    text = value.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    try:
        parsed = rrulestr(text, dtstart=_EPOCH.replace(tzinfo=UTC))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{value!r} is not a valid RRULE: {exc}") from exc
    if not isinstance(parsed, rrule):
        raise ValueError(f"{value!r} is not a single RRULE")
    try:
        first = parsed.after(_EPOCH.replace(tzinfo=UTC), inc=True)
    except TypeError:  # a naive DTSTART in the rule cannot be compared with aware times
        raise ValueError(
            f"{value!r}: DTSTART needs a time zone (DTSTART;TZID=Asia/Shanghai:... or a trailing Z)"
        ) from None
    if first is None:
        raise ValueError(f"{value!r} never fires")
    _check_gaps(value, parsed, first)
    return Schedule(text)


def _check_gaps(value: object, parsed: rrule, first: datetime) -> None:
    """Refuse a schedule that fires more often than once an hour: each occurrence ends a
    period that a run must decide, so a schedule by the minute would hang every run."""
    previous: datetime | None = None
    for occurrence in parsed.xafter(first, count=SCHEDULE_CHECKED, inc=True):
        if occurrence - first > _CHECKED_SPAN:
            return
        if previous is not None and occurrence - previous < MIN_SCHEDULE_GAP:
            raise ValueError(
                f"{value!r} fires more often than once an hour ({previous:%Y-%m-%d %H:%M:%S} and "
                f"{occurrence:%H:%M:%S}); a schedule may fire at most once an hour"
            )
        previous = occurrence


ScheduleField = Annotated[
    Schedule,
    BeforeValidator(parse_schedule),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["FREQ=WEEKLY;BYDAY=SU;BYHOUR=20"]}),
]
