"""Conditions compiled into plain functions: once per condition, then bound per instant.

Compiling happens in two steps, so a run pays for each step once:

1. **A plan, once per condition object** (and default scope): every leaf gets a measuring
   function (how many events of a kind in a window, days since the last one, a label, ...)
   and a test (its comparators), and the tree of ``all``/``any``/``not``/``at_least_of``
   becomes the source of one Python function. That source is generated from the tree's
   shape alone: leaf indices, comparison operators and the finite numbers of the
   comparators, never a string from the rule book, so nothing in a book can turn into code;
   leaves that are more than one numeric comparison are called as functions. ``and``/``or``
   short-circuit as ``holds`` always did.
2. **A binding, once per instant** (:func:`compile_condition`): the end of every window and
   the start of every trailing window (``within: 30d`` at a fixed ``at``) become timestamps,
   plugin metrics are looked up, and the plan's code object is bound to them. Anchors
   (``since: joined``, ``tenure``) are read from each member's membership.

The result, a :class:`CompiledCondition`, answers three questions from the same leaves, so
verdicts and explanations can never disagree:

- :meth:`CompiledCondition.holds`: does it hold for this member? (measures only what decides)
- :meth:`CompiledCondition.decide`: does it hold, given each leaf's observed value (a row of
  facts pre-aggregated elsewhere, in :attr:`CompiledCondition.leaves` order)?
- :meth:`CompiledCondition.explain`: the explanation tree, for the decisions made.

No pydantic object is built on the verdict path. :func:`~groupops.rules.evaluate` and ``holds``
are thin wrappers that compile (cached per condition object and instant) and call these.

Why it is this long: it is one compiler, and most of it is :class:`_Plan`, which gives
each kind of leaf its measure, its test and its explanation side by side, so that the
three answers of a :class:`CompiledCondition` cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import TypeAdapter

from .._errors import PluginError
from .._time import Duration, to_zone
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
    MemberOf,
    Metric,
    Not,
    Points,
    Referees,
    Referrer,
    Role,
    Scope,
    Segment,
    Source,
    Sum,
    Tenure,
    _Compared,
    _Windowed,
)
from ._explain import Explanation, decisive_children

if TYPE_CHECKING:
    from .._model import Member, Membership
    from ._evaluate import MetricFunction
    from ._facts import History, Series

__all__ = ["CompiledCondition", "LeafSpec", "Subject", "compile_condition", "member_local", "parse_condition"]

_DAY = 86400.0
_CONDITION: TypeAdapter[Any] = TypeAdapter(Condition)


class Subject(Protocol):
    """What a compiled condition reads of one member (a :class:`~groupops.rules.Context` is one)."""

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


# ``member_of`` reads ``present_in`` (group id -> group kind, for every group the member
# is present in) when the subject has it; it is not part of the protocol so that a
# subject written before it still compiles every other leaf.


Test = Callable[[Any], bool]
# a leaf's measure before binding: (subject, fixed window start or None, end) -> observed
RawMeasure = Callable[[Subject, float | None, float], Any]
Describe = Callable[[Subject, Any, bool, datetime | None], Explanation]


@dataclass(frozen=True)
class LeafSpec:
    """One leaf of a compiled condition: what it measures and how it is judged.

    ``test`` is the condition's key (``count``, ``days_since``, ``label``, ...), ``leaf``
    the condition object itself; ``measure(subject)`` gives the observed value for a member
    at the compiled instant and ``check(value)`` whether that value passes. A row given to
    :meth:`CompiledCondition.decide` holds, at this leaf's ``index``, what ``measure``
    would have returned.
    """

    index: int
    test: str
    leaf: Any
    measure: Callable[[Subject], Any]
    check: Test


def _bound(raw: RawMeasure, start: float | None, end: float) -> Callable[[Subject], Any]:
    return lambda s: raw(s, start, end)


def parse_condition(condition: Any) -> Any:
    """A condition model from a condition model or its mapping form (``{"count": ...}``).

    Raises :class:`pydantic.ValidationError` for a mapping that is not a condition and
    :class:`TypeError` for anything else.
    """
    if isinstance(condition, Mapping):
        return _CONDITION.validate_python(dict(condition))
    combinators = AllOf | AnyOf | Not | AtLeastOf | Segment
    if type(condition) not in _LEAF_TESTS and not isinstance(condition, combinators):
        raise TypeError(f"not a condition: {condition!r}")
    return condition


class CompiledCondition:
    """A condition compiled for one instant: verdicts, verdicts from facts, explanations.

    Build with :func:`compile_condition`. ``holds(subject)``, ``measure(subject)`` and
    ``explain(subject)`` take anything shaped like a :class:`~groupops.rules.Context`
    (``history``, ``group``, ``member``, ``membership``, ``period_start``; one object may
    be reused from member to member); the instant, time zone, default scope and metrics are
    those the condition was compiled for.
    """

    __slots__ = (
        "_end",
        "_leaves",
        "_measures",
        "_plan",
        "_starts",
        "at",
        "condition",
        "decide",
        "holds",
        "tz",
    )

    holds: Callable[[Subject], bool]
    """``holds(subject)``: whether the condition holds for ``subject``, measuring only the
    leaves that decide it (``and``/``or`` short-circuit, ``at_least_of`` stops at k)."""

    decide: Callable[[Sequence[Any]], bool]
    """``decide(row)``: whether the condition holds, given each leaf's observed value in
    :attr:`leaves` order (as :meth:`measure` returns them, or pre-aggregated elsewhere:
    a database row, a batch job's output). The generated function itself, not a wrapper."""

    def __init__(
        self,
        plan: _Plan,
        at: datetime,
        tz: tzinfo,
        starts: tuple[float | None, ...],
        measures: tuple[RawMeasure, ...],
    ) -> None:
        self._plan = plan
        self.condition = plan.condition
        self.at = at
        self.tz = tz
        self._end = at.timestamp()
        self._starts = starts
        self._measures = measures
        self._leaves: tuple[LeafSpec, ...] | None = None
        # the generated functions themselves: no wrapper call on the verdict path
        self.holds = partial(plan.verdict, w=starts, e=self._end, x=measures)
        self.decide = plan.row_verdict

    @property
    def leaves(self) -> tuple[LeafSpec, ...]:
        """The leaves, depth first: the order of :meth:`measure` and of :meth:`decide`'s row."""
        if self._leaves is None:
            end, plan = self._end, self._plan
            parts = zip(plan.leaves, self._measures, self._starts, strict=True)
            self._leaves = tuple(
                LeafSpec(i, static.test, static.leaf, _bound(raw, start, end), static.check)
                for i, (static, raw, start) in enumerate(parts)
            )
        return self._leaves

    def measure(self, subject: Subject) -> tuple[Any, ...]:
        """Every leaf's observed value for ``subject``, in :attr:`leaves` order."""
        end = self._end
        return tuple(m(subject, w, end) for m, w in zip(self._measures, self._starts, strict=True))

    def explain(self, subject: Subject) -> Explanation:
        """The explanation tree for ``subject``: every leaf observed, none skipped."""
        return self._node(self._plan.tree, subject, self.measure(subject))

    def _node(self, n: Node, subject: Subject, observed: tuple[Any, ...]) -> Explanation:
        # a method, not a closure calling itself: such a closure is a reference cycle,
        # left for the garbage collector with the subject it holds, once per decision
        if n[0] == "leaf":
            i = n[1]
            static = self._plan.leaves[i]
            value = observed[i]
            start = static.window_start(subject, self.at, self.tz)
            return static.describe(subject, value, static.check(value), start)
        test, k, children = n
        explained = [self._node(c, subject, observed) for c in children]
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


def compile_condition(
    condition: Condition | Mapping[str, object],
    *,
    at: datetime,
    tz: tzinfo,
    default_scope: Scope = "group",
    metrics: Mapping[str, MetricFunction] | None = None,
) -> CompiledCondition:
    """Compile ``condition`` (a model or its mapping form) for the instant ``at``.

    ``at`` must be timezone-aware; it is read in ``tz``, the rule book's time zone, in
    which calendar windows (``3mo``, ``2w``) are counted. The plan of a condition object
    is kept and reused for every later instant. A metric that no plugin registered raises
    :class:`~groupops.PluginError` when a member is first measured by it, as
    :func:`~groupops.rules.evaluate` does.
    """
    return _compile(condition, at, tz, default_scope, metrics or {}, lazy=False)


def _compile(
    condition: Any, at: datetime, tz: tzinfo, default_scope: Scope, metrics: Mapping[str, Any], *, lazy: bool
) -> CompiledCondition:
    cond = parse_condition(condition)
    # the mapping form is parsed into a new object each time: no use keeping its plan
    plan = _plan_of(cond, default_scope, cache=not isinstance(condition, dict))
    return plan.bind(to_zone(at, tz), tz, metrics, lazy=lazy)


# -- plans ----------------------------------------------------------------------------------

# A node is ("leaf", index) or (combinator, k, children).
Node = tuple[Any, ...]

_PLAN_CACHE_SIZE = 1024
_plans: dict[tuple[int, str], _Plan] = {}


def _plan_of(cond: Any, default_scope: Scope, *, cache: bool) -> _Plan:
    key = (id(cond), default_scope)
    plan = _plans.get(key)
    if plan is not None and plan.condition is cond:
        return plan
    plan = _Plan(cond, default_scope)
    if cache:
        if len(_plans) >= _PLAN_CACHE_SIZE:
            _plans.clear()
        _plans[key] = plan  # keeps ``cond`` alive, so its id is not reused while cached
    return plan


def _describer(test: str, subject: Any, expect: Mapping[str, Any], **fields: Any) -> Describe:
    """The ``describe`` of a leaf whose explanation names the same subject, expectation
    (and ``fields``: ``scope``) whatever it observed: a fresh copy of ``expect`` (and of a
    list ``subject``) in each explanation."""

    def describe(s: Subject, observed: Any, passed: bool, start: datetime | None) -> Explanation:
        return Explanation.model_construct(
            test=test,
            passed=passed,
            subject=list(subject) if isinstance(subject, list) else subject,
            observed=observed,
            expect=dict(expect),
            **fields,
        )

    return describe


@dataclass(frozen=True)
class _StaticLeaf:
    """A leaf's parts that do not depend on the instant."""

    test: str
    leaf: Any
    measure: RawMeasure
    check: Test
    describe: Describe
    # (operator, limit) when the test is one comparison of a number: inlined in the source
    inline: tuple[str, float] | None
    metric: str | None = None  # a plugin metric's name: looked up when bound
    member_wide: bool = False  # a metric counted over every group
    within: Duration | None = None  # a trailing window, fixed once the instant is known
    since: str | None = None  # an anchor, read per member

    def fixed_start(self, at: datetime, tz: tzinfo) -> float | None:
        start = self.fixed_start_at(at, tz)
        return None if start is None else start.timestamp()

    def fixed_start_at(self, at: datetime, tz: tzinfo) -> datetime | None:
        """The start of a trailing window at ``at`` (calendar units and DST in ``tz``),
        or None: the one place a window's bound is computed, for closures and SQL."""
        return None if self.within is None else self.within.before(at, tz)

    def window_start(self, s: Subject, at: datetime, tz: tzinfo) -> datetime | None:
        if self.within is not None:
            return self.within.before(at, tz)
        if self.since is not None:
            return _anchor_reader(self.since)(s)
        return None


class _Plan:
    """A condition's leaves and generated verdict code, independent of the instant."""

    def __init__(self, cond: Any, default_scope: Scope) -> None:
        self.condition = cond
        self.default_scope = default_scope
        self.leaves: list[_StaticLeaf] = []
        self.tree = self._build(cond)
        # generated once per plan; the instant comes in as arguments (see _sources)
        namespace: dict[str, Any] = {"__builtins__": {}}
        for i, leaf in enumerate(self.leaves):
            namespace[f"c{i}"] = leaf.check
        source = "\n\n".join(_sources(self.tree, self.leaves))
        exec(compile(source, "<groupops condition>", "exec"), namespace)
        self.verdict: Callable[..., bool] = namespace["verdict"]
        self.row_verdict: Callable[[Sequence[Any]], bool] = namespace["row_verdict"]
        # what binding needs, worked out once
        self.measures = tuple(leaf.measure for leaf in self.leaves)
        self.has_metrics = any(leaf.metric is not None for leaf in self.leaves)
        self.has_windows = any(leaf.within is not None for leaf in self.leaves)
        self.no_starts: tuple[float | None, ...] = (None,) * len(self.leaves)

    def bind(
        self, at: datetime, tz: tzinfo, metrics: Mapping[str, Any], *, lazy: bool = False
    ) -> CompiledCondition:
        """The plan at the instant ``at``. ``lazy``: leave each trailing window's start to
        the first member that needs it (a condition asked once at an instant should not
        pay for windows its verdict short-circuits past)."""
        measures = self.measures
        if self.has_metrics:
            measures = tuple(
                m if static.metric is None else _metric_measure(static, at, tz, metrics)
                for m, static in zip(measures, self.leaves, strict=True)
            )
        if lazy:
            if self.has_windows:
                measures = tuple(
                    _lazy_window(m, static, at, tz) if static.within is not None else m
                    for m, static in zip(measures, self.leaves, strict=True)
                )
            starts = self.no_starts
        else:
            starts = tuple(static.fixed_start(at, tz) for static in self.leaves)
        return CompiledCondition(self, at, tz, starts, measures)

    # -- building the leaves ----------------------------------------------------------------

    def _build(self, cond: Any) -> Node:
        if isinstance(cond, AllOf):
            return ("all", None, tuple(self._build(c) for c in cond.all))
        if isinstance(cond, AnyOf):
            return ("any", None, tuple(self._build(c) for c in cond.any))
        if isinstance(cond, Not):
            return ("not", None, (self._build(cond.not_),))
        if isinstance(cond, AtLeastOf):
            return ("at_least_of", cond.at_least_of, tuple(self._build(c) for c in cond.of))
        if isinstance(cond, Segment):
            if cond.definition is None:
                raise ValueError(
                    f"segment {cond.segment!r} is not resolved: segments are named in a rule book's "
                    "'segments' and resolved when the book is loaded"
                )
            return self._build(cond.definition)  # a segment is its condition, inlined
        test = _LEAF_TESTS.get(type(cond))
        if test is None:
            raise TypeError(f"not a condition: {cond!r}")
        self.leaves.append(getattr(self, f"_{test}")(cond))
        return ("leaf", len(self.leaves) - 1)

    def _scope(self, leaf: Any) -> str:
        return str(leaf.scope or self.default_scope)

    def _numeric(self, test: str, leaf: Any, measure: RawMeasure, describe: Describe) -> _StaticLeaf:
        comparators = leaf.comparators()
        inline = None
        if len(comparators) == 1:
            [(key, limit)] = comparators.items()
            inline = (_OPERATORS[key], float(limit))
        windowed = isinstance(leaf, _Windowed)
        return _StaticLeaf(
            test,
            leaf,
            measure,
            _comparing(leaf),
            describe,
            inline,
            within=leaf.within if windowed else None,
            since=leaf.since if windowed else None,
        )

    def _over_series(
        self, leaf: Any, kind: str, measure_parts: Callable[[tuple[Series, ...], float | None, float], float]
    ) -> RawMeasure:
        member_wide = self._scope(leaf) == "member"
        since = _anchor_reader(leaf.since) if leaf.since is not None else None

        def measure(s: Subject, start: float | None, end: float) -> float:
            if since is not None:
                moment = since(s)
                if moment is None:
                    return 0.0  # the anchor never happened: an empty window
                start = moment.timestamp()
                if start > end:
                    return 0.0
            parts = s.history._parts(kind, None if member_wide else s.group)
            return float(measure_parts(parts, start, end))

        return measure

    def _windowed_describer(self, leaf: Any, test: str, subject: str) -> Describe:
        scope = self._scope(leaf)
        expect = leaf.comparators()
        text = leaf.window_text()
        field = leaf.field if test == "sum" else None

        def describe(s: Subject, observed: Any, passed: bool, start: datetime | None) -> Explanation:
            return Explanation.model_construct(
                test=test,
                passed=passed,
                subject=subject,
                observed=observed,
                expect=dict(expect),
                window=text,
                window_start=start,
                scope=scope,
                field=field,
            )

        return describe

    def _count(self, leaf: Count) -> _StaticLeaf:
        def counted(parts: tuple[Series, ...], start: float | None, end: float) -> float:
            return sum(p.count(start, end) for p in parts)

        measure = self._over_series(leaf, leaf.count, counted)
        return self._numeric("count", leaf, measure, self._windowed_describer(leaf, "count", leaf.count))

    def _sum(self, leaf: Sum) -> _StaticLeaf:
        field = leaf.field

        def total(parts: tuple[Series, ...], start: float | None, end: float) -> float:
            return sum(p.total(field, start, end) for p in parts)

        measure = self._over_series(leaf, leaf.sum, total)
        return self._numeric("sum", leaf, measure, self._windowed_describer(leaf, "sum", leaf.sum))

    def _distinct_days(self, leaf: DistinctDays) -> _StaticLeaf:
        def days(parts: tuple[Series, ...], start: float | None, end: float) -> float:
            present = [p for p in parts if len(p)]
            if not present:
                return 0
            if len(present) == 1:
                return present[0].distinct_days(start, end)
            return len(set().union(*(p.day_set(start, end) for p in present)))

        kind = leaf.distinct_days
        measure = self._over_series(leaf, kind, days)
        describe = self._windowed_describer(leaf, "distinct_days", kind)
        return self._numeric("distinct_days", leaf, measure, describe)

    def _metric(self, leaf: Metric) -> _StaticLeaf:
        describe = self._windowed_describer(leaf, "metric", leaf.metric)
        static = self._numeric("metric", leaf, _measured_when_bound, describe)
        return _StaticLeaf(
            static.test,
            leaf,
            _measured_when_bound,
            static.check,
            static.describe,
            static.inline,
            metric=leaf.metric,
            member_wide=self._scope(leaf) == "member",
            within=static.within,
            since=static.since,
        )

    def _days_since(self, leaf: DaysSince) -> _StaticLeaf:
        kind = leaf.days_since
        member_wide = self._scope(leaf) == "member"

        def measure(s: Subject, start: float | None, end: float) -> float:
            last: float | None = None
            for p in s.history._parts(kind, None if member_wide else s.group):
                t = p.last(end)
                if t is not None and (last is None or t > last):
                    last = t
            return math.inf if last is None else (end - last) / _DAY

        scope = self._scope(leaf)
        expect = leaf.comparators()

        return self._numeric("days_since", leaf, measure, _describer("days_since", kind, expect, scope=scope))

    def _tenure(self, leaf: Tenure) -> _StaticLeaf:
        anchor = _anchor_reader(leaf.tenure)

        def measure(s: Subject, start: float | None, end: float) -> float | None:
            since = anchor(s)
            return None if since is None else (end - since.timestamp()) / _DAY

        compare = _comparing(leaf)

        def check(observed: float | None) -> bool:
            return observed is not None and compare(observed)

        describe = _describer("tenure", leaf.tenure, leaf.comparators())
        # never inlined: a membership without the anchor is observed as None
        return _StaticLeaf("tenure", leaf, measure, check, describe, None)

    # -- profile leaves ---------------------------------------------------------------------

    def _label(self, leaf: Label) -> _StaticLeaf:
        wanted = leaf.label

        def measure(s: Subject, start: float | None, end: float) -> list[str]:
            return list(s.member.labels) if s.member is not None else []

        def check(labels: Sequence[str]) -> bool:
            return any(x in labels for x in wanted)

        describe = _describer("label", list(wanted), {"has": list(wanted)})
        return _StaticLeaf("label", leaf, measure, check, describe, None)

    def _role(self, leaf: Role) -> _StaticLeaf:
        wanted = leaf.role

        def measure(s: Subject, start: float | None, end: float) -> str | None:
            return s.membership.role if s.membership is not None else None

        def check(role: str | None) -> bool:
            return role in wanted

        describe = _describer("role", list(wanted), {"role": list(wanted)})
        return _StaticLeaf("role", leaf, measure, check, describe, None)

    def _attr(self, leaf: Attr) -> _StaticLeaf:
        name = leaf.attr

        def measure(s: Subject, start: float | None, end: float) -> Any:
            return s.member.attributes.get(name) if s.member is not None else None

        expect = leaf.expectations()

        def describe(s: Subject, observed: Any, passed: bool, start: datetime | None) -> Explanation:
            shown: Any = observed
            if isinstance(observed, bool):
                shown = str(observed).lower()
            elif isinstance(observed, int):
                shown = float(observed)
            return Explanation.model_construct(
                test="attr", passed=passed, subject=name, observed=shown, expect=dict(expect)
            )

        return _StaticLeaf("attr", leaf, measure, _attr_check(leaf), describe, None)

    def _source(self, leaf: Source) -> _StaticLeaf:
        wanted = leaf.source

        def measure(s: Subject, start: float | None, end: float) -> str | None:
            return s.member.source if s.member is not None else None

        def check(source: str | None) -> bool:
            return source is not None and source in wanted

        describe = _describer("source", "source", {"in": list(wanted)})
        return _StaticLeaf("source", leaf, measure, check, describe, None)

    def _referrer(self, leaf: Referrer) -> _StaticLeaf:
        wanted = leaf.referrer
        anyone = leaf.anyone

        def measure(s: Subject, start: float | None, end: float) -> str | None:
            return s.member.referrer if s.member is not None else None

        def check(referrer: str | None) -> bool:
            return referrer is not None and (anyone or referrer in wanted)

        expect: dict[str, Any] = {"present": True} if anyone else {"in": list(wanted)}
        describe = _describer("referrer", "referrer", expect)
        return _StaticLeaf("referrer", leaf, measure, check, describe, None)

    def _member_of(self, leaf: MemberOf) -> _StaticLeaf:
        groups, kinds = leaf.groups, leaf.kinds

        def measure(s: Subject, start: float | None, end: float) -> list[str]:
            present: Mapping[str, str] | None = getattr(s, "present_in", None)
            world = getattr(s, "world", None)
            member = _member_id(s)
            if present is None and world is not None and member is not None:
                # a peer (a referee) seen through the engine's world: its groups, no kinds
                present = {ms.group: "" for ms in world.memberships_of(member) if ms.present}
            if present is None:  # a subject that knows only its own membership
                ms = s.membership
                present = {ms.group: ""} if ms is not None and ms.present else {}
            if kinds:
                return sorted(set(present.values()))
            return sorted(present)

        wanted = kinds or groups

        def check(observed: Sequence[str]) -> bool:
            return any(x in observed for x in wanted)

        key = "member_of_kind" if kinds else "member_of"
        describe = _describer("member_of", list(wanted), {key: list(wanted)})
        return _StaticLeaf("member_of", leaf, measure, check, describe, None)

    def _points(self, leaf: Points) -> _StaticLeaf:
        def measure(s: Subject, start: float | None, end: float) -> float:
            world = getattr(s, "world", None)
            member = _member_id(s)
            if world is None or member is None:
                return 0.0
            return float(world.balance(member, datetime.fromtimestamp(end, tz=UTC)))

        return self._numeric("points", leaf, measure, _describer("points", leaf.points, leaf.comparators()))

    def _referees(self, leaf: Referees) -> _StaticLeaf:
        inner = leaf.referees

        def qualifying(s: Subject) -> list[str]:
            from ._evaluate import holds  # evaluating a referee's condition is evaluating

            world = getattr(s, "world", None)
            member = _member_id(s)
            peer = getattr(s, "peer", None)
            if world is None or member is None or peer is None:
                return []
            return [r for r in world.referees(member) if holds(inner, peer(r))]

        def measure(s: Subject, start: float | None, end: float) -> float:
            return float(len(qualifying(s)))

        expect = leaf.comparators()

        def describe(s: Subject, observed: Any, passed: bool, start: datetime | None) -> Explanation:
            return Explanation.model_construct(
                test="referees",
                passed=passed,
                subject=qualifying(s),
                observed=observed,
                expect=dict(expect),
            )

        return self._numeric("referees", leaf, measure, describe)


def member_local(condition: Any) -> bool:
    """Whether every leaf of ``condition`` reads only the member itself (its events,
    profile, memberships, its metrics): not other members (``referees``) nor the points
    ledger (``points``), which a decision about someone else may change. Segments are
    looked through."""
    cond = parse_condition(condition)
    if isinstance(cond, AllOf):
        return all(member_local(c) for c in cond.all)
    if isinstance(cond, AnyOf):
        return all(member_local(c) for c in cond.any)
    if isinstance(cond, Not):
        return member_local(cond.not_)
    if isinstance(cond, AtLeastOf):
        return all(member_local(c) for c in cond.of)
    if isinstance(cond, Segment):
        return cond.definition is not None and member_local(cond.definition)
    return not isinstance(cond, Referees | Points)


def _member_id(s: Subject) -> str | None:
    """Who the subject is: its profile's id, else its membership's member."""
    if s.member is not None:
        return s.member.id
    return s.membership.member if s.membership is not None else None


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
    Source: "source",
    Referrer: "referrer",
    MemberOf: "member_of",
    Points: "points",
    Referees: "referees",
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


def _measured_when_bound(s: Subject, start: float | None, end: float) -> float:
    raise AssertionError  # a metric leaf's measure is made by _metric_measure when bound


def _lazy_window(raw: RawMeasure, static: _StaticLeaf, at: datetime, tz: tzinfo) -> RawMeasure:
    """``raw`` with its trailing window's start computed on first use, then kept."""
    start: list[float | None] = []

    def measure(s: Subject, _: float | None, end: float) -> Any:
        if not start:
            start.append(static.fixed_start(at, tz))
        return raw(s, start[0], end)

    return measure


def _metric_measure(static: _StaticLeaf, at: datetime, tz: tzinfo, metrics: Mapping[str, Any]) -> RawMeasure:
    leaf = static.leaf
    fn = metrics.get(leaf.metric)
    registered = ", ".join(sorted(metrics)) or "none"

    def measure(s: Subject, start: float | None, end: float) -> float:
        if fn is None:
            raise PluginError(
                f"metric {leaf.metric!r} is not registered by any plugin (registered: {registered})"
            )
        if leaf.since is not None:
            moment = _anchor_reader(leaf.since)(s)
            if moment is None or moment.timestamp() > end:
                return 0.0
        group = None if static.member_wide else s.group
        return float(fn(s.history, group=group, start=static.window_start(s, at, tz), end=at))

    return measure


# -- comparators ----------------------------------------------------------------------------

_OPERATORS = {"at_least": ">=", "at_most": "<=", "above": ">", "below": "<", "equals": "=="}


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
    return lambda x: all(t(x) for t in tests)


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


# -- generated source -----------------------------------------------------------------------


def _sources(tree: Node, leaves: list[_StaticLeaf]) -> tuple[str, str]:
    """The source of ``verdict(s, w, e, x)`` and of ``row_verdict(r)``.

    ``verdict`` measures leaf ``i`` as ``x[i](s, w[i], e)``: the subject, the leaf's fixed
    window start (or None), the window's end, and the leaf's measure, all given when a
    compiled condition is bound to an instant. ``row_verdict`` reads leaf ``i`` as ``r[i]``.

    Only indices, operators from :data:`_OPERATORS` and ``repr`` of finite floats are
    written; everything else is called by name from the namespace the code runs in.
    """
    helpers: list[str] = []

    def leaf_expr(i: int, value: str) -> str:
        inline = leaves[i].inline
        if inline is None:
            return f"c{i}({value})"
        op, limit = inline
        if not math.isfinite(limit):  # pragma: no cover - comparators are FiniteFloat
            raise ValueError(f"comparator limit {limit!r} is not finite")
        return f"({value} {op} {limit!r})"

    def expr(node: Node, leaf: Callable[[int], str], at_least: Callable[[int, Sequence[Node]], str]) -> str:
        """``node`` as an expression: leaf ``i`` read as ``leaf(i)``, ``at_least_of`` as
        ``at_least(k, children)`` writes it; ``not``, ``all`` and ``any`` alike in both."""
        if node[0] == "leaf":
            return leaf_expr(node[1], leaf(node[1]))
        test, k, children = node
        if test == "not":
            return f"(not {expr(children[0], leaf, at_least)})"
        if test in ("all", "any"):
            joined = (" and " if test == "all" else " or ").join(expr(c, leaf, at_least) for c in children)
            return f"({joined})"
        return at_least(int(k), children)

    def measured(i: int) -> str:
        return f"x[{i}](s, w[{i}], e)"

    def stopping(k: int, children: Sequence[Node]) -> str:
        # at_least_of in verdict: a helper that stops as soon as k children hold
        j = len(helpers)
        helpers.append("")
        lines = [f"def a{j}(s, w, e, x):", "    got = 0"]
        for child in children:
            lines += [f"    if {expr(child, measured, stopping)}:", "        got += 1"]
            lines += [f"    if got >= {k}:", "        return True"]
        lines.append(f"    return got >= {k}")
        helpers[j] = "\n".join(lines)
        return f"a{j}(s, w, e, x)"

    def read(i: int) -> str:
        return f"r[{i}]"

    def summed(k: int, children: Sequence[Node]) -> str:
        # at_least_of in row_verdict: the children's booleans added up
        return "((" + " + ".join(expr(c, read, summed) for c in children) + f") >= {k})"

    body = expr(tree, measured, stopping)
    verdict_source = "\n\n".join([*helpers, f"def verdict(s, w, e, x):\n    return {body}\n"])
    row_source = f"def row_verdict(r):\n    return {expr(tree, read, summed)}\n"
    return verdict_source, row_source
