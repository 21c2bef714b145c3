"""The meaning of each policy type: admission, eviction periods and grace, revival windows,
ladder moves."""

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import groupops as go

TZ = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
SUN = datetime(2026, 1, 11, 20, 0, tzinfo=TZ)  # a period end of the weekly schedule
WEEK = timedelta(weeks=1)
_ids = itertools.count()


def ev(kind, at, *, group="camp", member="m1", value=1.0):
    return go.Event(id=f"e{next(_ids)}", kind=kind, member=member, group=group, at=at, value=value)


def ms(**kw):
    fields = {"member": "m1", "group": "camp", "joined_at": SUN - timedelta(days=100)} | kw
    return go.Membership(**fields)


def ctx(at, events=(), *, membership=None, group="camp", tz=TZ, **kw):
    history = go.rules.Community(tz, events).history("m1")
    return go.rules.Context(at=at, tz=tz, history=history, group=group, membership=membership, **kw)


def eviction(**kw):
    data = {
        "id": "weekly",
        "groups": ["camp"],
        "schedule": "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20",
        "notice": "2d",
        "when": {"days_since": "checkin", "at_least": 7},
    } | kw
    return go.rules.Eviction.model_validate(data)


# -- admission ---------------------------------------------------------------------------------


def test_admission_counts_member_wide_by_default():
    policy = go.rules.Admission.model_validate(
        {
            "id": "vip",
            "from": ["welfare"],
            "to": "paid",
            "when": {"count": "purchase", "within": "365d", "at_least": 2},
        }
    )
    events = [
        ev("purchase", SUN - timedelta(days=10), group="welfare"),
        ev("purchase", SUN - timedelta(days=20), group=None),
    ]
    events.append(
        ev("purchase", SUN - timedelta(days=30), group="flash")
    )  # another group: still the member's
    c = ctx(SUN, events, group="welfare", default_scope=policy.default_scope)
    e = go.rules.admission_check(policy, c)
    assert e.passed and e.observed == 3 and e.scope == "member"
    assert policy.expires == go.Duration(14, "d")
    # the same leaf judged with group scope sees only welfare + member-wide events
    assert go.rules.admission_check(policy, ctx(SUN, events, group="welfare")).observed == 2


def test_admission_fails_below_threshold():
    policy = go.rules.Admission.model_validate(
        {"id": "vip", "from": ["welfare"], "to": "paid", "when": {"count": "purchase", "at_least": 2}}
    )
    e = go.rules.admission_check(policy, ctx(SUN, [ev("purchase", SUN)], default_scope="member"))
    assert not e.passed and e.observed == 1


# -- eviction periods ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "end"),
    [
        (SUN - timedelta(days=3), SUN),  # a Thursday belongs to the period ending on Sunday
        (SUN - WEEK + timedelta(seconds=1), SUN),  # just after the previous end
        (SUN, SUN),  # an occurrence belongs to the period it ends
        (SUN + timedelta(seconds=1), SUN + WEEK),
        (SUN.astimezone(UTC), SUN),  # any zone for the input
    ],
)
def test_eviction_period_of_a_moment(at, end):
    period = go.rules.eviction_period(eviction(), at, TZ)
    assert period is not None
    assert period.end == end
    assert period.start == end - WEEK
    assert period.notice_at == end - timedelta(days=2)
    assert period.key == end.isoformat()
    assert period.start < at.astimezone(TZ) <= period.end


def test_notice_at_is_end_minus_notice_in_calendar_or_exact_units():
    assert go.rules.eviction_period(eviction(notice="12h"), SUN, TZ).notice_at == SUN - timedelta(hours=12)
    # across Berlin's spring-forward, 2d before Sunday 20:00 is Friday 20:00 local: 47 elapsed hours
    end = datetime(2026, 3, 29, 20, 0, tzinfo=BERLIN)
    period = go.rules.eviction_period(eviction(), end, BERLIN)
    assert period.end == end
    assert period.notice_at.replace(tzinfo=None) == datetime(2026, 3, 27, 20, 0)
    assert end.astimezone(UTC) - period.notice_at.astimezone(UTC) == timedelta(hours=47)
    assert period.start.utcoffset() == timedelta(hours=1) and period.end.utcoffset() == timedelta(hours=2)


def test_first_period_of_a_schedule_with_a_start_begins_at_the_start():
    opening = SUN - timedelta(days=3, hours=9, minutes=30)  # Thursday 10:30
    policy = eviction(start=opening.isoformat())
    first = go.rules.eviction_period(policy, opening + timedelta(hours=1), TZ)
    assert first is not None
    assert (first.start, first.end) == (opening, SUN)  # 20:00 sharp, not 20:30
    assert go.rules.eviction_period(policy, SUN + timedelta(days=1), TZ).start == SUN


def test_the_first_period_counts_since_the_opening():
    opening = SUN - timedelta(days=3, hours=9, minutes=30)
    policy = eviction(
        start=opening.isoformat(), when={"count": "checkin", "since": "period_start", "below": 2}
    )
    period = go.rules.eviction_period(policy, SUN, TZ)
    events = [ev("checkin", opening + timedelta(days=d)) for d in (1, 2)]
    check = go.rules.eviction_check(
        policy, ctx(SUN, events, membership=ms(), period_start=period.start), period
    )
    assert check.failing.observed == 2 and not check.at_risk


def test_a_schedule_naming_the_minute_keeps_it():
    policy = eviction(
        schedule="FREQ=WEEKLY;BYDAY=SU;BYHOUR=20;BYMINUTE=30", start="2026-01-01T10:05:09+08:00"
    )
    assert go.rules.eviction_period(policy, SUN - timedelta(days=1), TZ).end == SUN + timedelta(minutes=30)


def test_a_schedule_that_has_run_out_has_no_period():
    policy = eviction(schedule="FREQ=WEEKLY;COUNT=2", start=SUN.isoformat())
    assert go.rules.eviction_period(policy, SUN + WEEK, TZ).end == SUN + WEEK
    assert go.rules.eviction_period(policy, SUN + WEEK + timedelta(seconds=1), TZ) is None


def test_eviction_periods_over_a_range_are_those_with_something_due():
    policy = eviction()
    after = SUN - timedelta(days=6)  # Monday
    # until Monday two weeks on: ends SUN and SUN+1w are due; SUN+2w's notice (Friday) is not yet
    got = go.rules.eviction_periods(policy, after, SUN + WEEK + timedelta(days=1), TZ)
    assert [p.end for p in got] == [SUN, SUN + WEEK]
    # until the Friday notice of the third period: it is due, its end is not yet
    got = go.rules.eviction_periods(policy, after, SUN + 2 * WEEK - timedelta(days=2), TZ)
    assert [p.end for p in got] == [SUN, SUN + WEEK, SUN + 2 * WEEK]
    for p in got:
        due = [t for t in (p.notice_at, p.end) if after < t <= SUN + 2 * WEEK - timedelta(days=2)]
        assert due


def test_eviction_periods_skip_a_period_that_only_spans_the_range():
    # Saturday 00:00 to 12:00: the notice (Friday 20:00) is before, the end (Sunday 20:00) after
    sat = SUN - timedelta(hours=20)
    assert go.rules.eviction_periods(eviction(), sat, sat + timedelta(hours=12), TZ) == []


def test_eviction_periods_exclude_the_start_of_the_range():
    got = go.rules.eviction_periods(eviction(), SUN, SUN + timedelta(days=1), TZ)
    assert got == []  # SUN's end is not after SUN; the next notice is on Friday
    got = go.rules.eviction_periods(eviction(), SUN - timedelta(seconds=1), SUN, TZ)
    assert [p.end for p in got] == [SUN]


# -- grace -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("joined_days_before_end", "in_grace"),
    [(3, True), (6.99, True), (7, False), (8, False)],
)
def test_grace_runs_from_joining_to_the_period_end(joined_days_before_end, in_grace):
    policy = eviction(grace="7d")
    period = go.rules.eviction_period(policy, SUN, TZ)
    m = ms(joined_at=SUN - timedelta(days=joined_days_before_end))
    assert go.rules.in_grace(policy, m, period, TZ) is in_grace


def test_revival_restarts_grace():
    policy = eviction(grace="7d")
    period = go.rules.eviction_period(policy, SUN, TZ)
    m = ms(
        joined_at=SUN - timedelta(days=60),
        evicted_at=SUN - timedelta(days=10),
        revived_at=SUN - timedelta(days=2),
    )
    assert go.rules.in_grace(policy, m, period, TZ)
    assert not go.rules.in_grace(
        policy, m.model_copy(update={"revived_at": SUN - timedelta(days=8)}), period, TZ
    )


def test_no_grace_without_a_grace_setting():
    period = go.rules.eviction_period(eviction(), SUN, TZ)
    assert not go.rules.in_grace(eviction(), ms(joined_at=SUN - timedelta(hours=1)), period, TZ)


# -- eviction check ----------------------------------------------------------------------------------


def test_eviction_check_at_risk_exempt_and_grace():
    policy = eviction(grace="7d", exempt={"role": ["owner", "admin"]})
    period = go.rules.eviction_period(policy, SUN, TZ)
    silent = [ev("checkin", SUN - timedelta(days=9))]
    c = ctx(period.notice_at, silent, membership=ms(), period_start=period.start)
    check = go.rules.eviction_check(policy, c, period)
    assert check.failing.passed and check.failing.observed == 7  # at the notice time: 9 - 2 days
    assert check.exempt is not None and not check.exempt.passed
    assert not check.grace and check.at_risk

    admin = go.rules.eviction_check(policy, ctx(SUN, silent, membership=ms(role="admin")), period)
    assert admin.failing.passed and admin.exempt.passed and not admin.at_risk

    newcomer = go.rules.eviction_check(
        policy, ctx(SUN, [], membership=ms(joined_at=SUN - timedelta(days=2))), period
    )
    assert newcomer.failing.passed and newcomer.grace and not newcomer.at_risk

    active = go.rules.eviction_check(
        policy, ctx(SUN, [ev("checkin", SUN - timedelta(days=1))], membership=ms()), period
    )
    assert not active.failing.passed and not active.at_risk


def test_eviction_check_without_exempt():
    policy = eviction()
    period = go.rules.eviction_period(policy, SUN, TZ)
    check = go.rules.eviction_check(policy, ctx(SUN, [], membership=ms()), period)
    assert check.exempt is None and check.at_risk


def test_eviction_check_counts_since_the_period_start():
    policy = eviction(when={"count": "checkin", "since": "period_start", "below": 3})
    period = go.rules.eviction_period(policy, SUN, TZ)
    events = [ev("checkin", period.start - timedelta(hours=1))] + [
        ev("checkin", period.start + timedelta(days=d)) for d in (1, 2)
    ]
    check = go.rules.eviction_check(
        policy, ctx(SUN, events, membership=ms(), period_start=period.start), period
    )
    assert check.failing.observed == 2 and check.at_risk


# -- revival -------------------------------------------------------------------------------------------

REVIVAL = go.rules.Revival.model_validate(
    {
        "id": "comeback",
        "groups": ["camp"],
        "within": "14d",
        "max": 1,
        "when": {"count": "makeup_task", "since": "evicted", "at_least": 2},
    }
)
EVICTED_AT = SUN


def evicted(**kw):
    return ms(status="evicted", evicted_at=EVICTED_AT, **kw)


def test_revival_deadline():
    assert go.rules.revival_deadline(REVIVAL, evicted(), TZ) == EVICTED_AT + timedelta(days=14)
    assert go.rules.revival_deadline(REVIVAL, ms(), TZ) is None


@pytest.mark.parametrize(
    ("offset", "is_open"),
    [
        (timedelta(seconds=-1), False),  # before the eviction
        (timedelta(0), True),  # the window opens at the eviction
        (timedelta(days=7), True),
        (timedelta(days=14), True),  # and includes its deadline
        (timedelta(days=14, seconds=1), False),
    ],
)
def test_revival_window_edges(offset, is_open):
    assert go.rules.revival_open(REVIVAL, evicted(), EVICTED_AT + offset, TZ) is is_open


def test_revival_needs_an_evicted_status_and_revivals_left():
    at = EVICTED_AT + timedelta(days=1)
    assert not go.rules.revival_open(REVIVAL, ms(evicted_at=EVICTED_AT), at, TZ)  # active again
    assert not go.rules.revival_open(REVIVAL, evicted(revivals=1), at, TZ)  # max 1 used up
    twice = REVIVAL.model_copy(update={"max": 2})
    assert go.rules.revival_open(twice, evicted(revivals=1), at, TZ)
    never = REVIVAL.model_copy(update={"max": 0})
    assert not go.rules.revival_open(never, evicted(), at, TZ)


def test_revival_check_counts_since_the_eviction():
    events = [ev("makeup_task", EVICTED_AT - timedelta(days=1))] + [
        ev("makeup_task", EVICTED_AT + timedelta(days=d)) for d in (1, 2)
    ]
    e = go.rules.revival_check(REVIVAL, ctx(EVICTED_AT + timedelta(days=3), events, membership=evicted()))
    assert e.passed and e.observed == 2
    e = go.rules.revival_check(REVIVAL, ctx(EVICTED_AT + timedelta(days=3), events[:2], membership=evicted()))
    assert not e.passed and e.observed == 1


# -- ladder ------------------------------------------------------------------------------------------------

LADDER = go.rules.Ladder.model_validate(
    {
        "id": "roles",
        "groups": ["camp"],
        "steps": [
            {"role": "member"},
            {
                "role": "active",
                "promote": {"distinct_days": "message", "within": "14d", "at_least": 5},
                "keep": {"distinct_days": "message", "within": "30d", "at_least": 4},
                "grace": "14d",
            },
            {
                "role": "core",
                "promote": {"count": "answer", "within": "30d", "at_least": 10},
                "keep": {"count": "answer", "within": "30d", "at_least": 5},
            },
        ],
    }
)
NOW = SUN


def chatty(days):
    return [ev("message", NOW - timedelta(days=d)) for d in range(days)]


def answers(n):
    return [ev("answer", NOW - timedelta(hours=h)) for h in range(n)]


def move(membership, events):
    return go.rules.ladder_move(LADDER, ctx(NOW, events, membership=membership))


def test_promote_when_the_next_steps_promote_holds():
    m = move(ms(role="member"), chatty(5))
    assert m is not None
    assert (m.action, m.from_role, m.to_role) == ("promote", "member", "active")
    assert m.explanation.passed and m.explanation.observed == 5
    assert move(ms(role="member"), chatty(4)) is None


def test_one_step_at_a_time():
    m = move(ms(role="member"), chatty(5) + answers(50))  # qualifies for core too
    assert m.to_role == "active"
    m = move(ms(role="active", promoted_at=NOW - timedelta(days=1)), chatty(5) + answers(50))
    assert (m.action, m.to_role) == ("promote", "core")


def test_demote_only_when_keep_fails_after_the_grace():
    quiet = chatty(2)  # keep needs 4 days in 30
    in_grace = ms(role="active", promoted_at=NOW - timedelta(days=13))
    assert move(in_grace, quiet) is None
    grace_over = ms(role="active", promoted_at=NOW - timedelta(days=14))  # grace ends exactly now
    m = move(grace_over, quiet)
    assert (m.action, m.from_role, m.to_role) == ("demote", "active", "member")
    assert not m.explanation.passed and m.explanation.observed == 2
    assert move(grace_over, chatty(4)) is None  # keep holds


def test_grace_is_calendar_days_in_the_book_zone():
    # promoted at 20:00 on 15 March in Berlin; 14d later is 20:00 on 29 March (CEST)
    promoted = datetime(2026, 3, 15, 20, tzinfo=BERLIN)
    grace_end = datetime(2026, 3, 29, 20, tzinfo=BERLIN)
    m = ms(role="active", promoted_at=promoted, joined_at=promoted - timedelta(days=60))
    before = go.rules.ladder_move(
        LADDER, ctx(grace_end.astimezone(UTC) - timedelta(minutes=30), [], membership=m, tz=BERLIN)
    )
    assert before is None
    # at 20:00 on 29 March only 14 x 24 - 1 hours have elapsed, yet 14 calendar days have
    assert grace_end.astimezone(UTC) - promoted.astimezone(UTC) == timedelta(hours=14 * 24 - 1)
    at_end = go.rules.ladder_move(LADDER, ctx(grace_end, [], membership=m, tz=BERLIN))
    assert at_end is not None and at_end.action == "demote"


def test_without_a_promotion_time_there_is_no_grace():
    m = move(ms(role="active"), chatty(1))
    assert m is not None and m.action == "demote"


def test_promotion_wins_over_demotion():
    m = move(
        ms(role="active", promoted_at=NOW - timedelta(days=30)), answers(10)
    )  # keep fails, core's promote holds
    assert (m.action, m.to_role) == ("promote", "core")


def test_the_bottom_step_never_demotes_and_a_step_without_keep_is_kept():
    assert move(ms(role="member"), []) is None
    ladder = LADDER.model_copy(
        update={
            "steps": (LADDER.steps[0], LADDER.steps[1].model_copy(update={"keep": None}), LADDER.steps[2])
        }
    )
    assert go.rules.ladder_move(ladder, ctx(NOW, [], membership=ms(role="active"))) is None


def test_the_top_step_can_only_be_demoted():
    m = move(ms(role="core", promoted_at=NOW - timedelta(days=60)), answers(4))
    assert (m.action, m.to_role) == ("demote", "active")
    assert move(ms(role="core"), answers(5)) is None


def test_locked_memberships_and_roles_off_the_ladder_never_move():
    assert move(ms(role="member", locked=True), chatty(14)) is None
    assert move(ms(role="active", locked=True), []) is None
    assert move(ms(role="owner"), chatty(14) + answers(50)) is None
    assert move(ms(role="admin"), []) is None
    assert go.rules.ladder_move(LADDER, ctx(NOW, chatty(14))) is None  # no membership


def test_ladder_needs_two_steps():
    with pytest.raises(ValueError):
        go.rules.Ladder.model_validate({"id": "x", "groups": ["camp"], "steps": [{"role": "member"}]})
