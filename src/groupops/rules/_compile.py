"""Conditions compiled, once per run and instant, into plain closures.

:func:`compile_condition` turns a condition, the instant ``at``, the book's time zone, the
default scope and the registered metrics into a :class:`CompiledCondition`: one measuring
function per leaf (window bounds fixed in advance as timestamps where they do not depend on
the member, anchors such as ``since: joined`` read from the membership), one test per leaf
(its comparators inlined), and the combinators as closures over those. Nothing on the
verdict path builds a pydantic object.

The same leaves serve three readers, so what they say can never disagree:

- :meth:`CompiledCondition.holds` decides for one member, measuring only the leaves it needs;
- :meth:`CompiledCondition.decide` decides from facts measured elsewhere (a row of observed
  values, one per leaf, in :attr:`CompiledCondition.leaves` order: pre-aggregated by a batch
  job, a database, or :meth:`CompiledCondition.measure`);
- :meth:`CompiledCondition.explain` builds the explanation tree, for the decisions made.

:func:`~groupops.evaluate` and ``holds`` are thin wrappers that compile (cached per condition
object and instant) and call these.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import TypeAdapter

from .._errors import PluginError
from ._conditions import (
    AllOf,
    AnyOf,
    AtLeastOf,
    Attr,
    Condition,
    Count,
    DaysSince,
    DistinctDays,
    Label,
    Metric,
    Not,
    Role,
    Scope,
    Sum,
    Tenure,
    _Compared,
    _Windowed,
)
from ._explain import Explanation, decisive_children
from ._time import to_zone

if TYPE_CHECKING:
    from .._model import Member, Membership
    from ._evaluate import MetricFunction
    from ._facts import History, Series

__all__ = ["CompiledCondition", "LeafSpec", "Subject", "compile_condition", "parse_condition"]

_DAY = 86400.0
_CONDITION: TypeAdapter[Any] = TypeAdapter(Condition)


class Subject(Protocol):
    """What a compiled condition reads of one member (a :class:`~groupops.Context` is one)."""

    @property
    def history(self) -> History: ...
    @property
    def group(self) -> str: ...
    @property
    def member(self) -> Member | None: ...
    @property
    def membership(self) -> Membership | None: ...
    @property
    def period_start(self) -> datetime | None: ...


Measure = Callable[[Subject], Any]
Test = Callable[[Any], bool]
Verdict = Callable[[Subject], bool]
RowVerdict = Callable[[Sequence[Any]], bool]
Describe = Callable[[Subject, Any, bool], Explanation]


@dataclass(frozen=True)
class LeafSpec:
    """One leaf of a compiled condition: what it measures and how it is judged.

    ``test`` is the condition's key (``count``, ``days_since``, ``label``, ...), ``leaf``
    the condition object itself; ``measure`` gives the observed value for a member and
    ``check`` whether that value passes. A row given to :meth:`CompiledCondition.decide`
    holds, at this leaf's index, what ``measure`` would have returned.
    """

    index: int
    test: str
    leaf: Any
    measure: Measure
    check: Test


def parse_condition(condition: Any) -> Any:
    """A condition model from a condition model or its mapping form (``{"count": ...}``).

    Raises :class:`pydantic.ValidationError` for a mapping that is not a condition and
    :class:`TypeError` for anything else.
    """
    if isinstance(condition, dict):
        return _CONDITION.validate_python(condition)
    if type(condition) not in _LEAF_TESTS and not isinstance(condition, AllOf | AnyOf | Not | AtLeastOf):
        raise TypeError(f"not a condition: {condition!r}")
    return condition


class CompiledCondition:
    """A condition compiled for one instant: verdicts, verdicts from facts, explanations.

    Build with :func:`compile_condition`. ``holds(subject)`` and ``explain(subject)`` take
    anything shaped like a :class:`~groupops.Context` (``history``, ``group``, ``member``,
    ``membership``, ``period_start``); ``at``, time zone, default scope and metrics are
    those the condition was compiled for.
    """

    __slots__ = ("_explain", "_row_verdict", "_verdict", "at", "condition", "leaves")

    def __init__(
        self,
        condition: Any,
        leaves: tuple[LeafSpec, ...],
        verdict: Verdict,
        row_verdict: RowVerdict,
        explain: Callable[[Subject], Explanation],
        at: datetime,
    ) -> None:
        self.condition = condition
        self.leaves = leaves
        self.at = at
        self._verdict = verdict
        self._row_verdict = row_verdict
        self._explain = explain

    def holds(self, subject: Subject) -> bool:
        """Whether the condition holds for ``subject`` (measures only what decides it)."""
        return self._verdict(subject)

    def measure(self, subject: Subject) -> tuple[Any, ...]:
        """Every leaf's observed value for ``subject``, in :attr:`leaves` order."""
        return tuple(leaf.measure(subject) for leaf in self.leaves)

    def decide(self, row: Sequence[Any]) -> bool:
        """Whether the condition holds, given each leaf's observed value in :attr:`leaves`
        order (as :meth:`measure` returns them, or pre-aggregated elsewhere)."""
        return self._row_verdict(row)

    def explain(self, subject: Subject) -> Explanation:
        """The explanation tree for ``subject``: every leaf observed, none skipped."""
        return self._explain(subject)


def compile_condition(
    condition: Any,
    *,
    at: datetime,
    tz: tzinfo,
    default_scope: Scope = "group",
    metrics: Mapping[str, MetricFunction] | None = None,
) -> CompiledCondition:
    """Compile ``condition`` (a model or its mapping form) for the instant ``at``.

    ``at`` must be timezone-aware; it is read in ``tz``, the rule book's time zone, in
    which calendar windows (``3mo``, ``2w``) are counted. A metric that no plugin
    registered raises :class:`~groupops.PluginError` when a member is first measured by
    it, as :func:`~groupops.evaluate` does.
    """
    cond = parse_condition(condition)
    at = to_zone(at, tz)
    builder = _Builder(at, tz, default_scope, metrics or {})
    tree = builder.build(cond)
    leaves = tuple(builder.leaves)
    return CompiledCondition(
        cond, leaves, _verdict(tree, leaves), _row_verdict(tree, leaves), _explainer(tree, builder), at
    )


# -- the tree -------------------------------------------------------------------------------
# A node is ("leaf", index) or (combinator, k, children); built once per compilation.

Node = tuple[Any, ...]


class _Builder:
    def __init__(self, at: datetime, tz: tzinfo, default_scope: Scope, metrics: Mapping[str, Any]) -> None:
        self.at = at
        self.end = at.timestamp()
        self.tz = tz
        self.default_scope = default_scope
        self.metrics = metrics
        self.leaves: list[LeafSpec] = []
        # per leaf: how to describe it in an explanation (observed -> Explanation)
        self.describers: list[Describe] = []

    def build(self, cond: Any) -> Node:
        if isinstance(cond, AllOf):
            return ("all", None, tuple(self.build(c) for c in cond.all))
        if isinstance(cond, AnyOf):
            return ("any", None, tuple(self.build(c) for c in cond.any))
        if isinstance(cond, Not):
            return ("not", None, (self.build(cond.not_),))
        if isinstance(cond, AtLeastOf):
            return ("at_least_of", cond.at_least_of, tuple(self.build(c) for c in cond.of))
        test = _LEAF_TESTS.get(type(cond))
        if test is None:
            raise TypeError(f"not a condition: {cond!r}")
        measure, check, describe = getattr(self, f"_{test}")(cond)
        index = len(self.leaves)
        self.leaves.append(LeafSpec(index, test, cond, measure, check))
        self.describers.append(describe)
        return ("leaf", index)

    # -- numeric leaves over events --------------------------------------------------------

    def _scope(self, leaf: Any) -> str:
        return str(leaf.scope or self.default_scope)

    def _window(self, leaf: _Windowed) -> Callable[[Subject], tuple[float | None, bool]]:
        """``subject -> (start timestamp or None, empty)``, fixed now where it can be."""
        end = self.end
        if leaf.within is not None:
            fixed: tuple[float | None, bool] = (leaf.within.before(self.at, self.tz).timestamp(), False)
            return lambda s: fixed
        if leaf.since is not None:
            anchor = _anchor_reader(leaf.since)

            def since(s: Subject) -> tuple[float | None, bool]:
                moment = anchor(s)
                if moment is None:
                    return None, True
                start = moment.timestamp()
                return start, start > end

            return since
        unbounded: tuple[float | None, bool] = (None, False)
        return lambda s: unbounded

    def _window_start(self, leaf: _Windowed, s: Subject) -> datetime | None:
        if leaf.within is not None:
            return leaf.within.before(self.at, self.tz)
        if leaf.since is not None:
            return _anchor_reader(leaf.since)(s)
        return None

    def _over_series(
        self, leaf: Any, kind: str, measure_parts: Callable[[tuple[Series, ...], float | None, float], float]
    ) -> Measure:
        window = self._window(leaf)
        member_wide = self._scope(leaf) == "member"
        end = self.end

        def measure(s: Subject) -> float:
            start, empty = window(s)
            if empty:
                return 0.0
            parts = s.history._parts(kind, None if member_wide else s.group)
            return float(measure_parts(parts, start, end))

        return measure

    def _windowed_describer(
        self, leaf: Any, test: str, subject: str
    ) -> Describe:
        scope = self._scope(leaf)
        expect = leaf.comparators()
        text = leaf.window_text()
        field = leaf.field if test == "sum" else None

        def describe(s: Subject, observed: Any, passed: bool) -> Explanation:
            return Explanation.model_construct(
                test=test,
                passed=passed,
                subject=subject,
                observed=observed,
                expect=dict(expect),
                window=text,
                window_start=self._window_start(leaf, s),
                scope=scope,
                field=field,
            )

        return describe

    def _count(self, leaf: Count) -> tuple[Measure, Test, Any]:
        def counted(parts: tuple[Series, ...], start: float | None, end: float) -> float:
            return sum(p.count(start, end) for p in parts)

        return (
            self._over_series(leaf, leaf.count, counted),
            _comparing(leaf),
            self._windowed_describer(leaf, "count", leaf.count),
        )

    def _sum(self, leaf: Sum) -> tuple[Measure, Test, Any]:
        field = leaf.field

        def total(parts: tuple[Series, ...], start: float | None, end: float) -> float:
            return sum(p.total(field, start, end) for p in parts)

        return (
            self._over_series(leaf, leaf.sum, total),
            _comparing(leaf),
            self._windowed_describer(leaf, "sum", leaf.sum),
        )

    def _distinct_days(self, leaf: DistinctDays) -> tuple[Measure, Test, Any]:
        def days(parts: tuple[Series, ...], start: float | None, end: float) -> float:
            present = [p for p in parts if len(p)]
            if not present:
                return 0
            if len(present) == 1:
                return present[0].distinct_days(start, end)
            return len(set().union(*(p.day_set(start, end) for p in present)))

        kind = leaf.distinct_days
        return (
            self._over_series(leaf, kind, days),
            _comparing(leaf),
            self._windowed_describer(leaf, "distinct_days", kind),
        )

    def _metric(self, leaf: Metric) -> tuple[Measure, Test, Any]:
        fn = self.metrics.get(leaf.metric)
        window = self._window(leaf)
        member_wide = self._scope(leaf) == "member"
        at = self.at
        registered = ", ".join(sorted(self.metrics)) or "none"

        def measure(s: Subject) -> float:
            if fn is None:
                raise PluginError(
                    f"metric {leaf.metric!r} is not registered by any plugin (registered: {registered})"
                )
            start, empty = window(s)
            if empty:
                return 0.0
            begin = None if start is None else self._window_start(leaf, s)
            return float(fn(s.history, group=None if member_wide else s.group, start=begin, end=at))

        return measure, _comparing(leaf), self._windowed_describer(leaf, "metric", leaf.metric)

    def _days_since(self, leaf: DaysSince) -> tuple[Measure, Test, Any]:
        kind = leaf.days_since
        member_wide = self._scope(leaf) == "member"
        end = self.end

        def measure(s: Subject) -> float:
            last: float | None = None
            for p in s.history._parts(kind, None if member_wide else s.group):
                t = p.last(end)
                if t is not None and (last is None or t > last):
                    last = t
            return math.inf if last is None else (end - last) / _DAY

        scope = self._scope(leaf)
        expect = leaf.comparators()

        def describe(s: Subject, observed: Any, passed: bool) -> Explanation:
            return Explanation.model_construct(
                test="days_since",
                passed=passed,
                subject=kind,
                observed=observed,
                expect=dict(expect),
                scope=scope,
            )

        return measure, _comparing(leaf), describe

    def _tenure(self, leaf: Tenure) -> tuple[Measure, Test, Any]:
        anchor = _anchor_reader(leaf.tenure)
        end = self.end

        def measure(s: Subject) -> float | None:
            since = anchor(s)
            return None if since is None else (end - since.timestamp()) / _DAY

        compare = _comparing(leaf)

        def check(observed: float | None) -> bool:
            return observed is not None and compare(observed)

        expect = leaf.comparators()

        def describe(s: Subject, observed: Any, passed: bool) -> Explanation:
            return Explanation.model_construct(
                test="tenure", passed=passed, subject=leaf.tenure, observed=observed, expect=dict(expect)
            )

        return measure, check, describe

    # -- profile leaves ---------------------------------------------------------------------

    def _label(self, leaf: Label) -> tuple[Measure, Test, Any]:
        wanted = leaf.label

        def measure(s: Subject) -> list[str]:
            return list(s.member.labels) if s.member is not None else []

        def check(labels: Sequence[str]) -> bool:
            return any(x in labels for x in wanted)

        def describe(s: Subject, observed: Any, passed: bool) -> Explanation:
            return Explanation.model_construct(
                test="label",
                passed=passed,
                subject=list(wanted),
                observed=observed,
                expect={"has": list(wanted)},
            )

        return measure, check, describe

    def _role(self, leaf: Role) -> tuple[Measure, Test, Any]:
        wanted = leaf.role

        def measure(s: Subject) -> str | None:
            return s.membership.role if s.membership is not None else None

        def check(role: str | None) -> bool:
            return role in wanted

        def describe(s: Subject, observed: Any, passed: bool) -> Explanation:
            return Explanation.model_construct(
                test="role",
                passed=passed,
                subject=list(wanted),
                observed=observed,
                expect={"role": list(wanted)},
            )

        return measure, check, describe

    def _attr(self, leaf: Attr) -> tuple[Measure, Test, Any]:
        name = leaf.attr

        def measure(s: Subject) -> Any:
            return s.member.attributes.get(name) if s.member is not None else None

        expect = leaf.expectations()

        def describe(s: Subject, observed: Any, passed: bool) -> Explanation:
            shown: Any = observed
            if isinstance(observed, bool):
                shown = str(observed).lower()
            elif isinstance(observed, int):
                shown = float(observed)
            return Explanation.model_construct(
                test="attr", passed=passed, subject=name, observed=shown, expect=dict(expect)
            )

        return measure, _attr_check(leaf), describe


_LEAF_TESTS: dict[type, str] = {
    Count: "count",
    Sum: "sum",
    DistinctDays: "distinct_days",
    DaysSince: "days_since",
    Tenure: "tenure",
    Metric: "metric",
    Label: "label",
    Role: "role",
    Attr: "attr",
}


def _anchor_reader(name: str) -> Callable[[Subject], datetime | None]:
    """``subject -> the moment the anchor names`` (None if it never happened)."""
    if name == "period_start":
        return lambda s: s.period_start
    attribute = f"{name}_at"

    def read(s: Subject) -> datetime | None:
        ms = s.membership
        return None if ms is None else getattr(ms, attribute)

    return read


# -- comparators, inlined -------------------------------------------------------------------


def _one_comparison(key: str, limit: float) -> Test:
    if key == "at_least":
        return lambda x: x >= limit
    if key == "at_most":
        return lambda x: x <= limit
    if key == "above":
        return lambda x: x > limit
    if key == "below":
        return lambda x: x < limit
    return lambda x: x == limit


def _comparing(leaf: _Compared) -> Test:
    """One function testing every comparator of ``leaf`` (all must hold)."""
    tests = [_one_comparison(k, v) for k, v in leaf.comparators().items()]
    if len(tests) == 1:
        return tests[0]
    first, *rest = tests
    return lambda x: first(x) and all(t(x) for t in rest)


def _attr_check(leaf: Attr) -> Test:
    members = tuple(leaf.in_) if leaf.in_ is not None else None
    equals = leaf.equals
    numeric = [_one_comparison(k, v) for k, v in leaf.expectations().items() if k not in ("in", "equals")]

    def check(value: Any) -> bool:
        if value is None:
            return False
        if members is not None and value not in members:
            return False
        if equals is not None and value != equals:
            return False
        if numeric:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
            number = float(value)
            return all(t(number) for t in numeric)
        return True

    return check


# -- the three readers ----------------------------------------------------------------------


def _verdict(node: Node, leaves: tuple[LeafSpec, ...]) -> Verdict:
    if node[0] == "leaf":
        spec = leaves[node[1]]
        measure, check = spec.measure, spec.check
        return lambda s: check(measure(s))
    test, k, children = node
    fns = [_verdict(c, leaves) for c in children]
    if test == "not":
        only = fns[0]
        return lambda s: not only(s)
    if test == "all":
        if len(fns) == 2:
            a, b = fns
            return lambda s: a(s) and b(s)
        return lambda s: all(f(s) for f in fns)
    if test == "any":
        if len(fns) == 2:
            a, b = fns
            return lambda s: a(s) or b(s)
        return lambda s: any(f(s) for f in fns)
    need: int = k

    def at_least_of(s: Subject) -> bool:
        got = 0
        for f in fns:
            got += f(s)
            if got >= need:
                return True
        return got >= need

    return at_least_of


def _row_verdict(node: Node, leaves: tuple[LeafSpec, ...]) -> RowVerdict:
    if node[0] == "leaf":
        i = node[1]
        check = leaves[i].check
        return lambda row: check(row[i])
    test, k, children = node
    fns = [_row_verdict(c, leaves) for c in children]
    if test == "not":
        only = fns[0]
        return lambda row: not only(row)
    if test == "all":
        if len(fns) == 2:
            a, b = fns
            return lambda row: a(row) and b(row)
        return lambda row: all(f(row) for f in fns)
    if test == "any":
        if len(fns) == 2:
            a, b = fns
            return lambda row: a(row) or b(row)
        return lambda row: any(f(row) for f in fns)
    need: int = k
    return lambda row: sum(f(row) for f in fns) >= need


def _explainer(node: Node, builder: _Builder) -> Callable[[Subject], Explanation]:
    leaves = tuple(builder.leaves)
    describers = tuple(builder.describers)

    def explain(s: Subject) -> Explanation:
        observed = [leaf.measure(s) for leaf in leaves]
        return _explain_node(node, s, observed, leaves, describers)

    return explain


def _explain_node(
    node: Node,
    s: Subject,
    observed: list[Any],
    leaves: tuple[LeafSpec, ...],
    describers: tuple[Describe, ...],
) -> Explanation:
    if node[0] == "leaf":
        i = node[1]
        value = observed[i]
        return describers[i](s, value, leaves[i].check(value))
    test, k, children = node
    explained = [_explain_node(c, s, observed, leaves, describers) for c in children]
    results = [c.passed for c in explained]
    if test == "all":
        passed = all(results)
    elif test == "any":
        passed = any(results)
    elif test == "not":
        passed = not results[0]
    else:
        passed = sum(results) >= k
    return Explanation.model_construct(
        test=test,
        passed=passed,
        k=k,
        children=tuple(explained),
        decided_by=decisive_children(test, passed, results),
    )
