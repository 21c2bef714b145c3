"""Compiled conditions (rules/_compile.py): the verdict, the verdict from pre-aggregated
facts and the explanation come from one compiled form, and agree with the evaluator as it
was before compilation (``_old_evaluate``, kept verbatim) and with the naive reference of
test_rules_properties, for generated conditions and scenarios (a DST zone, window edges,
member profiles, roles, metrics)."""

from datetime import datetime, timedelta

import _old_evaluate as old
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from test_rules_holds import every_condition, likes, profiles
from test_rules_properties import (
    CONDITION,
    GROUP,
    TZ,
    combinations,
    comparators,
    fact_conditions,
    fact_leaves,
    naive_compare,
    naive_holds,
    naive_leaves,
    naive_observed,
    scenarios,
    scopes,
    windows,
)

import groupops as go
from groupops.plugins._manager import Plugins
from groupops.rules._evaluate import compiled_for, holds


def context(sc, member=None, role="member", default_scope="group", metrics=None):
    return go.rules.Context(
        at=sc.at,
        tz=TZ,
        history=go.rules.Community(TZ, sc.events).history("m1"),
        group=GROUP,
        member=member,
        membership=sc.membership.model_copy(update={"role": role}),
        period_start=sc.period_start,
        default_scope=default_scope,
        metrics={"likes": likes} if metrics is None else metrics,
    )


def compiled(cond, ctx):
    return go.rules.compile_condition(
        cond, at=ctx.at, tz=ctx.tz, default_scope=ctx.default_scope, metrics=ctx.metrics
    )


@given(
    cond=every_condition,
    data=st.data(),
    member=profiles,
    role=st.sampled_from(["member", "active", "core"]),
    default_scope=st.sampled_from(["group", "member"]),
)
def test_the_compiled_verdict_and_explanation_are_what_the_old_evaluator_said(
    cond, data, member, role, default_scope
):
    sc = data.draw(scenarios(cond=cond))
    ctx = context(sc, member, role, default_scope)
    parsed = CONDITION.validate_python(cond)
    c = compiled(parsed, ctx)
    before = old.evaluate(parsed, ctx)
    verdict = c.holds(ctx)
    # one verdict, whichever way it is asked for
    assert verdict is before.passed is old.holds(parsed, ctx)
    assert c.decide(c.measure(ctx)) is verdict
    assert holds(parsed, ctx) is verdict and holds(cond, ctx) is verdict
    # the explanation, leaf by leaf and combinator by combinator, is the old one
    explained = c.explain(ctx)
    assert explained == before
    assert explained.model_dump() == before.model_dump()
    assert go.rules.evaluate(parsed, ctx) == before and go.rules.evaluate(cond, ctx) == before
    # and the row the verdict is decided from is what the explanation shows
    for spec, value, leaf in zip(c.leaves, c.measure(ctx), before.leaves(), strict=True):
        if spec.test != "attr":  # attr values are shown as text or float
            assert value == leaf.observed, (spec, value, leaf)


@given(cond=fact_conditions, data=st.data(), default_scope=st.sampled_from(["group", "member"]))
def test_the_compiled_verdict_is_the_naive_loops_verdict(cond, data, default_scope):
    sc = data.draw(scenarios(cond=cond))
    ctx = context(sc, default_scope=default_scope, metrics={})
    c = compiled(cond, ctx)
    row = c.measure(ctx)
    verdicts = []
    for leaf, got in zip(naive_leaves(cond), row, strict=True):
        want = naive_observed(leaf, sc.events, sc.at, sc.membership, sc.period_start, default_scope)
        assert got == want, (leaf, got, want)
        verdicts.append(naive_compare(want, leaf))
    assert c.holds(ctx) is naive_holds(cond, iter(verdicts)) is c.decide(row)


@given(cond=every_condition, first=scenarios(), second=scenarios(), member=profiles)
def test_one_compiled_form_serves_every_member_at_its_instant(cond, first, second, member):
    # compiled once for the first member's instant, it decides the second member (other
    # events, other joined/evicted/period start) as evaluating from scratch would
    second.at = first.at
    a, b = context(first, member), context(second)
    c = compiled(cond, a)
    for ctx in (a, b):
        assert c.holds(ctx) is old.holds(CONDITION.validate_python(cond), ctx)
        assert c.explain(ctx) == old.evaluate(CONDITION.validate_python(cond), ctx)


metric_leaves = st.builds(lambda w, s, c: {"metric": "seen", **w, **s, **c}, windows, scopes, comparators)
metric_conditions = st.recursive(st.one_of(metric_leaves, fact_leaves), combinations, max_leaves=4)


@given(cond=metric_conditions, data=st.data(), default_scope=st.sampled_from(["group", "member"]))
def test_a_metric_is_asked_with_the_group_and_window_the_old_evaluator_gave(cond, data, default_scope):
    sc = data.draw(scenarios(cond=cond))
    calls = {"old": [], "new": []}

    def recording(into):
        def seen(history, *, group, start, end):
            calls[into].append((group, start, end))
            return float(history.count("message", group, start, end))

        return {"seen": seen}

    parsed = CONDITION.validate_python(cond)
    before = old.evaluate(parsed, context(sc, default_scope=default_scope, metrics=recording("old")))
    c = compiled(parsed, context(sc, default_scope=default_scope, metrics=recording("new")))
    after = c.explain(context(sc, default_scope=default_scope, metrics=recording("new")))
    assert after == before
    assert calls["new"] == calls["old"]
    assert [spec.test for spec in c.leaves] == [leaf.test for leaf in before.leaves()]


# -- by example -----------------------------------------------------------------------------

AT = datetime(2026, 11, 22, 20, tzinfo=TZ)
EVICT = {
    "any": [{"days_since": "checkin", "at_least": 7}, {"count": "violation", "within": "30d", "at_least": 3}]
}


def ev(kind, at, id=None):
    return go.Event(id=id or f"{kind}-{at.isoformat()}", kind=kind, member="m1", group=GROUP, at=at)


def ctx_with(events=(), *, at=AT, metrics=None, membership=None):
    return go.rules.Context(
        at=at,
        tz=TZ,
        history=go.rules.Community(TZ, events).history("m1"),
        group=GROUP,
        membership=membership,
        metrics=metrics or {},
    )


def test_decide_takes_pre_aggregated_facts_in_leaf_order():
    c = go.rules.compile_condition(EVICT, at=AT, tz=TZ)
    assert [(leaf.test, leaf.leaf.comparators()) for leaf in c.leaves] == [
        ("days_since", {"at_least": 7.0}),
        ("count", {"at_least": 3.0}),
    ]
    assert c.decide([7.0, 0]) and c.decide([float("inf"), 0]) and c.decide([0.5, 3])
    assert not c.decide([6.9, 2])


def test_the_mapping_form_the_docs_teach_evaluates_like_the_parsed_one():
    ctx = ctx_with([ev("checkin", AT - timedelta(days=8))])
    assert go.rules.evaluate(EVICT, ctx) == go.rules.evaluate(CONDITION.validate_python(EVICT), ctx)
    assert go.rules.evaluate(EVICT, ctx).passed and holds(EVICT, ctx)


def test_a_mapping_that_is_no_condition_names_the_problem():
    with pytest.raises(ValidationError, match="at_leest"):
        go.rules.evaluate({"count": "checkin", "at_leest": 3}, ctx_with())
    with pytest.raises(TypeError, match=r"not a condition: 'checkin'"):
        go.rules.evaluate("checkin", ctx_with())
    with pytest.raises(TypeError, match="not a condition"):
        go.rules.compile_condition(["count"], at=AT, tz=TZ)


def test_a_condition_is_compiled_once_per_instant_and_metrics():
    cond = CONDITION.validate_python(EVICT)
    ctx = ctx_with()
    assert compiled_for(cond, ctx) is compiled_for(cond, ctx_with([ev("checkin", AT)]))
    assert compiled_for(cond, ctx) is not compiled_for(cond, ctx_with(at=AT + timedelta(days=1)))
    assert compiled_for(cond, ctx) is not compiled_for(CONDITION.validate_python(EVICT), ctx)


def test_each_context_uses_its_own_metrics_even_for_a_cached_condition():
    cond = CONDITION.validate_python({"metric": "score", "at_least": 5})
    low = ctx_with(metrics={"score": lambda h, *, group, start, end: 1.0})
    high = ctx_with(metrics={"score": lambda h, *, group, start, end: 9.0})
    assert not holds(cond, low)
    assert holds(cond, high)
    assert go.rules.evaluate(cond, low).observed == 1.0 and go.rules.evaluate(cond, high).observed == 9.0


def test_window_bounds_are_fixed_at_compile_time_and_anchors_read_per_member():
    c = go.rules.compile_condition({"count": "checkin", "since": "joined", "at_least": 1}, at=AT, tz=TZ)
    seen = [ev("checkin", AT - timedelta(days=5))]
    early = go.Membership(member="m1", group=GROUP, joined_at=AT - timedelta(days=10))
    late = go.Membership(member="m1", group=GROUP, joined_at=AT - timedelta(days=2))
    assert c.holds(ctx_with(seen, membership=early))
    assert not c.holds(ctx_with(seen, membership=late))
    assert not c.holds(ctx_with(seen))  # never joined: the window is empty
    assert c.explain(ctx_with(seen, membership=late)).window_start == late.joined_at


def test_a_metric_no_plugin_registers_fails_only_where_it_is_measured():
    cond = {"any": [{"not": {"label": "x"}}, {"metric": "ghost", "at_least": 1}]}
    ctx = ctx_with(metrics={"likes": likes})
    assert holds(cond, ctx)  # decided by the first child: the metric is never asked
    with pytest.raises(
        go.PluginError, match=r"metric 'ghost' is not registered by any plugin \(registered: likes\)"
    ):
        go.rules.evaluate(cond, ctx)
    with pytest.raises(go.PluginError, match=r"registered: none"):
        holds({"metric": "ghost", "at_least": 1}, ctx_with())


def test_a_plugin_metric_that_raises_is_a_plugin_error_naming_the_plugin():
    class Live:
        @go.hookimpl
        def groupops_register_metrics(self, register):
            def live(history, *, group, start, end):
                if history.kinds():
                    raise ZeroDivisionError("division by zero")
                return 5.0 if start is not None and end == AT else 0.0

            register("live_minutes", live)

    metrics = Plugins([Live()], entry_points=False).metrics()
    cond = {"all": [{"not": {"label": "x"}}, {"metric": "live_minutes", "within": "7d", "at_least": 5}]}
    c = go.rules.compile_condition(cond, at=AT, tz=TZ, metrics=metrics)
    assert c.holds(ctx_with(metrics=metrics)) and c.explain(ctx_with(metrics=metrics)).passed
    broken = ctx_with([ev("checkin", AT)], metrics=metrics)
    for call in (c.holds, c.explain, lambda ctx: go.rules.evaluate(cond, ctx)):
        with pytest.raises(go.PluginError, match="plugin 'Live' failed in metric 'live_minutes'") as info:
            call(broken)
        assert (info.value.plugin, info.value.hook) == ("Live", "metric 'live_minutes'")


def test_at_least_of_counts_passing_children_from_facts():
    cond = {"at_least_of": 2, "of": [{"count": k, "at_least": 1} for k in ("a", "b", "c")]}
    c = go.rules.compile_condition(cond, at=AT, tz=TZ)
    assert [c.decide(row) for row in ([1, 1, 0], [0, 1, 1], [1, 0, 0], [0, 0, 0], [1, 1, 1])] == [
        True,
        True,
        False,
        False,
        True,
    ]


def test_each_leaf_measures_and_checks_on_its_own():
    c = go.rules.compile_condition(EVICT, at=AT, tz=TZ)
    ctx = ctx_with([ev("checkin", AT - timedelta(days=8)), ev("violation", AT - timedelta(days=40))])
    days, violations = c.leaves
    assert (days.index, violations.index) == (0, 1)
    assert days.measure(ctx) == 8.0 and days.check(8.0) and not days.check(6.9)
    assert violations.measure(ctx) == 0.0 and not violations.check(2) and violations.check(3)
    assert c.measure(ctx) == (8.0, 0.0)
    assert c.leaves is c.leaves  # built once


def test_every_leaf_names_its_test_and_its_condition():
    # what a facts backend maps to its own queries: leaf i is observed as row[i]
    c = go.rules.compile_condition(
        {
            "all": [
                {"label": ["vip"]},
                {"role": ["admin"]},
                {"attr": "city", "in": ["上海"]},
                {"tenure": "joined", "at_least": 7},
                {"days_since": "checkin", "below": 7},
                {"distinct_days": "checkin", "within": "7d", "at_least": 2},
            ]
        },
        at=AT,
        tz=TZ,
    )
    assert [(spec.index, spec.test) for spec in c.leaves] == [
        (0, "label"),
        (1, "role"),
        (2, "attr"),
        (3, "tenure"),
        (4, "days_since"),
        (5, "distinct_days"),
    ]
    assert all(spec.leaf is leaf for spec, leaf in zip(c.leaves, c.condition.all, strict=True))


def test_a_condition_object_is_planned_once_and_the_mapping_form_each_time():
    # the generated code is the plan's: the same function at every instant
    evict, other = (
        CONDITION.validate_python(EVICT),
        CONDITION.validate_python({"count": "checkin", "at_least": 1}),
    )
    first = go.rules.compile_condition(evict, at=AT, tz=TZ).decide
    go.rules.compile_condition(other, at=AT, tz=TZ)
    assert go.rules.compile_condition(evict, at=AT + timedelta(days=1), tz=TZ).decide is first
    assert go.rules.compile_condition(evict, at=AT, tz=TZ, default_scope="member").decide is not first
    assert (
        go.rules.compile_condition(EVICT, at=AT, tz=TZ).decide
        is not go.rules.compile_condition(EVICT, at=AT, tz=TZ).decide
    )


def test_attribute_tests_each_fail_on_their_own():
    member = go.Member(id="m1", attributes={"city": "上海", "vip": True})
    ctx = go.rules.Context(
        at=AT, tz=TZ, history=go.rules.Community(TZ).history("m1"), group=GROUP, member=member
    )
    assert holds({"attr": "city", "in": ["上海"]}, ctx) and not holds({"attr": "city", "in": ["杭州"]}, ctx)
    assert holds({"attr": "vip", "equals": True}, ctx) and not holds({"attr": "vip", "equals": False}, ctx)
    assert not holds({"attr": "vip", "at_least": 0}, ctx)  # a boolean is not a number
    assert go.rules.evaluate({"attr": "vip", "equals": True}, ctx).observed == "true"


def test_the_caches_stay_bounded_and_still_answer():
    ctx = ctx_with([ev("checkin", AT - timedelta(days=1))])
    conditions = [
        CONDITION.validate_python({"days_since": "checkin", "at_most": float(i)}) for i in range(1100)
    ]
    assert [holds(c, ctx) for c in conditions] == [i >= 1 for i in range(1100)]
    assert [holds(c, ctx) for c in conditions[:3]] == [False, True, True]


def test_a_metric_counts_in_the_group_or_everywhere_as_its_scope_says():
    asked = []

    def score(history, *, group, start, end):
        asked.append(group)
        return 1.0

    metrics = {"score": score, "other": score}
    ctx = ctx_with(metrics=metrics)
    for scope, default, group in [
        ("member", "group", None),
        ("group", "member", GROUP),
        (None, "member", None),
    ]:
        leaf = {"metric": "score", "at_least": 1, **({"scope": scope} if scope else {})}
        c = go.rules.compile_condition(leaf, at=AT, tz=TZ, default_scope=default, metrics=metrics)
        assert c.holds(ctx) and asked[-1] == group
    with pytest.raises(go.PluginError, match=r"\(registered: other, score\)"):
        holds({"metric": "ghost", "at_least": 1}, ctx)


def test_a_metric_over_an_empty_anchored_window_is_zero_without_asking_the_plugin():
    asked = []

    def score(history, *, group, start, end):
        asked.append(start)
        return 5.0

    metrics = {"score": score}
    leaf = {"metric": "score", "since": "evicted", "at_most": 0}
    never = go.Membership(member="m1", group=GROUP, joined_at=AT - timedelta(days=3))
    later = never.model_copy(update={"evicted_at": AT + timedelta(seconds=1)})
    now = never.model_copy(update={"evicted_at": AT})
    assert holds(leaf, ctx_with(metrics=metrics, membership=never))
    assert holds(leaf, ctx_with(metrics=metrics, membership=later))
    assert asked == []
    assert not holds(leaf, ctx_with(metrics=metrics, membership=now))  # the window [at, at]
    assert asked == [AT]
