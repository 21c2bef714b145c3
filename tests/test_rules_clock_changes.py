"""Daylight-saving changes: schedules give strictly increasing instants (a wall-clock time
in a spring-forward gap fires at the first instant after the gap, one in an autumn fold
fires once, at the first of its two instants), and every comparison the core makes is
one of instants, whatever zone object a time was written with.

The reference below is written in UTC: it enumerates local dates, and finds the UTC
instant a wall-clock time names by trying every whole minute around it.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import groupops as go
from groupops._time import parse_schedule
from groupops.rules._semantics import eviction_period, eviction_periods, in_grace, revival_open, welcome_due

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# the 2026 changes: Berlin 29 March and 25 October, New York 8 March and 1 November
CHANGES = {
    "Europe/Berlin": (date(2026, 3, 29), date(2026, 10, 25)),
    "America/New_York": (date(2026, 3, 8), date(2026, 11, 1)),
}


# -- the reference, in UTC ----------------------------------------------------------------------


def wall_of(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def reference_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant a local wall-clock time fires at: the earliest instant whose wall
    clock reads ``wall``; if none does (a gap), the earliest whose wall clock is later."""
    guess = wall.replace(tzinfo=UTC) - timedelta(hours=16)  # before any offset could put it
    step = timedelta(minutes=1)
    t = guess
    while wall_of(t, tz) < wall:
        t += step
    return t  # the first whole minute at or after: every wall time here is whole minutes


def reference_occurrences(tz: ZoneInfo, hour: int, minute: int, first: date, last: date) -> list[datetime]:
    out: list[datetime] = []
    day = first
    while day <= last:
        t = reference_instant(datetime.combine(day, time(hour, minute)), tz)
        if not out or t > out[-1]:
            out.append(t)
        day += timedelta(days=1)
    return out


zones = st.sampled_from(sorted(CHANGES))
hours = st.sampled_from([0, 1, 2, 3, 4, 20])
minutes = st.sampled_from([0, 15, 30, 45])


@st.composite
def windows(draw, zone_name: str):
    change = draw(st.sampled_from(CHANGES[zone_name]))
    start = datetime.combine(change, time(0), tzinfo=UTC) + timedelta(
        minutes=draw(st.integers(min_value=-3 * 24 * 60, max_value=24 * 60))
    )
    length = timedelta(minutes=draw(st.integers(min_value=1, max_value=4 * 24 * 60)))
    return start, start + length


@given(st.data(), zones, hours, minutes)
def test_daily_occurrences_match_the_utc_reference_across_both_changes(data, zone_name, hour, minute):
    tz = ZoneInfo(zone_name)
    after, until = data.draw(windows(zone_name))
    schedule = parse_schedule(f"FREQ=DAILY;BYHOUR={hour};BYMINUTE={minute}")
    got = schedule.between(after, until, tz)
    expected = [
        t
        for t in reference_occurrences(
            tz, hour, minute, after.date() - timedelta(days=2), until.date() + timedelta(days=2)
        )
        if after < t <= until
    ]
    assert [g.astimezone(UTC) for g in got] == expected
    # strictly increasing instants, each shown with the zone's offset at that instant
    assert all(a < b for a, b in itertools.pairwise(got))
    assert all(g.utcoffset() == g.astimezone(tz).utcoffset() for g in got)
    # the single-step look-ups agree with the list
    nxt = schedule.next_after(after, tz)
    assert nxt is not None and (not got or nxt == got[0])
    if got:
        assert schedule.last_at_or_before(until, tz) == got[-1]
        assert schedule.previous_before(got[-1], tz) == (
            got[-2] if len(got) > 1 else schedule.previous_before(got[0], tz)
        )


@given(st.data(), zones, hours, minutes)
def test_every_instant_belongs_to_exactly_one_period_of_positive_length(data, zone_name, hour, minute):
    tz = ZoneInfo(zone_name)
    after, until = data.draw(windows(zone_name))
    policy = go.rules.Eviction.model_validate(
        {
            "id": "daily",
            "groups": ["camp"],
            "schedule": f"FREQ=DAILY;BYHOUR={hour};BYMINUTE={minute}",
            "notice": "2h",
            "when": {"days_since": "checkin", "at_least": 1},
        }
    )
    period = eviction_period(policy, until, tz)
    assert period is not None
    assert period.start < until <= period.end
    assert period.start < period.end
    assert period.start.astimezone(UTC) in reference_occurrences(
        tz, hour, minute, until.date() - timedelta(days=3), until.date() + timedelta(days=1)
    )
    for p in eviction_periods(policy, after, until, tz):
        assert p.start < p.end and p.notice_at < p.end


# -- the same instants, written either way, give the same answers -----------------------------

# New York, Sunday 1 November 2026: 01:00-02:00 happens twice (EDT, then EST)
FIRST_0110 = datetime(2026, 11, 1, 1, 10, tzinfo=NEW_YORK)  # 05:10 UTC
SECOND_0110 = FIRST_0110.replace(fold=1)  # 06:10 UTC
FIRST_0150 = datetime(2026, 11, 1, 1, 50, tzinfo=NEW_YORK)  # 05:50 UTC, before SECOND_0110


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def test_a_welcome_is_not_due_before_the_join_written_in_the_repeated_hour():
    policy = go.rules.Welcome.model_validate({"id": "hi", "groups": ["g"], "within": "1d"})
    for joined in (SECOND_0110, _utc(SECOND_0110)):
        for at in (FIRST_0150, _utc(FIRST_0150)):
            ms = go.Membership(member="m", group="g", joined_at=joined)
            # the member joins at 06:10 UTC; at 05:50 UTC nobody has joined yet
            assert welcome_due(policy, ms, at, NEW_YORK) is False
            assert welcome_due(policy, ms, _utc(SECOND_0110) + timedelta(minutes=5), NEW_YORK) is True


def test_a_revival_window_compares_instants():
    policy = go.rules.Revival.model_validate(
        {"id": "back", "groups": ["g"], "within": "30m", "when": {"count": "pay", "at_least": 1}}
    )
    for evicted in (FIRST_0110, _utc(FIRST_0110)):
        ms = go.Membership(
            member="m",
            group="g",
            joined_at=FIRST_0110 - timedelta(days=9),
            status="evicted",
            evicted_at=evicted,
        )
        # 06:10 UTC is an hour after the eviction (05:10 UTC): the 30-minute window closed
        assert revival_open(policy, ms, SECOND_0110, NEW_YORK) is False
        assert revival_open(policy, ms, _utc(SECOND_0110), NEW_YORK) is False
        assert revival_open(policy, ms, FIRST_0110 + timedelta(minutes=20), NEW_YORK) is True


def _engine_with(membership: go.Membership, book: dict) -> go.Engine:
    engine = go.Engine(go.RuleBook.load(book), store=go.MemoryStore(), entry_points=False)
    engine.put_membership(membership)
    return engine


@pytest.mark.parametrize("written", ["zoneinfo", "utc"])
def test_grace_that_ends_in_the_repeated_hour_is_measured_in_instants(written):
    policy = go.rules.Eviction.model_validate(
        {
            "id": "sweep",
            "groups": ["g"],
            "schedule": "FREQ=HOURLY;BYMINUTE=20",
            "notice": "5m",
            "grace": "30m",
            "when": {"days_since": "checkin", "at_least": 1},
        }
    )
    revived = datetime(2026, 11, 1, 5, 40, tzinfo=UTC)  # 01:40 EDT; grace ends 06:10 UTC, 01:10 EST
    ms = go.Membership(
        member="m",
        group="g",
        joined_at=revived - timedelta(days=3),
        revived_at=revived.astimezone(NEW_YORK) if written == "zoneinfo" else revived,
    )
    period = eviction_period(policy, datetime(2026, 11, 1, 5, 20, tzinfo=UTC), NEW_YORK)  # ends 01:20 EDT
    assert period is not None and period.end == datetime(2026, 11, 1, 5, 20, tzinfo=UTC)
    # 06:10 UTC is after 05:20 UTC, though 01:10 reads earlier than 01:20 on the wall
    assert in_grace(policy, ms, period, NEW_YORK) is True


@pytest.mark.parametrize("written", ["zoneinfo", "utc"])
def test_a_since_promoted_window_and_a_ladder_grace_across_the_repeated_hour(written):
    book = {
        "timezone": "America/New_York",
        "groups": [{"id": "g"}],
        "policies": [
            {
                "id": "roles",
                "type": "ladder",
                "groups": ["g"],
                "steps": [
                    {"role": "member"},
                    {
                        "role": "active",
                        "promote": {"count": "post", "at_least": 100},
                        "keep": {"count": "post", "since": "promoted", "at_least": 1},
                        "grace": "30m",
                    },
                ],
            }
        ],
    }

    def w(at: datetime) -> datetime:  # the same instant, in New York (fold set) or in UTC
        return _utc(at).astimezone(NEW_YORK) if written == "zoneinfo" else _utc(at)

    # promoted at 01:10 EST (06:10 UTC); asked at 01:50 EDT (05:50 UTC), i.e. before the
    # promotion: still inside the grace, so no demotion
    ms = go.Membership(
        member="m",
        group="g",
        joined_at=w(FIRST_0110 - timedelta(days=3)),
        role="active",
        promoted_at=w(SECOND_0110),
        role_changes=1,
    )
    engine = _engine_with(ms, book)
    assert engine.run(w(FIRST_0150)).decisions == ()
    # 06:50 UTC: 40 minutes after the promotion, no post since: demoted
    [demote] = engine.run(w(_utc(SECOND_0110) + timedelta(minutes=40))).decisions
    assert demote.action == "demote"


def test_a_moment_written_in_either_fold_is_kept_as_its_instant():
    ms = go.Membership(member="m", group="g", joined_at=FIRST_0150, promoted_at=SECOND_0110)
    assert ms.promoted_at > ms.joined_at  # 06:10 UTC after 05:50 UTC, despite the wall clocks
    assert ms.promoted_at.isoformat() == "2026-11-01T01:10:00-05:00"
    assert go.Membership.model_validate_json(ms.model_dump_json()) == ms
