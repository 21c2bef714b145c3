"""The evaluator as it was before conditions were compiled (kept verbatim as a reference).

The laws in test_rules_compile.py hold the compiled form to it: same verdicts, same
explanation trees, leaf by leaf.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from groupops._errors import PluginError
from groupops.rules._conditions import (
    AllOf,
    AnyOf,
    AtLeastOf,
    Attr,
    Count,
    DaysSince,
    DistinctDays,
    Label,
    Metric,
    Not,
    Role,
    Sum,
    Tenure,
    _Windowed,
)
from groupops.rules._evaluate import Context
from groupops.rules._explain import Explanation, decisive_children

__all__ = ["evaluate", "holds"]

_DAY = 86400.0


def _elapsed_days(since: datetime, until: datetime) -> float:
    # via timestamps: subtracting two datetimes that share a tzinfo gives wall-clock time
    return (until.timestamp() - since.timestamp()) / _DAY


def window_start(leaf: _Windowed, ctx: Context) -> tuple[datetime | None, bool]:
    """``(start, empty)``: where the leaf's window starts, and whether it is empty
    because its anchor never happened."""
    if leaf.within is not None:
        return leaf.within.before(ctx.at, ctx.tz), False
    if leaf.since is not None:
        start = ctx.anchor(leaf.since)
        if start is None:
            return None, True
        return start, start > ctx.at
    return None, False


def _windowed(
    leaf: Any, ctx: Context, test: str, subject: str, measure: Callable[..., float], explain: bool
) -> Explanation | bool:
    start, empty = window_start(leaf, ctx)
    group = ctx.scope_group(leaf.scope)
    observed = 0.0 if empty else float(measure(group, start, ctx.at))
    passed: bool = leaf.check(observed)
    if not explain:
        return passed
    return Explanation.model_construct(
        test=test,
        passed=passed,
        subject=subject,
        observed=observed,
        expect=leaf.comparators(),
        window=leaf.window_text(),
        window_start=start,
        scope=leaf.scope or ctx.default_scope,
        field=getattr(leaf, "field", None) if test == "sum" else None,
    )


def _count(leaf: Count, ctx: Context, explain: bool) -> Explanation | bool:
    h = ctx.history
    return _windowed(leaf, ctx, "count", leaf.count, lambda g, s, e: h.count(leaf.count, g, s, e), explain)


def _sum(leaf: Sum, ctx: Context, explain: bool) -> Explanation | bool:
    h = ctx.history
    return _windowed(
        leaf, ctx, "sum", leaf.sum, lambda g, s, e: h.total(leaf.sum, leaf.field, g, s, e), explain
    )


def _distinct_days(leaf: DistinctDays, ctx: Context, explain: bool) -> Explanation | bool:
    h = ctx.history
    kind = leaf.distinct_days
    return _windowed(
        leaf, ctx, "distinct_days", kind, lambda g, s, e: h.distinct_days(kind, g, s, e), explain
    )


def _metric(leaf: Metric, ctx: Context, explain: bool) -> Explanation | bool:
    fn = ctx.metrics.get(leaf.metric)
    if fn is None:
        known = ", ".join(sorted(ctx.metrics)) or "none"
        raise PluginError(f"metric {leaf.metric!r} is not registered by any plugin (registered: {known})")
    h = ctx.history
    return _windowed(
        leaf, ctx, "metric", leaf.metric, lambda g, s, e: fn(h, group=g, start=s, end=e), explain
    )


def _days_since(leaf: DaysSince, ctx: Context, explain: bool) -> Explanation | bool:
    last = ctx.history.last_at(leaf.days_since, ctx.scope_group(leaf.scope), ctx.at)
    observed = math.inf if last is None else _elapsed_days(last, ctx.at)
    passed = leaf.check(observed)
    if not explain:
        return passed
    return Explanation.model_construct(
        test="days_since",
        passed=passed,
        subject=leaf.days_since,
        observed=observed,
        expect=leaf.comparators(),
        scope=leaf.scope or ctx.default_scope,
    )


def _tenure(leaf: Tenure, ctx: Context, explain: bool) -> Explanation | bool:
    since = ctx.anchor(leaf.tenure)
    observed = None if since is None else _elapsed_days(since, ctx.at)
    passed = observed is not None and leaf.check(observed)
    if not explain:
        return passed
    return Explanation.model_construct(
        test="tenure",
        passed=passed,
        subject=leaf.tenure,
        observed=observed,
        expect=leaf.comparators(),
    )


def _label(leaf: Label, ctx: Context, explain: bool) -> Explanation | bool:
    labels = list(ctx.member.labels) if ctx.member is not None else []
    passed = any(x in labels for x in leaf.label)
    if not explain:
        return passed
    return Explanation.model_construct(
        test="label",
        passed=passed,
        subject=list(leaf.label),
        observed=labels,
        expect={"has": list(leaf.label)},
    )


def _role(leaf: Role, ctx: Context, explain: bool) -> Explanation | bool:
    role = ctx.membership.role if ctx.membership is not None else None
    passed = role in leaf.role
    if not explain:
        return passed
    return Explanation.model_construct(
        test="role",
        passed=passed,
        subject=list(leaf.role),
        observed=role,
        expect={"role": list(leaf.role)},
    )


def _attr(leaf: Attr, ctx: Context, explain: bool) -> Explanation | bool:
    value = ctx.member.attributes.get(leaf.attr) if ctx.member is not None else None
    passed = leaf.check(value)
    if not explain:
        return passed
    shown: Any = value
    if isinstance(value, bool):
        shown = str(value).lower()
    elif isinstance(value, int):
        shown = float(value)
    return Explanation.model_construct(
        test="attr",
        passed=passed,
        subject=leaf.attr,
        observed=shown,
        expect=leaf.expectations(),
    )


def _combine(test: str, children: list[Explanation], k: int | None = None) -> Explanation:
    results = [c.passed for c in children]
    if test == "all":
        passed = all(results)
    elif test == "any":
        passed = any(results)
    elif test == "not":
        passed = not results[0]
    else:
        passed = sum(results) >= (k or 0)
    return Explanation.model_construct(
        test=test,
        passed=passed,
        k=k,
        children=tuple(children),
        decided_by=decisive_children(test, passed, results),
    )


def evaluate(condition: Any, ctx: Context) -> Explanation:
    """Evaluate ``condition`` in ``ctx``; the explanation says whether it holds and why.

    Every child of a combinator is evaluated (no short-circuit), so the explanation is
    complete: an operator sees every requirement, met or not.
    """
    if isinstance(condition, AllOf):
        return _combine("all", [evaluate(c, ctx) for c in condition.all])
    if isinstance(condition, AnyOf):
        return _combine("any", [evaluate(c, ctx) for c in condition.any])
    if isinstance(condition, Not):
        return _combine("not", [evaluate(condition.not_, ctx)])
    if isinstance(condition, AtLeastOf):
        return _combine("at_least_of", [evaluate(c, ctx) for c in condition.of], condition.at_least_of)
    leaf = _LEAVES.get(type(condition))
    if leaf is None:
        raise TypeError(f"not a condition: {condition!r}")
    result = leaf(condition, ctx, True)
    assert isinstance(result, Explanation)
    return result


def holds(condition: Any, ctx: Context) -> bool:
    """Whether ``condition`` holds, without building the explanation of passing parts."""
    if isinstance(condition, AllOf):
        return all(holds(c, ctx) for c in condition.all)
    if isinstance(condition, AnyOf):
        return any(holds(c, ctx) for c in condition.any)
    if isinstance(condition, Not):
        return not holds(condition.not_, ctx)
    if isinstance(condition, AtLeastOf):
        need = condition.at_least_of
        got = 0
        for c in condition.of:
            got += holds(c, ctx)
            if got >= need:
                return True
        return got >= need
    leaf = _LEAVES.get(type(condition))
    if leaf is None:
        raise TypeError(f"not a condition: {condition!r}")
    return bool(leaf(condition, ctx, False))


_LEAVES: dict[type, Callable[[Any, Context, bool], Explanation | bool]] = {
    Count: _count,
    Sum: _sum,
    DistinctDays: _distinct_days,
    DaysSince: _days_since,
    Tenure: _tenure,
    Metric: _metric,
    Label: _label,
    Role: _role,
    Attr: _attr,
}
