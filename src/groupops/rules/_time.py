"""Durations (``30m``, ``12h``, ``7d``, ``2w``, ``3mo``) and RRULE schedules.

Minutes and hours are exact elapsed time. Days, weeks and months are calendar units in
the rule book's time zone: ``7d`` before Sunday 20:00 is the previous Sunday 20:00 local
time even across a daylight-saving change, and ``1mo`` after 31 January is the end of
February (python-dateutil's relativedelta).

Bounds, so that a book that passes validation cannot break a run: a duration is at most
100 years (:data:`MAX_DURATION`), and a schedule fires at most once an hour
(:data:`MIN_SCHEDULE_GAP`, checked over its first :data:`SCHEDULE_CHECKED` occurrences
or its first century, whichever ends first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr
from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = [
    "DURATION_PATTERN",
    "MAX_DURATION",
    "MIN_SCHEDULE_GAP",
    "SCHEDULE_CHECKED",
    "Duration",
    "DurationField",
    "Schedule",
    "ScheduleField",
    "parse_duration",
    "to_zone",
    "zone",
]

DURATION_PATTERN = r"^\s*([0-9]+)\s*(mo|m|h|d|w)\s*$"
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
}
MIN_SCHEDULE_GAP = timedelta(hours=1)
"""The shortest time allowed between two occurrences of a schedule (two period ends)."""
SCHEDULE_CHECKED = 1000
"""How many occurrences of a schedule are checked against :data:`MIN_SCHEDULE_GAP`
(those of its first century at most)."""
_CHECKED_SPAN = timedelta(days=_DAYS_IN_100_YEARS)
_UNIT_WORDS = {
    "m": ("minute", "分钟"),
    "h": ("hour", "小时"),
    "d": ("day", "天"),
    "w": ("week", "周"),
    "mo": ("month", "个月"),
}


@dataclass(frozen=True, order=True)
class Duration:
    """A length of time written the way operators write it: ``7d``, ``3mo``."""

    amount: int
    unit: str

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    def describe(self, locale: str = "en") -> str:
        """``7 days`` / ``7 天``."""
        en, zh = _UNIT_WORDS[self.unit]
        if locale == "zh":
            return f"{self.amount} {zh}"
        return f"{self.amount} {en}{'' if self.amount == 1 else 's'}"

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
        return relativedelta(months=n)

    def before(self, at: datetime, tz: tzinfo) -> datetime:
        """The moment this long before ``at`` (calendar units in ``tz``)."""
        return self._shift(at, tz, -1)

    def after(self, at: datetime, tz: tzinfo) -> datetime:
        """The moment this long after ``at`` (calendar units in ``tz``)."""
        return self._shift(at, tz, +1)

    def _shift(self, at: datetime, tz: tzinfo, sign: int) -> datetime:
        # keyed in UTC: the two instants of a repeated (fall-back) hour compare equal in
        # their own zone, and would share one cache entry
        return _shift(self, at.astimezone(UTC), tz, sign)


@lru_cache(maxsize=4096)
def _shift(duration: Duration, at: datetime, tz: tzinfo, sign: int) -> datetime:
    # cached: a run evaluates thousands of members at one moment with the same windows
    delta = duration._delta
    if isinstance(delta, timedelta):
        # exact elapsed time: do the arithmetic in UTC so wall-clock jumps don't count
        return (at.astimezone(UTC) + sign * delta).astimezone(tz)
    local = at.astimezone(tz).replace(tzinfo=None) + sign * delta
    return _localize(local, tz)


def _localize(naive: datetime, tz: tzinfo) -> datetime:
    """Attach ``tz`` to a wall-clock time; a time in a spring-forward gap moves forward."""
    aware = naive.replace(tzinfo=tz)
    roundtrip = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if roundtrip != naive:  # non-existent local time
        aware = (aware.astimezone(UTC)).astimezone(tz)
    return aware


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
    raise ValueError(f"{value!r} is not a duration like '7d' (units: m, h, d, w, mo)")


DurationField = Annotated[
    Duration,
    BeforeValidator(parse_duration),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["7d", "3mo"]}),
]


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ``ValueError`` naming it if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone like 'Asia/Shanghai'") from exc


def to_zone(at: datetime, tz: tzinfo) -> datetime:
    """``at`` seen in ``tz``; ``ValueError`` if ``at`` is naive."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()!r} is a naive datetime; pass a timezone-aware one")
    return at.astimezone(tz)


_EPOCH = datetime(2000, 1, 3)  # a Monday at midnight, local time


@dataclass(frozen=True)
class Schedule:
    """An RFC 5545 recurrence (``FREQ=WEEKLY;BYDAY=SU;BYHOUR=20``) in the book's time zone.

    Occurrences are the *ends* of periods: period *k* runs from occurrence *k-1* to
    occurrence *k*. Unless the rule says otherwise (``DTSTART`` or the policy's
    ``start``), the recurrence is anchored at Monday 2000-01-03 00:00 local time, so
    minutes and seconds not named in the rule are zero. With a ``start``, a rule that
    names the hour (``BYHOUR``) still fires on the full hour: minutes and seconds finer
    than the rule names are zero, not copied from ``start`` as RFC 5545 would.
    """

    rule: str

    def __str__(self) -> str:
        return self.rule

    def _rrule(self, tz: tzinfo, start: datetime | None) -> rrule:
        return _compiled(self.rule, tz, start)

    def next_after(self, at: datetime, tz: tzinfo, start: datetime | None = None) -> datetime | None:
        """The first occurrence strictly after ``at``."""
        nxt = self._rrule(tz, start).after(to_zone(at, tz), inc=False)
        return _normalize(nxt, tz)

    def last_at_or_before(self, at: datetime, tz: tzinfo, start: datetime | None = None) -> datetime | None:
        """The last occurrence at or before ``at``."""
        prev = self._rrule(tz, start).before(to_zone(at, tz), inc=True)
        return _normalize(prev, tz)

    def previous_before(self, at: datetime, tz: tzinfo, start: datetime | None = None) -> datetime | None:
        """The last occurrence strictly before ``at``."""
        prev = self._rrule(tz, start).before(to_zone(at, tz), inc=False)
        return _normalize(prev, tz)

    def between(
        self, after: datetime, until: datetime, tz: tzinfo, start: datetime | None = None
    ) -> list[datetime]:
        """Occurrences ``o`` with ``after < o <= until``, in order."""
        occ = self._rrule(tz, start).between(to_zone(after, tz), to_zone(until, tz), inc=True)
        return [o for o in (_normalize(x, tz) for x in occ) if o is not None and o > after]


@lru_cache(maxsize=256)
def _compiled(rule: str, tz: tzinfo, start: datetime | None) -> rrule:
    """The recurrence, built once per (rule, zone, start): its occurrences are cached as
    they are generated (from 2000 on, unless anchored later), so later look-ups walk a
    list instead of regenerating a quarter-century of weeks."""
    dtstart = start.astimezone(tz) if start is not None else _EPOCH.replace(tzinfo=tz)
    parsed = rrulestr(_zero_finer_parts(rule), dtstart=dtstart, forceset=False, cache=True)
    if not isinstance(parsed, rrule):  # pragma: no cover - forceset=False
        raise ValueError("expected a single RRULE")
    return parsed


def _zero_finer_parts(rule: str) -> str:
    """``BYHOUR=20`` means 20:00:00: add ``BYMINUTE=0`` and ``BYSECOND=0`` where the rule
    names a coarser part of the time but not these."""
    upper = rule.upper()
    extra = []
    if "BYHOUR=" in upper and "BYMINUTE=" not in upper:
        extra.append("BYMINUTE=0")
    if ("BYHOUR=" in upper or "BYMINUTE=" in upper) and "BYSECOND=" not in upper:
        extra.append("BYSECOND=0")
    if not extra:
        return rule
    lines = rule.splitlines()
    for i, line in enumerate(lines):  # the RRULE line (or the bare rule)
        if "FREQ=" in line.upper():
            lines[i] = ";".join([line.rstrip(";"), *extra])
    return "\n".join(lines)


def _normalize(value: datetime | None, tz: tzinfo) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is not tz:  # a DTSTART in the rule with its own zone: same instant
        return value.astimezone(tz)
    return _localize(value.replace(tzinfo=None), tz)


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


def local_day(at: datetime, tz: tzinfo) -> date:
    """The calendar day ``at`` falls on in ``tz``."""
    return at.astimezone(tz).date()
