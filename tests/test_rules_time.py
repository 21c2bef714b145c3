"""Durations and RRULE schedules: exact elapsed time vs calendar units, in the book's zone."""

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import islice
from zoneinfo import ZoneInfo

import pytest

import groupops as go
from groupops._time import Schedule, as_instant, parse_schedule, to_zone

BERLIN = ZoneInfo("Europe/Berlin")  # DST starts 2026-03-29 02:00, ends 2026-10-25 03:00
SHANGHAI = ZoneInfo("Asia/Shanghai")  # UTC+8 all year


def elapsed(start: datetime, end: datetime) -> timedelta:
    """Real elapsed time. (Subtracting two datetimes that share a tzinfo object gives the
    wall-clock difference instead, which is an hour off across a DST change.)"""
    return end.astimezone(UTC) - start.astimezone(UTC)


def same_instant_and_wall(got: datetime, want: datetime) -> None:
    assert got.astimezone(UTC) == want.astimezone(UTC)
    assert got.utcoffset() == want.utcoffset()
    assert got.replace(tzinfo=None) == want.replace(tzinfo=None)


# -- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [("30m", 30, "m"), ("12h", 12, "h"), ("7d", 7, "d"), ("2w", 2, "w"), ("3mo", 3, "mo"), (" 1d ", 1, "d")],
)
def test_durations_parse(text, amount, unit):
    d = go.parse_duration(text)
    assert d == go.Duration(amount, unit)
    assert str(d) == f"{amount}{unit}"
    assert go.parse_duration(str(d)) == d


def test_mo_is_months_not_minutes():
    assert go.parse_duration("3mo").unit == "mo"
    assert go.parse_duration("3m").unit == "m"


@pytest.mark.parametrize("bad", ["7x", "", "7", "d", "-7d", "7.5d", "7 days", "mo3", 7, None])
def test_bad_durations_raise_value_error_naming_the_value(bad):
    with pytest.raises(ValueError) as info:
        go.parse_duration(bad)
    assert repr(bad) in str(info.value)
    assert "is not a duration" in str(info.value)


def test_duration_describe_in_both_locales():
    assert go.parse_duration("1d").describe() == "1 day"
    assert go.parse_duration("7d").describe("en") == "7 days"
    assert go.parse_duration("3mo").describe("zh") == "3 个月"
    assert go.parse_duration("12h").describe("zh") == "12 小时"


# -- minutes and hours: exact elapsed time --------------------------------------------


def test_hours_are_elapsed_time_across_spring_forward():
    at = datetime(2026, 3, 29, 8, 0, tzinfo=BERLIN)  # CEST, 06:00 UTC
    got = go.parse_duration("12h").before(at, BERLIN)
    assert elapsed(got, at) == timedelta(hours=12)
    # 18:00 UTC the day before is 19:00 CET: thirteen wall-clock hours earlier
    same_instant_and_wall(got, datetime(2026, 3, 28, 19, 0, tzinfo=BERLIN))


def test_minutes_are_elapsed_time_across_the_gap():
    at = datetime(2026, 3, 29, 3, 10, tzinfo=BERLIN)  # 01:10 UTC, just after the jump
    got = go.parse_duration("30m").before(at, BERLIN)
    assert elapsed(got, at) == timedelta(minutes=30)
    same_instant_and_wall(got, datetime(2026, 3, 29, 1, 40, tzinfo=BERLIN))
    assert go.parse_duration("30m").after(got, BERLIN) == at


def test_hours_across_fall_back():
    at = datetime(2026, 10, 24, 22, 0, tzinfo=BERLIN)
    got = go.parse_duration("12h").after(at, BERLIN)
    assert elapsed(at, got) == timedelta(hours=12)
    same_instant_and_wall(got, datetime(2026, 10, 25, 9, 0, tzinfo=BERLIN))  # 11 wall hours later


# -- days, weeks, months: calendar units in the zone -----------------------------------


def test_one_day_before_a_spring_forward_evening_is_the_previous_evening():
    at = datetime(2026, 3, 29, 20, 0, tzinfo=BERLIN)  # CEST
    got = go.parse_duration("1d").before(at, BERLIN)
    same_instant_and_wall(got, datetime(2026, 3, 28, 20, 0, tzinfo=BERLIN))  # CET
    assert elapsed(got, at) == timedelta(hours=23)
    assert go.parse_duration("1d").after(got, BERLIN) == at


def test_one_day_after_a_fall_back_evening_is_25_hours():
    at = datetime(2026, 10, 24, 20, 0, tzinfo=BERLIN)
    got = go.parse_duration("1d").after(at, BERLIN)
    same_instant_and_wall(got, datetime(2026, 10, 25, 20, 0, tzinfo=BERLIN))
    assert elapsed(at, got) == timedelta(hours=25)


def test_one_week_before_keeps_the_local_time():
    at = datetime(2026, 3, 29, 20, 0, tzinfo=BERLIN)
    got = go.parse_duration("1w").before(at, BERLIN)
    same_instant_and_wall(got, datetime(2026, 3, 22, 20, 0, tzinfo=BERLIN))
    assert elapsed(got, at) == timedelta(days=7) - timedelta(hours=1)


def test_calendar_units_are_computed_in_the_given_zone_not_the_inputs():
    # the same instant written in UTC: "1d before" still means the previous local day
    at = datetime(2026, 3, 29, 20, 0, tzinfo=BERLIN).astimezone(UTC)
    got = go.parse_duration("1d").before(at, BERLIN)
    same_instant_and_wall(got, datetime(2026, 3, 28, 20, 0, tzinfo=BERLIN))


@pytest.mark.parametrize(
    ("start", "text", "want"),
    [
        (date(2026, 1, 31), "1mo", date(2026, 2, 28)),
        (date(2028, 1, 31), "1mo", date(2028, 2, 29)),  # leap year
        (date(2025, 11, 30), "3mo", date(2026, 2, 28)),
        (date(2026, 3, 31), "1mo", date(2026, 4, 30)),
    ],
)
def test_month_end_is_clamped(start, text, want):
    at = datetime(start.year, start.month, start.day, 10, tzinfo=SHANGHAI)
    got = go.parse_duration(text).after(at, SHANGHAI)
    assert got.date() == want
    assert got.hour == 10


def test_one_month_before_march_31_is_february_28():
    at = datetime(2026, 3, 31, 9, tzinfo=SHANGHAI)
    assert go.parse_duration("1mo").before(at, SHANGHAI).date() == date(2026, 2, 28)


def test_a_calendar_shift_into_the_spring_gap_moves_forward():
    at = datetime(2026, 3, 28, 2, 30, tzinfo=BERLIN)
    got = go.parse_duration("1d").after(at, BERLIN)
    # 02:30 does not exist on 29 March; the wall clock reads 03:30 CEST at that instant
    same_instant_and_wall(got, datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN))


# -- schedules ---------------------------------------------------------------------------

WEEKLY = parse_schedule("FREQ=WEEKLY;BYDAY=SU;BYHOUR=20")


def test_weekly_schedule_in_shanghai():
    wed = datetime(2026, 1, 7, 10, 0, tzinfo=SHANGHAI)
    sun = datetime(2026, 1, 11, 20, 0, tzinfo=SHANGHAI)
    assert sun.weekday() == 6
    assert WEEKLY.next_after(wed, SHANGHAI) == sun
    # strictly after: an occurrence is not its own "next"
    assert WEEKLY.next_after(sun, SHANGHAI) == sun + timedelta(weeks=1)
    # at or before: an occurrence is its own "last"
    assert WEEKLY.last_at_or_before(sun, SHANGHAI) == sun
    assert WEEKLY.last_at_or_before(sun - timedelta(seconds=1), SHANGHAI) == sun - timedelta(weeks=1)
    assert WEEKLY.previous_before(sun, SHANGHAI) == sun - timedelta(weeks=1)
    # occurrences are whole hours: minutes and seconds not named in the rule are zero
    assert (sun.minute, sun.second) == (0, 0)


def test_schedule_answers_do_not_depend_on_the_zone_of_the_input():
    wed_utc = datetime(2026, 1, 7, 2, 0, tzinfo=UTC)  # Wed 10:00 in Shanghai
    nxt = WEEKLY.next_after(wed_utc, SHANGHAI)
    assert nxt is not None
    assert nxt.astimezone(UTC) == datetime(2026, 1, 11, 12, 0, tzinfo=UTC)
    assert nxt.utcoffset() == timedelta(hours=8)


def test_between_is_exclusive_after_and_inclusive_until():
    first = datetime(2026, 1, 4, 20, tzinfo=SHANGHAI)
    weeks = [first + timedelta(weeks=k) for k in range(4)]
    assert WEEKLY.between(weeks[0], weeks[3], SHANGHAI) == weeks[1:]
    assert WEEKLY.between(weeks[0] - timedelta(seconds=1), weeks[1], SHANGHAI) == weeks[:2]
    assert WEEKLY.between(weeks[1] + timedelta(hours=1), weeks[2] - timedelta(hours=1), SHANGHAI) == []


def test_weekly_schedule_keeps_local_time_across_dst_in_berlin():
    got = WEEKLY.between(
        datetime(2026, 3, 15, 21, tzinfo=BERLIN), datetime(2026, 4, 12, 20, tzinfo=BERLIN), BERLIN
    )
    assert [o.date() for o in got] == [
        date(2026, 3, 22),
        date(2026, 3, 29),
        date(2026, 4, 5),
        date(2026, 4, 12),
    ]
    assert all(o.replace(tzinfo=None).time().hour == 20 for o in got)
    assert [o.utcoffset() for o in got] == [timedelta(hours=h) for h in (1, 2, 2, 2)]
    assert elapsed(got[0], got[1]) == timedelta(days=7) - timedelta(hours=1)
    assert elapsed(got[1], got[2]) == timedelta(days=7)
    # the same answers one at a time
    assert WEEKLY.next_after(got[0], BERLIN) == got[1]
    assert WEEKLY.last_at_or_before(got[1] + timedelta(days=3), BERLIN) == got[1]
    assert WEEKLY.previous_before(got[1], BERLIN) == got[0]


def test_weekly_schedule_across_fall_back_in_berlin():
    nxt = WEEKLY.next_after(datetime(2026, 10, 22, tzinfo=BERLIN), BERLIN)
    assert nxt is not None
    assert nxt.replace(tzinfo=None) == datetime(2026, 10, 25, 20, 0)
    assert nxt.utcoffset() == timedelta(hours=1)


def test_an_occurrence_in_the_spring_gap_happens_at_the_first_valid_moment():
    daily_2am = parse_schedule("FREQ=DAILY;BYHOUR=2")
    got = daily_2am.next_after(datetime(2026, 3, 28, 3, 0, tzinfo=BERLIN), BERLIN)
    assert got is not None
    same_instant_and_wall(got, datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN))
    assert daily_2am.next_after(got, BERLIN) == datetime(2026, 3, 30, 2, 0, tzinfo=BERLIN)


@pytest.mark.parametrize("minute", [30, 10, 59])
def test_a_time_inside_the_spring_gap_fires_when_the_gap_ends(minute):
    # 02:MM does not exist in Berlin on 29 March: the clock jumps from 02:00 to 03:00
    daily = parse_schedule(f"FREQ=DAILY;BYHOUR=2;BYMINUTE={minute}")
    got = daily.next_after(datetime(2026, 3, 28, 12, tzinfo=BERLIN), BERLIN)
    assert got is not None
    same_instant_and_wall(got, datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN))
    assert got.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # to the second
    nxt = daily.next_after(got, BERLIN)
    assert nxt is not None
    same_instant_and_wall(nxt, datetime(2026, 3, 30, 2, minute, tzinfo=BERLIN))
    assert daily.last_at_or_before(got, BERLIN) == got
    assert daily.previous_before(nxt, BERLIN) == got


def test_a_time_the_autumn_change_repeats_fires_once_at_its_first_instant():
    # 02:30 happens twice in Berlin on 25 October: in CEST, then in CET an hour later
    half_past_two = parse_schedule("FREQ=DAILY;BYHOUR=2;BYMINUTE=30")
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)  # fold=0: CEST
    got = half_past_two.next_after(datetime(2026, 10, 24, 12, tzinfo=BERLIN), BERLIN)
    assert got is not None
    same_instant_and_wall(got, first)
    assert got.utcoffset() == timedelta(hours=2)
    # the repeated 02:30 (CET) is not a second occurrence
    nxt = half_past_two.next_after(got, BERLIN)
    assert nxt is not None and nxt.date() == date(2026, 10, 26)
    assert half_past_two.between(got - timedelta(seconds=1), nxt, BERLIN) == [got, nxt]
    assert half_past_two.previous_before(nxt, BERLIN) == got


def test_default_anchor_is_monday_2000_01_03_local_and_start_overrides_it():
    every_other_day = parse_schedule("FREQ=DAILY;INTERVAL=2")
    at = datetime(2026, 1, 1, 12, tzinfo=SHANGHAI)
    nxt = every_other_day.next_after(at, SHANGHAI)
    assert nxt is not None
    assert nxt.time().hour == 0 and nxt.date() > at.date()
    assert (nxt.date() - date(2000, 1, 3)).days % 2 == 0
    start = datetime(2026, 1, 1, 9, 30, tzinfo=SHANGHAI)
    anchored = every_other_day.next_after(at, SHANGHAI, start)
    assert anchored == datetime(2026, 1, 3, 9, 30, tzinfo=SHANGHAI)


def test_iter_after_lists_the_next_occurrences_strictly_after_in_the_books_zone():
    sun = datetime(2026, 1, 11, 20, tzinfo=SHANGHAI)
    # from an occurrence: not itself; from an hour before one: that one
    assert list(islice(WEEKLY.iter_after(sun, SHANGHAI), 3)) == [sun + timedelta(weeks=k) for k in (1, 2, 3)]
    [first] = islice(WEEKLY.iter_after(sun - timedelta(hours=1), SHANGHAI), 1)
    same_instant_and_wall(first, sun)
    assert WEEKLY.next_after(sun - timedelta(hours=1), SHANGHAI) == sun
    # the same lazily as all at once
    assert list(islice(WEEKLY.iter_after(sun, SHANGHAI), 3)) == WEEKLY.between(
        sun, sun + timedelta(weeks=3), SHANGHAI
    )


def test_between_and_iter_after_count_from_the_policys_start():
    fortnightly = parse_schedule("FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;BYHOUR=20")
    start = datetime(
        2026, 1, 11, 20, tzinfo=SHANGHAI
    )  # the default anchor (2000-01-03) gives 4 and 18 January
    after, until = datetime(2026, 1, 1, tzinfo=SHANGHAI), datetime(2026, 2, 1, tzinfo=SHANGHAI)
    assert [o.day for o in fortnightly.between(after, until, SHANGHAI)] == [4, 18]
    assert fortnightly.between(after, until, SHANGHAI, start) == [start, start + timedelta(weeks=2)]
    assert list(islice(fortnightly.iter_after(after, SHANGHAI, start), 2)) == [
        start,
        start + timedelta(weeks=2),
    ]


def test_two_occurrences_the_spring_gap_puts_on_one_instant_are_one_period_end():
    # 02:00 on 29 March does not exist in Berlin: it fires at 03:00, with the 03:00 occurrence
    two_and_three = parse_schedule("FREQ=DAILY;BYHOUR=2,3")
    after = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
    want = [datetime(2026, 3, 29, 3, tzinfo=BERLIN), datetime(2026, 3, 30, 2, tzinfo=BERLIN)]
    assert two_and_three.between(after, want[1], BERLIN) == want
    assert list(islice(two_and_three.iter_after(after, BERLIN), 2)) == want


@pytest.mark.parametrize(
    ("rule", "fires_at"),
    [
        ("FREQ=DAILY", time(9, 10, 15)),  # names no part of the time: the start's
        ("FREQ=DAILY;BYHOUR=20", time(20, 0, 0)),  # names the hour: on the full hour
        ("freq=daily;byhour=20", time(20, 0, 0)),
        ("FREQ=DAILY;BYMINUTE=30", time(9, 30, 0)),  # the start's hour, on the minute
        ("FREQ=DAILY;BYHOUR=20;BYSECOND=30", time(20, 0, 30)),
        ("FREQ=DAILY;BYHOUR=20;BYMINUTE=15;BYSECOND=30", time(20, 15, 30)),
    ],
)
def test_with_a_start_a_schedule_fires_on_the_parts_of_the_time_it_names(rule, fires_at):
    start = datetime(2026, 1, 1, 9, 10, 15, tzinfo=SHANGHAI)
    got = parse_schedule(rule).next_after(start, SHANGHAI, start)
    assert got is not None and got.time() == fires_at
    assert timedelta(0) < got - start <= timedelta(days=1)


def test_only_the_rules_own_parts_count_as_named_not_text_elsewhere_in_it():
    # a vendor parameter of the RRULE property (dateutil ignores X- parameters) mentions
    # BYHOUR=, but the rule names no part of the time: it fires at the start's time of day
    start = datetime(2026, 1, 1, 9, 10, 15, tzinfo=SHANGHAI)
    try:
        vendor = parse_schedule("RRULE;X-NOTE=BYHOUR=20:FREQ=DAILY")
    except ValueError as exc:  # python-dateutil 2.x refuses any parameter of RRULE: said so
        assert "unsupported RRULE parm: X-NOTE=BYHOUR=20" in str(exc)
    else:
        assert vendor.next_after(start, SHANGHAI, start) == datetime(2026, 1, 2, 9, 10, 15, tzinfo=SHANGHAI)
    # the RRULE and its DTSTART on one line: the parts are added to the rule, not to DTSTART
    one_line = parse_schedule("FREQ=DAILY;BYHOUR=20 DTSTART:20260104T120000Z")
    assert one_line.next_after(start, SHANGHAI) == datetime(2026, 1, 5, 4, 0, tzinfo=SHANGHAI)


def test_a_schedule_naming_the_hour_with_its_own_dtstart_runs_on_that_zones_clock():
    # DTSTART in UTC: BYHOUR=20 is 20:00 UTC, 04:00 the next morning in Shanghai
    s = parse_schedule("DTSTART:20260104T120000Z\nRRULE:FREQ=WEEKLY;BYHOUR=20")
    nxt = s.next_after(datetime(2026, 1, 1, tzinfo=UTC), SHANGHAI)
    assert nxt == datetime(2026, 1, 5, 4, 0, tzinfo=SHANGHAI)


def test_a_schedule_may_fire_once_an_hour_or_just_once():
    hourly = parse_schedule("FREQ=HOURLY")  # exactly the shortest gap allowed
    at = datetime(2026, 1, 1, 9, 30, tzinfo=SHANGHAI)
    assert hourly.between(at, at + timedelta(hours=3), SHANGHAI) == [
        datetime(2026, 1, 1, h, tzinfo=SHANGHAI) for h in (10, 11, 12)
    ]
    once = parse_schedule("FREQ=DAILY;COUNT=1")  # a one-off period end, at the policy's start
    start = datetime(2026, 1, 4, 20, tzinfo=SHANGHAI)
    assert once.between(start - timedelta(days=7), start + timedelta(days=70), SHANGHAI, start) == [start]


def test_a_time_zone_without_an_offset_is_refused_as_naive():
    class Floating(tzinfo):
        def utcoffset(self, dt: datetime | None) -> timedelta | None:
            return None

    with pytest.raises(ValueError, match="naive"):
        to_zone(datetime(2026, 1, 1, tzinfo=Floating()), SHANGHAI)
    with pytest.raises(ValueError, match=r"'2026-01-01T00:00:00' is a naive datetime"):
        as_instant(datetime(2026, 1, 1))


def test_schedule_with_a_start_has_no_occurrence_before_it():
    start = datetime(2026, 1, 4, 20, tzinfo=SHANGHAI)
    assert WEEKLY.last_at_or_before(start - timedelta(days=1), SHANGHAI, start) is None
    assert WEEKLY.previous_before(start, SHANGHAI, start) is None
    assert WEEKLY.last_at_or_before(start, SHANGHAI, start) == start


def test_a_finite_schedule_runs_out():
    three = parse_schedule("FREQ=WEEKLY;COUNT=3")
    start = datetime(2026, 1, 4, 20, tzinfo=SHANGHAI)
    last = start + timedelta(weeks=2)
    assert three.next_after(last, SHANGHAI, start) is None
    assert three.last_at_or_before(last + timedelta(weeks=10), SHANGHAI, start) == last


def test_until_is_an_instant_and_its_own_occurrence_is_the_last():
    # UNTIL 12:00 UTC is 20:00 in Shanghai: the rule's 20:00 that day is its last occurrence
    daily = parse_schedule("FREQ=DAILY;BYHOUR=20;UNTIL=20260105T120000Z")
    last = datetime(2026, 1, 5, 20, tzinfo=SHANGHAI)
    assert daily.last_at_or_before(last + timedelta(days=30), SHANGHAI) == last
    assert daily.next_after(last - timedelta(seconds=1), SHANGHAI) == last
    assert daily.next_after(last, SHANGHAI) is None


def test_rrule_prefix_is_accepted():
    assert parse_schedule("RRULE:FREQ=WEEKLY;BYDAY=SU;BYHOUR=20") == WEEKLY


def test_dtstart_with_its_own_zone_keeps_the_instant():
    s = parse_schedule("DTSTART:20260104T120000Z\nRRULE:FREQ=WEEKLY")
    nxt = s.next_after(datetime(2026, 1, 1, tzinfo=UTC), SHANGHAI)
    assert nxt == datetime(2026, 1, 4, 20, 0, tzinfo=SHANGHAI)  # 12:00 UTC is 20:00 in Shanghai


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=DAILY;COUNT=0", "never fires"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never fires"),
        ("FREQ=DAILY;UNTIL=19990101T000000Z", "never fires"),
        ("FREQ=FORTNIGHTLY", "is not a valid RRULE"),
        ("FREQ=MINUTELY", "fires more often than once an hour (2000-01-03 00:00:00 and 00:01:00)"),
        ("FREQ=MINUTELY;COUNT=2", "fires more often than once an hour"),  # the first gap counts too
        ("FREQ=DAILY;BYHOUR=20;BYMINUTE=0,30", "fires more often than once an hour"),
        ("RRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY", "is not a single RRULE"),
        ("", "is not an RRULE like"),
        ("DTSTART:20260104T200000\nRRULE:FREQ=WEEKLY", "DTSTART needs a time zone"),
    ],
)
def test_bad_schedules_are_rejected_at_book_load(rule, message):
    book = {
        "groups": [{"id": "camp"}],
        "policies": [
            {
                "id": "weekly",
                "type": "eviction",
                "groups": ["camp"],
                "schedule": rule,
                "when": {"days_since": "checkin", "at_least": 7},
            }
        ],
    }
    with pytest.raises(go.RuleError) as info:
        go.RuleBook.load(book)
    (problem,) = info.value.problems
    assert problem.path == "policies[0].schedule"
    assert message in problem.message
    assert repr(rule) in problem.message


def test_schedule_is_a_value():
    assert parse_schedule("FREQ=WEEKLY;BYDAY=SU;BYHOUR=20") == Schedule("FREQ=WEEKLY;BYDAY=SU;BYHOUR=20")
    assert str(WEEKLY) == "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20"


def test_naive_datetimes_are_refused_by_schedules():
    with pytest.raises(ValueError, match="naive"):
        WEEKLY.next_after(datetime(2026, 1, 1), SHANGHAI)


def test_naive_datetimes_are_refused_by_durations():
    with pytest.raises(ValueError, match=r"'2026-01-01T00:00:00' is a naive datetime"):
        go.parse_duration("7d").before(datetime(2026, 1, 1), SHANGHAI)


def test_the_two_instants_of_a_repeated_hour_are_kept_apart():
    # 02:30 happens twice in Berlin on 2026-10-25: first in CEST (fold=0), then in CET
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    second = first.replace(fold=1)
    assert elapsed(first, second) == timedelta(hours=1)
    half_hour = go.parse_duration("30m")
    for at in (first, second, first):  # in both orders: no answer is reused for the other
        assert elapsed(half_hour.before(at, BERLIN), at) == timedelta(minutes=30)
    day = go.parse_duration("1d")
    assert day.before(first, BERLIN).replace(tzinfo=None) == datetime(2026, 10, 24, 2, 30)
    assert day.before(second, BERLIN).replace(tzinfo=None) == datetime(2026, 10, 24, 2, 30)


def test_a_year_is_twelve_calendar_months_and_bounded_like_the_others() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    one_year = go.parse_duration("1y")
    assert (one_year.amount, one_year.unit, str(one_year)) == (1, "y", "1y")
    start = datetime(2026, 3, 1, tzinfo=tz)
    assert one_year.after(start, tz) == go.parse_duration("12mo").after(start, tz)
    assert one_year.after(datetime(2028, 2, 29, 12, tzinfo=tz), tz) == datetime(2029, 2, 28, 12, tzinfo=tz)
    assert one_year.describe("en") == "1 year" and go.parse_duration("2y").describe("zh") == "2 年"
    assert go.parse_duration("100y").amount == 100
    with pytest.raises(ValueError, match=r"'101y' is longer than 100 years"):
        go.parse_duration("101y")
