"""Every leaf, combinator, comparator, window and scope of the condition language."""

import itertools
import math
import operator
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter, ValidationError

import groupops as go

TZ = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
AT = datetime(2026, 3, 1, 20, 0, tzinfo=TZ)
CONDITION = TypeAdapter(go.rules.Condition)
_ids = itertools.count()


def cond(data):
    return CONDITION.validate_python(data)


def ev(kind, at, *, group="camp", value=1.0, data=None, member="m1", id=None):
    return go.Event(
        id=id or f"e{next(_ids)}",
        kind=kind,
        member=member,
        group=group,
        at=at,
        value=value,
        data=data or {},
    )


def history(events, tz=TZ):
    community = go.rules.Community(tz, events)
    return community.history("m1")


def membership(**kw):
    fields = {"member": "m1", "group": "camp", "joined_at": AT - timedelta(days=100)} | kw
    return go.Membership(**fields)


def check(data, events=(), *, at=AT, tz=TZ, **kw):
    ctx = go.rules.Context(at=at, tz=tz, history=history(events, tz), group=kw.pop("group", "camp"), **kw)
    return go.rules.evaluate(cond(data), ctx)


def days_ago(n, at=AT):
    return at - timedelta(days=n)


# -- count ---------------------------------------------------------------------------


def test_count_counts_events_of_the_kind():
    events = [ev("purchase", days_ago(d)) for d in (1, 5, 20)] + [ev("checkin", days_ago(1))]
    e = check({"count": "purchase", "within": "30d", "at_least": 3}, events)
    assert e.test == "count" and e.subject == "purchase"
    assert e.observed == 3 and e.passed
    assert not check({"count": "purchase", "within": "30d", "at_least": 4}, events).passed
    assert check({"count": "purchase", "within": "10d", "at_least": 2}, events).observed == 2
    assert check({"count": "never-seen", "at_most": 0}, events).observed == 0


def test_count_without_window_is_all_time_up_to_at():
    events = [
        ev("purchase", days_ago(400)),
        ev("purchase", days_ago(1)),
        ev("purchase", AT + timedelta(days=1)),
    ]
    e = check({"count": "purchase", "at_least": 1}, events)
    assert e.observed == 2
    assert e.window is None and e.window_start is None


# -- sum -----------------------------------------------------------------------------


def test_sum_adds_event_values_by_default():
    events = [ev("purchase", days_ago(1), value=10), ev("purchase", days_ago(2), value=20.5)]
    e = check({"sum": "purchase", "at_least": 30.5}, events)
    assert e.observed == 10 + 20.5 and e.passed
    assert e.field == "value"
    assert not check({"sum": "purchase", "above": 30.5}, events).passed


def test_sum_over_a_data_key_ignores_missing_and_non_numbers():
    amounts = [100, 50.25, "300", None, True]
    events = [ev("purchase", days_ago(1), value=999, data={"amount": a}) for a in amounts]
    events.append(ev("purchase", days_ago(1), value=999))  # no data at all
    e = check({"sum": "purchase", "field": "amount", "at_least": 150}, events)
    assert e.observed == 100 + 50.25  # only the real numbers
    for bad in (math.nan, math.inf):  # non-finite numbers never get in (JSON cannot hold them)
        with pytest.raises(ValueError, match=r"data.amount: .* is not a finite number"):
            ev("purchase", days_ago(1), data={"amount": bad})
    assert e.field == "amount"
    assert e.passed


# -- distinct_days -------------------------------------------------------------------


def test_distinct_days_counts_calendar_days_in_the_book_zone():
    # 23:30 and 00:30 UTC on consecutive UTC days: 07:30 and 08:30 on one Shanghai day
    one_local_day = [
        ev("message", datetime(2026, 2, 20, 23, 30, tzinfo=UTC)),
        ev("message", datetime(2026, 2, 21, 0, 30, tzinfo=UTC)),
    ]
    # 15:30 and 16:30 UTC on one UTC day: 23:30 and 00:30 on two Shanghai days
    two_local_days = [
        ev("message", datetime(2026, 2, 20, 15, 30, tzinfo=UTC)),
        ev("message", datetime(2026, 2, 20, 16, 30, tzinfo=UTC)),
    ]
    leaf = {"distinct_days": "message", "at_least": 2}
    assert check(leaf, one_local_day).observed == 1
    assert check(leaf, two_local_days).observed == 2
    # the same events judged by a book in UTC: the other way round
    assert check(leaf, one_local_day, tz=UTC).observed == 2
    assert check(leaf, two_local_days, tz=UTC).observed == 1


def test_distinct_days_counts_each_day_once():
    events = [ev("message", days_ago(d) + timedelta(minutes=m)) for d in (1, 2, 2, 5) for m in (0, 30)]
    e = check({"distinct_days": "message", "within": "7d", "at_least": 3}, events)
    assert e.observed == 3 and e.passed


def test_distinct_days_counts_only_the_days_inside_its_window():
    # in one group and across groups (one series of events, then several)
    events = [ev("message", days_ago(d)) for d in (1, 2, 9, 12)]
    assert check({"distinct_days": "message", "within": "7d", "at_least": 1}, events).observed == 2
    events.append(ev("message", days_ago(3), group="other"))
    member_wide = {"distinct_days": "message", "within": "7d", "scope": "member", "at_least": 1}
    assert check(member_wide, events).observed == 3


# -- days_since ----------------------------------------------------------------------


def test_days_since_never_is_infinitely_long():
    e = check({"days_since": "checkin", "at_least": 7}, [ev("purchase", days_ago(1))])
    assert e.observed == math.inf and e.passed
    assert not check({"days_since": "checkin", "below": 7}).passed


def test_days_since_is_elapsed_days_so_six_and_a_half_is_not_seven():
    events = [ev("checkin", days_ago(6.5)), ev("checkin", days_ago(10))]
    e = check({"days_since": "checkin", "at_least": 7}, events)
    assert e.observed == 6.5
    assert not e.passed


def test_days_since_looks_at_the_last_event_at_or_before_at():
    events = [ev("checkin", days_ago(9)), ev("checkin", AT + timedelta(hours=1))]
    assert check({"days_since": "checkin", "at_least": 7}, events).observed == 9
    assert check({"days_since": "checkin", "equals": 0}, [ev("checkin", AT)]).passed


# -- tenure --------------------------------------------------------------------------


def test_tenure_is_days_since_a_membership_moment():
    ms = membership(joined_at=days_ago(30), promoted_at=days_ago(2.5))
    e = check({"tenure": "joined", "at_least": 30}, membership=ms)
    assert e.observed == 30 and e.passed
    assert check({"tenure": "promoted", "below": 3}, membership=ms).observed == 2.5


def test_tenure_of_a_moment_that_never_happened_fails_every_test():
    ms = membership()
    for leaf in ({"tenure": "evicted", "at_least": 0}, {"tenure": "evicted", "at_most": 1e9}):
        e = check(leaf, membership=ms)
        assert e.observed is None and not e.passed
    assert not check({"tenure": "joined", "at_least": 0}).passed  # no membership at all


def test_tenure_is_elapsed_time_even_when_the_moment_shares_the_book_zone():
    # 20:00 on 28 March to 20:00 on 29 March in Berlin is 23 hours: not a full day
    at = datetime(2026, 3, 29, 20, tzinfo=BERLIN)
    ms = membership(joined_at=datetime(2026, 3, 28, 20, tzinfo=BERLIN))
    e = check({"tenure": "joined", "at_least": 1}, at=at, tz=BERLIN, membership=ms)
    assert e.observed == 23 / 24
    assert not e.passed


# -- label, attr, role ---------------------------------------------------------------


MEMBER = go.Member(id="m1", labels=["premium", "A"], attributes={"city": "杭州", "orders": 3, "vip": True})


@pytest.mark.parametrize(
    ("leaf", "passed"),
    [
        ({"label": "premium"}, True),
        ({"label": ["B", "premium"]}, True),  # any of several
        ({"label": "B"}, False),
        ({"label": ["B", "C"]}, False),
    ],
)
def test_label(leaf, passed):
    e = check(leaf, member=MEMBER)
    assert e.passed is passed
    assert e.observed == ["A", "premium"]


def test_label_without_a_member_fails():
    assert not check({"label": "premium"}).passed


@pytest.mark.parametrize(
    ("leaf", "passed"),
    [
        ({"attr": "city", "in": ["杭州", "上海"]}, True),
        ({"attr": "city", "in": ["北京"]}, False),
        ({"attr": "city", "equals": "杭州"}, True),
        ({"attr": "city", "equals": "上海"}, False),
        ({"attr": "orders", "at_least": 3}, True),
        ({"attr": "orders", "above": 3}, False),
        ({"attr": "orders", "at_most": 3, "above": 2}, True),
        ({"attr": "orders", "below": 3}, False),
        ({"attr": "orders", "equals": 3}, True),
        ({"attr": "vip", "equals": True}, True),
        ({"attr": "city", "at_least": 1}, False),  # a string is not a number
        ({"attr": "vip", "at_least": 0}, False),  # nor is a boolean
        ({"attr": "age", "at_most": 1000}, False),  # missing fails every test
        ({"attr": "age", "in": ["x"]}, False),
    ],
)
def test_attr(leaf, passed):
    assert check(leaf, member=MEMBER).passed is passed


def test_attr_explanation_shows_the_value_and_missing_as_none():
    e = check({"attr": "city", "in": ["杭州"]}, member=MEMBER)
    assert (e.subject, e.observed, e.expect) == ("city", "杭州", {"in": ["杭州"]})
    assert check({"attr": "age", "at_least": 18}, member=MEMBER).observed is None


def test_attr_needs_a_test():
    with pytest.raises(ValidationError, match="needs 'in', 'equals' or a comparator"):
        cond({"attr": "city"})


def test_role():
    ms = membership(role="admin")
    assert check({"role": ["owner", "admin"]}, membership=ms).passed
    assert check({"role": "admin"}, membership=ms).observed == "admin"
    assert not check({"role": "owner"}, membership=ms).passed
    assert not check({"role": "member"}).passed  # no membership


# -- metric --------------------------------------------------------------------------


def test_metric_calls_the_registered_function_with_the_window():
    calls = []

    def live_minutes(history, *, group, start, end):
        calls.append((group, start, end))
        return sum(v for _, v, _ in history.events("live", group, start, end))

    events = [
        ev("live", days_ago(1), value=30),
        ev("live", days_ago(3), value=45),
        ev("live", days_ago(40), value=99),
    ]
    e = check(
        {"metric": "live_minutes", "within": "30d", "at_least": 60},
        events,
        metrics={"live_minutes": live_minutes},
    )
    assert e.test == "metric" and e.subject == "live_minutes"
    assert e.observed == 75 and e.passed
    assert calls == [("camp", go.parse_duration("30d").before(AT, TZ), AT)]
    e = check(
        {"metric": "live_minutes", "scope": "member", "at_least": 1},
        events,
        metrics={"live_minutes": live_minutes},
    )
    assert calls[-1] == (None, None, AT)
    assert e.observed == 30 + 45 + 99


def test_an_unregistered_metric_is_a_plugin_error_naming_it():
    with pytest.raises(go.PluginError, match=r"metric 'live_minutes' is not registered by any plugin"):
        check({"metric": "live_minutes", "at_least": 1})


# -- comparators exactly at the threshold ----------------------------------------------

OPS = {
    "at_least": operator.ge,
    "at_most": operator.le,
    "above": operator.gt,
    "below": operator.lt,
    "equals": operator.eq,
}


@pytest.mark.parametrize("comparator", list(OPS))
@pytest.mark.parametrize("threshold", [2, 3, 4])
def test_comparators(comparator, threshold):
    events = [ev("purchase", days_ago(d)) for d in (1, 2, 3)]
    e = check({"count": "purchase", comparator: threshold}, events)
    assert e.observed == 3
    assert e.passed is OPS[comparator](3, threshold)
    assert e.expect == {comparator: threshold}


def test_several_comparators_must_all_hold():
    events = [ev("purchase", days_ago(d)) for d in (1, 2, 3)]
    assert check({"count": "purchase", "at_least": 2, "below": 4}, events).passed
    assert not check({"count": "purchase", "at_least": 2, "below": 3}, events).passed


def test_a_numeric_leaf_needs_a_comparator():
    with pytest.raises(ValidationError, match="needs a comparator"):
        cond({"count": "purchase"})


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_thresholds_must_be_finite(bad):
    with pytest.raises(ValidationError):
        cond({"count": "purchase", "at_least": bad})


# -- combinators -----------------------------------------------------------------------

YES = {"count": "purchase", "at_least": 0}
NO = {"count": "purchase", "at_least": 1}


@pytest.mark.parametrize(
    ("children", "passed", "decided_by"),
    [
        ([YES, YES], True, (0, 1)),
        ([YES, NO, NO], False, (1, 2)),
    ],
)
def test_all(children, passed, decided_by):
    e = check({"all": children})
    assert (e.test, e.passed, e.decided_by) == ("all", passed, decided_by)
    assert len(e.children) == len(children)  # no short-circuit: every child explained


@pytest.mark.parametrize(
    ("children", "passed", "decided_by"),
    [
        ([NO, YES, YES], True, (1, 2)),
        ([NO, NO], False, (0, 1)),
    ],
)
def test_any(children, passed, decided_by):
    e = check({"any": children})
    assert (e.test, e.passed, e.decided_by) == ("any", passed, decided_by)
    assert len(e.children) == len(children)


def test_not():
    e = check({"not": NO})
    assert (e.passed, e.decided_by, e.children[0].passed) == (True, (0,), False)
    assert not check({"not": YES}).passed


@pytest.mark.parametrize(
    ("k", "children", "passed", "decided_by"),
    [
        (2, [YES, NO, YES], True, (0, 2)),
        (2, [YES, NO, NO], False, (1, 2)),
        (3, [YES, YES, YES], True, (0, 1, 2)),
        (0, [NO, NO], True, ()),
        (1, [NO], False, (0,)),
    ],
)
def test_at_least_of(k, children, passed, decided_by):
    e = check({"at_least_of": k, "of": children})
    assert (e.test, e.k, e.passed, e.decided_by) == ("at_least_of", k, passed, decided_by)


def test_at_least_of_cannot_ask_for_more_than_it_has():
    with pytest.raises(ValidationError, match="at_least_of: 3 is more than the 2 conditions given"):
        cond({"at_least_of": 3, "of": [YES, NO]})


def test_combinators_nest():
    events = [ev("purchase", days_ago(1))]
    e = check(
        {"all": [{"any": [NO, {"not": {"label": "banned"}}]}, {"count": "purchase", "at_least": 1}]}, events
    )
    assert e.passed
    assert [leaf.test for leaf in e.leaves()] == ["count", "label", "count"]


def test_empty_combinators_are_rejected():
    for data in ({"all": []}, {"any": []}, {"at_least_of": 0, "of": []}):
        with pytest.raises(ValidationError):
            cond(data)


def test_unknown_condition_kind_is_rejected():
    with pytest.raises(ValidationError, match="is not a condition"):
        cond({"counts": "purchase", "at_least": 1})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        cond({"count": "purchase", "at_least": 1, "whithin": "7d"})


# -- windows -----------------------------------------------------------------------------


def test_within_is_the_closed_interval_ending_at_at():
    start = go.parse_duration("7d").before(AT, TZ)
    events = [
        ev("checkin", start),  # exactly at at-7d: counts
        ev("checkin", start - timedelta(seconds=1)),  # a second earlier: does not
        ev("checkin", AT),  # exactly at: counts
        ev("checkin", AT + timedelta(seconds=1)),  # after at: never counts
    ]
    e = check({"count": "checkin", "within": "7d", "at_least": 2}, events)
    assert e.observed == 2
    assert e.window == "within 7d" and e.window_start == start


def test_within_days_are_calendar_days_across_dst():
    at = datetime(2026, 3, 29, 20, tzinfo=BERLIN)
    week_ago = datetime(2026, 3, 22, 20, tzinfo=BERLIN)  # 167 elapsed hours earlier
    # 168 elapsed hours earlier is 19:00 local: outside the window ("at - timedelta" on a
    # zoned datetime would be wall-clock arithmetic, so subtract in UTC)
    events = [ev("checkin", week_ago), ev("checkin", at.astimezone(UTC) - timedelta(hours=168))]
    e = check({"count": "checkin", "within": "7d", "at_least": 1}, events, at=at, tz=BERLIN)
    assert e.observed == 1


@pytest.mark.parametrize("anchor", ["joined", "evicted", "revived", "promoted"])
def test_since_a_membership_moment(anchor):
    moment = days_ago(10)
    ms = membership(**{f"{anchor}_at": moment} | ({"joined_at": days_ago(50)} if anchor != "joined" else {}))
    events = [
        ev("payment", moment - timedelta(seconds=1)),
        ev("payment", moment),
        ev("payment", days_ago(1)),
        ev("payment", AT + timedelta(days=1)),
    ]
    e = check({"count": "payment", "since": anchor, "at_least": 2}, events, membership=ms)
    assert e.observed == 2 and e.passed
    assert e.window == f"since {anchor}" and e.window_start == moment


def test_since_period_start_comes_from_the_context():
    events = [ev("checkin", days_ago(d)) for d in (1, 3, 8)]
    e = check({"count": "checkin", "since": "period_start", "at_least": 1}, events, period_start=days_ago(7))
    assert e.observed == 2


@pytest.mark.parametrize("anchor", ["evicted", "revived", "promoted", "period_start"])
def test_a_missing_anchor_gives_an_empty_window(anchor):
    events = [ev("payment", days_ago(d)) for d in (1, 2, 3)]
    e = check({"count": "payment", "since": anchor, "below": 1}, events, membership=membership())
    assert e.observed == 0 and e.passed
    assert e.window_start is None


def test_an_anchor_after_at_gives_an_empty_window():
    events = [ev("payment", AT), ev("payment", days_ago(1))]
    ms = membership(evicted_at=AT + timedelta(days=1))
    assert check({"count": "payment", "since": "evicted", "at_most": 0}, events, membership=ms).passed


def test_within_and_since_are_exclusive():
    with pytest.raises(ValidationError, match="either 'within' or 'since'"):
        cond({"count": "x", "within": "7d", "since": "joined", "at_least": 1})


# -- scope -------------------------------------------------------------------------------

SCOPED = [
    ev("purchase", days_ago(1), group="camp", value=1),
    ev("purchase", days_ago(2), group="other", value=10),
    ev("purchase", days_ago(3), group=None, value=100),  # member-wide (the shop)
]


def test_group_scope_is_that_group_plus_member_wide_events():
    assert check({"count": "purchase", "scope": "group", "at_least": 0}, SCOPED).observed == 2
    assert check({"sum": "purchase", "scope": "group", "at_least": 0}, SCOPED).observed == 101
    assert check({"distinct_days": "purchase", "scope": "group", "at_least": 0}, SCOPED).observed == 2
    # the "other" group's purchase is the most recent outside camp: not seen
    assert check({"days_since": "purchase", "at_least": 0}, SCOPED[1:]).observed == 3


def test_member_scope_is_every_event_of_the_member():
    assert check({"count": "purchase", "scope": "member", "at_least": 0}, SCOPED).observed == 3
    assert check({"sum": "purchase", "scope": "member", "at_least": 0}, SCOPED).observed == 111
    assert check({"days_since": "purchase", "scope": "member", "at_least": 0}, SCOPED[1:]).observed == 2


def test_the_context_default_scope_applies_unless_the_leaf_says_otherwise():
    leaf = {"count": "purchase", "at_least": 0}
    assert check(leaf, SCOPED).scope == "group"
    e = check(leaf, SCOPED, default_scope="member")
    assert (e.observed, e.scope) == (3, "member")
    e = check(leaf | {"scope": "group"}, SCOPED, default_scope="member")
    assert (e.observed, e.scope) == (2, "group")


def test_the_policy_default_scopes():
    assert go.rules.Admission.default_scope == "member"
    assert (
        go.rules.Eviction.default_scope
        == go.rules.Revival.default_scope
        == go.rules.Ladder.default_scope
        == "group"
    )


def test_other_members_events_are_never_counted():
    community = go.rules.Community(
        TZ, [ev("purchase", days_ago(1), member="m2"), ev("purchase", days_ago(1))]
    )
    ctx = go.rules.Context(at=AT, tz=TZ, history=community.history("m1"), group="camp")
    assert go.rules.evaluate(cond({"count": "purchase", "scope": "member", "at_least": 0}), ctx).observed == 1
    assert community.members() == {"m1", "m2"}
    assert community.history("nobody").count("purchase", None, None, AT) == 0


# -- insertion order and duplicates --------------------------------------------------------


def _answers(h):
    out = []
    for kind, group in itertools.product(("checkin", "purchase"), ("camp", None)):
        for days in (1, 3, 10, 40):
            start = days_ago(days)
            for end in (AT, days_ago(2), days_ago(5.5)):
                out.append(
                    (
                        h.count(kind, group, start, end),
                        h.total(kind, "value", group, start, end),
                        h.total(kind, "amount", group, start, end),
                        h.distinct_days(kind, group, start, end),
                        h.last_at(kind, group, end),
                    )
                )
    return out


def _mixed_events():
    rng = random.Random(7)
    out = []
    for i in range(60):
        out.append(
            go.Event(
                id=f"x{i}",
                kind=rng.choice(["checkin", "purchase"]),
                member="m1",
                group=rng.choice(["camp", "other", None]),
                at=AT - timedelta(minutes=rng.randrange(0, 60 * 24 * 30)),
                value=rng.randrange(0, 8) / 4,  # quarters: sums are exact in any order
                data={"amount": rng.randrange(0, 100)} if rng.random() < 0.7 else {},
            )
        )
    return out


@pytest.mark.parametrize("seed", range(5))
def test_out_of_order_insertion_gives_the_same_answers(seed):
    events = _mixed_events()
    in_order = go.rules.Community(TZ, sorted(events, key=lambda e: e.at))
    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)
    out_of_order = go.rules.Community(TZ)
    # ask questions between insertions too, so cached prefix sums must be rebuilt
    for i, event in enumerate(shuffled):
        out_of_order.add(event)
        if i % 17 == 0:
            _answers(out_of_order.history("m1"))
    assert _answers(out_of_order.history("m1")) == _answers(in_order.history("m1"))


def test_duplicate_event_ids_are_ignored():
    first = ev("purchase", days_ago(1), value=5, id="order-1")
    again = ev("purchase", days_ago(2), value=500, id="order-1")  # same id, different content
    community = go.rules.Community(TZ)
    assert community.add(first) is True
    assert community.add(again) is False
    assert community.add_all([first, again, ev("purchase", days_ago(3), id="order-2")]) == 1
    ctx = go.rules.Context(at=AT, tz=TZ, history=community.history("m1"), group="camp")
    e = go.rules.evaluate(cond({"sum": "purchase", "at_least": 0}), ctx)
    assert e.observed == 5 + 1


def test_context_reads_at_in_the_book_zone_and_refuses_naive_times():
    ctx = go.rules.Context(at=AT.astimezone(UTC), tz=TZ, history=history([]), group="camp")
    assert ctx.at == AT and ctx.at.utcoffset() == timedelta(hours=8)
    with pytest.raises(ValueError, match="naive"):
        go.rules.Context(at=datetime(2026, 1, 1), tz=TZ, history=history([]), group="camp")
