"""``holds`` (the fast verdict every admission and ladder step is decided by) agrees with
``evaluate`` (the explanation an operator reads), and the edges that mutation testing
found unguarded: a window's start for sums and distinct days, a window anchored at the
evaluated instant, attributes without a profile, conditions built from Python objects,
metrics inside combinators."""

from datetime import datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from test_rules_properties import (
    CONDITION,
    GROUP,
    TZ,
    combinations,
    fact_leaves,
    naive_holds,
    scenarios,
)

import groupops as go
from groupops.rules._evaluate import holds

CITIES = ["杭州", "上海"]
profile_leaves = st.one_of(
    st.builds(
        lambda labels: {"label": labels},
        st.lists(st.sampled_from(["A", "B+", "vip"]), min_size=1, max_size=2),
    ),
    st.builds(
        lambda roles: {"role": roles}, st.lists(st.sampled_from(["member", "active", "core"]), min_size=1)
    ),
    st.builds(lambda c: {"attr": "city", "in": c}, st.lists(st.sampled_from(CITIES), min_size=1)),
    st.builds(
        lambda op, n: {"attr": "orders", op: n},
        st.sampled_from(["at_least", "at_most", "above", "below", "equals"]),
        st.integers(0, 4),
    ),
    st.builds(
        lambda op, n: {"metric": "likes", op: n}, st.sampled_from(["at_least", "below"]), st.integers(0, 4)
    ),
)
every_condition = st.recursive(st.one_of(fact_leaves, profile_leaves), combinations, max_leaves=6)
profiles = st.one_of(
    st.none(),
    st.builds(
        lambda labels, city, orders: go.Member(
            id="m1",
            labels=labels,
            attributes={k: v for k, v in (("city", city), ("orders", orders)) if v is not None},
        ),
        st.lists(st.sampled_from(["A", "B+", "vip"]), max_size=2, unique=True),
        st.one_of(st.none(), st.sampled_from(CITIES)),
        st.one_of(st.none(), st.integers(0, 5)),
    ),
)


def likes(history, *, group, start, end):
    """A metric plugin: how many ``message`` events the member had in the window."""
    return float(history.count("message", group, start, end))


def context(sc, member=None, role="member"):
    membership = sc.membership.model_copy(update={"role": role})
    return go.rules.Context(
        at=sc.at,
        tz=TZ,
        history=go.rules.Community(TZ, sc.events).history("m1"),
        group=GROUP,
        member=member,
        membership=membership,
        period_start=sc.period_start,
        metrics={"likes": likes},
    )


@given(
    cond=every_condition,
    data=st.data(),
    member=profiles,
    role=st.sampled_from(["member", "active", "core"]),
)
def test_holds_is_the_verdict_of_evaluate(cond, data, member, role):
    sc = data.draw(scenarios(cond=cond))
    ctx = context(sc, member, role)
    parsed = CONDITION.validate_python(cond)
    explained = go.rules.evaluate(parsed, ctx)
    assert holds(parsed, ctx) is explained.passed
    # and the combinators combine their leaves' verdicts as the naive reading says
    assert explained.passed is naive_holds(cond, iter([leaf.passed for leaf in explained.leaves()]))


def at_least_of(k, n_true, n_false):
    false = {"label": "never-given"}
    true = {"not": false}
    return {"at_least_of": k, "of": [true] * n_true + [false] * n_false}


@given(k=st.integers(0, 4), n_true=st.integers(0, 3), n_false=st.integers(0, 3))
def test_at_least_of_holds_exactly_when_k_children_do(k, n_true, n_false):
    assume(n_true + n_false > 0)
    ctx = ctx_with([])
    parsed = CONDITION.validate_python(at_least_of(min(k, n_true + n_false), n_true, n_false))
    need = min(k, n_true + n_false)
    assert holds(parsed, ctx) is (n_true >= need)
    assert go.rules.evaluate(parsed, ctx).passed is (n_true >= need)


# -- edges, by example ---------------------------------------------------------------------

AT = datetime(2026, 5, 10, 20, 0, tzinfo=TZ)


def ev(kind, at, value=1.0, id=None):
    return go.Event(
        id=id or f"{kind}-{at.isoformat()}-{value}", kind=kind, member="m1", group=GROUP, at=at, value=value
    )


def ctx_with(events, *, member=None, membership=None, metrics=None):
    return go.rules.Context(
        at=AT,
        tz=TZ,
        history=go.rules.Community(TZ, events).history("m1"),
        group=GROUP,
        member=member,
        membership=membership,
        metrics=metrics or {},
    )


def both(cond, ctx):
    parsed = CONDITION.validate_python(cond) if isinstance(cond, dict) else cond
    exp = go.rules.evaluate(parsed, ctx)
    assert holds(parsed, ctx) is exp.passed
    return exp


def test_sum_and_distinct_days_count_only_from_the_window_start():
    inside, outside = AT - timedelta(days=2), AT - timedelta(days=9)
    events = [ev("purchase", inside, 30.0), ev("purchase", outside, 70.0)]
    ctx = ctx_with(events)
    assert both({"sum": "purchase", "within": "7d", "at_least": 30}, ctx).observed == 30.0
    assert not both({"sum": "purchase", "within": "7d", "at_least": 31}, ctx).passed
    assert both({"distinct_days": "purchase", "within": "7d", "at_least": 1}, ctx).observed == 1
    assert not both({"distinct_days": "purchase", "within": "7d", "at_least": 2}, ctx).passed
    assert both({"distinct_days": "purchase", "within": "10d", "at_least": 2}, ctx).passed


def test_a_window_anchored_at_the_evaluated_instant_is_empty_but_not_missing():
    joined_now = go.Membership(member="m1", group=GROUP, joined_at=AT)
    events = [ev("checkin", AT - timedelta(hours=1)), ev("checkin", AT)]
    ctx = ctx_with(events, membership=joined_now)
    # the window (joined, at] holds only the event exactly at ``at``
    assert both({"count": "checkin", "since": "joined", "at_least": 1}, ctx).observed == 1
    assert not both({"count": "checkin", "since": "joined", "at_least": 2}, ctx).passed
    assert both({"tenure": "joined", "at_most": 0}, ctx).observed == 0


def test_an_attribute_without_a_profile_fails_every_test_including_its_negation_passing():
    ctx = ctx_with([])
    assert not both({"attr": "orders", "at_least": 0}, ctx).passed
    assert not both({"attr": "city", "in": CITIES}, ctx).passed
    assert both({"not": {"attr": "orders", "at_least": 0}}, ctx).passed


def test_each_numeric_attribute_comparator_can_fail():
    ctx = ctx_with([], member=go.Member(id="m1", attributes={"orders": 3}))
    for op, limit, passes in [
        ("at_least", 3, True),
        ("at_least", 4, False),
        ("at_most", 3, True),
        ("at_most", 2, False),
        ("above", 2, True),
        ("above", 3, False),
        ("below", 4, True),
        ("below", 3, False),
        ("equals", 3, True),
        ("equals", 2, False),
    ]:
        assert both({"attr": "orders", op: limit}, ctx).passed is passes, (op, limit)


def test_conditions_built_from_python_objects_evaluate_like_parsed_ones():
    events = [ev("purchase", AT - timedelta(days=d)) for d in (1, 2, 3)]
    ctx = ctx_with(events, member=go.Member(id="m1", labels=["A"]))
    built = go.rules.AllOf(
        all=[
            go.rules.Count(count="purchase", within="7d", at_least=3),
            go.rules.AnyOf(
                any=[go.rules.Label(label=["vip"]), go.rules.Not(**{"not": go.rules.Label(label=["B"])})]
            ),
        ]
    )
    parsed = CONDITION.validate_python(
        {
            "all": [
                {"count": "purchase", "within": "7d", "at_least": 3},
                {"any": [{"label": "vip"}, {"not": {"label": "B"}}]},
            ]
        }
    )
    assert both(built, ctx).passed and both(parsed, ctx).passed
    assert not both(go.rules.Count(count="purchase", within="7d", at_least=4), ctx).passed


def test_a_metric_inside_combinators_is_called_with_its_window():
    calls = []

    def metric(history, *, group, start, end):
        calls.append((group, start, end))
        return 5.0

    ctx = ctx_with([], metrics={"reactions": metric})
    cond = {"any": [{"label": "vip"}, {"all": [{"metric": "reactions", "within": "7d", "at_least": 5}]}]}
    assert both(cond, ctx).passed
    assert calls[0] == (GROUP, AT - timedelta(days=7), AT)
    assert not both({"not": {"metric": "reactions", "within": "7d", "at_least": 5}}, ctx).passed


# -- what an explanation shows (mutants of the explanation fields survived) ------------------


def test_days_are_whole_unless_rounding_down_would_contradict_an_equals():
    joined = go.Membership(member="m1", group=GROUP, joined_at=AT - timedelta(days=3, hours=12))
    ctx = ctx_with([], membership=joined)
    failing = both({"tenure": "joined", "equals": 3}, ctx)
    assert not failing.passed
    assert "3.5 days" in failing.summary("en")  # "3 days" would read as a pass
    assert "3 days" in both({"tenure": "joined", "at_least": 3}, ctx).summary("en")


def test_days_since_shows_the_scope_it_counted_in():
    ctx = go.rules.Context(
        at=AT, tz=TZ, history=go.rules.Community(TZ, []).history("m1"), group=GROUP, default_scope="member"
    )
    assert both({"days_since": "checkin", "at_least": 1}, ctx).scope == "member"
    assert both({"days_since": "checkin", "scope": "group", "at_least": 1}, ctx).scope == "group"


def test_label_and_role_leaves_show_what_they_asked_for():
    ms = go.Membership(member="m1", group=GROUP, joined_at=AT, role="core")
    ctx = ctx_with([], member=go.Member(id="m1", labels=["A"]), membership=ms)
    label = both({"label": ["A", "B+"]}, ctx)
    assert label.subject == ["A", "B+"] and label.observed == ["A"]
    role = both({"role": ["active", "core"]}, ctx)
    assert role.subject == ["active", "core"] and role.observed == "core"


def test_attributes_show_true_false_and_numbers_as_written_in_a_rule_book():
    ctx = ctx_with([], member=go.Member(id="m1", attributes={"verified": True, "orders": 3}))
    assert both({"attr": "verified", "equals": True}, ctx).observed == "true"
    orders = both({"attr": "orders", "at_least": 2}, ctx)
    assert orders.observed == 3.0 and isinstance(orders.observed, float)


def test_only_a_sum_names_the_field_it_added_up():
    ctx = ctx_with([ev("purchase", AT - timedelta(days=1), 5.0)])
    assert both({"sum": "purchase", "field": "value", "at_least": 1}, ctx).field == "value"
    assert both({"count": "purchase", "at_least": 1}, ctx).field is None


def test_at_least_of_is_decided_by_the_children_that_reached_k():
    cond = {"at_least_of": 2, "of": [{"not": {"label": "x"}}, {"label": "x"}, {"not": {"label": "y"}}]}
    exp = both(cond, ctx_with([]))
    assert exp.passed and exp.k == 2
    assert exp.decided_by == (0, 2)


def test_an_unregistered_metric_lists_the_registered_ones_or_none():
    cond = {"metric": "likes", "at_least": 1}
    with pytest.raises(go.PluginError, match=r"\(registered: none\)$"):
        go.rules.evaluate(CONDITION.validate_python(cond), ctx_with([]))
    with pytest.raises(go.PluginError, match=r"\(registered: a, b\)$"):
        holds(CONDITION.validate_python(cond), ctx_with([], metrics={"b": likes, "a": likes}))


def test_something_that_is_not_a_condition_is_named_in_the_error():
    for fn in (go.rules.evaluate, holds):
        with pytest.raises(TypeError, match=r"not a condition: 'count purchase'"):
            fn("count purchase", ctx_with([]))


def test_the_mapping_form_is_any_mapping_not_only_a_dict():
    # evaluate and holds are typed ``Condition | Mapping[str, object]``: a read-only
    # mapping (a frozen config, a YAML loader's own type) is the mapping form too
    from types import MappingProxyType

    ctx = ctx_with([ev("checkin", AT - timedelta(days=1))])
    frozen = MappingProxyType({"count": "checkin", "within": "7d", "at_least": 1})
    assert go.rules.holds(frozen, ctx) is True
    assert go.rules.evaluate(frozen, ctx).observed == 1
    assert go.rules.compile_condition(frozen, at=AT, tz=TZ).holds(ctx)


def test_a_book_finds_the_metrics_its_conditions_use_at_any_depth():
    book = go.RuleBook.model_validate(
        {
            "timezone": "Asia/Shanghai",
            "groups": [{"id": "camp"}, {"id": "vip"}],
            "policies": [
                {
                    "id": "paid",
                    "type": "admission",
                    "from": ["camp"],
                    "to": "vip",
                    "when": {
                        "all": [
                            {"any": [{"metric": "a", "at_least": 1}, {"label": "x"}]},
                            {"not": {"metric": "b", "at_least": 1}},
                            {"at_least_of": 1, "of": [{"metric": "c", "at_least": 1}]},
                        ]
                    },
                }
            ],
        }
    )
    assert book.metrics_used() == {"a", "b", "c"}
