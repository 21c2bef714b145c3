"""Conditions compiled to SQL: one query gives every subject's verdict at one instant.

The query is built from the same bound form as the compiled closures
(:mod:`groupops.rules._compile`): the same leaves in the same tree, each trailing window's
start computed by the one function the closures use (calendar units, time zones and
daylight-saving changes are never worked out twice). It is written with sqlglot's
expression builder, so one compiler serves several dialects (``sqlite``, ``duckdb``,
``spark``); every number and every name from the rule book is a bound parameter, never
SQL text.

The query reads two tables (and a third for labels):

- ``events(member, grp, kind, at_us, ...)``: one row per event, ``grp`` NULL for a
  member-wide event, ``at_us`` the event's instant in integer microseconds since the
  epoch (the SQLite store's ``events`` table has exactly these columns);
- ``subjects(sid, member, grp, period_start_us, joined_us, evicted_us, revived_us,
  promoted_us, role, source, referrer)``: one row per subject, ``sid`` its position;
- ``subject_labels(sid, label)``: the labels of each subject's member profile.

and returns ``(sid, verdict)`` for every subject, in ``sid`` order. Leaves with no exact
SQL form raise :class:`NotCompilable` naming the leaf; callers then use the closures:

- ``metric`` (a plugin's Python function), ``points`` and ``referees`` (other members and
  the ledger), ``member_of`` (memberships in every group), ``attr`` (typed profile
  values compared with Python's equality);
- ``sum``: floating-point addition in another order can round differently from the
  closures' totals, so a verdict at a threshold could differ;
- ``distinct_days``: calendar days in the book's time zone, which SQLite cannot compute.

Arithmetic follows the closures operation by operation (``days_since`` and ``tenure`` as
``(end - t / 1e6) / 86400`` in IEEE doubles; windows compared in integer microseconds,
which orders instants exactly as the closures' float seconds do), so verdicts agree at
window edges too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from .._errors import GroupOpsError, MissingExtraError
from .._time import micros
from ._compile import _StaticLeaf, compile_condition
from ._conditions import Scope

if TYPE_CHECKING:
    from .._model import Member, Membership

__all__ = ["DIALECTS", "SUBJECT_COLUMNS", "NotCompilable", "SQLCondition", "compile_sql", "subject_rows"]

DIALECTS = ("sqlite", "duckdb", "spark")
"""The SQL dialects :func:`compile_sql` writes."""

SUBJECT_COLUMNS = (
    "sid",
    "member",
    "grp",
    "period_start_us",
    "joined_us",
    "evicted_us",
    "revived_us",
    "promoted_us",
    "role",
    "source",
    "referrer",
)
"""The columns of the ``subjects`` table, in the order :func:`subject_rows` gives them."""

_ANCHORS = ("joined", "evicted", "revived", "promoted", "period_start")
_COMPILED = frozenset({"count", "days_since", "tenure", "role", "label", "source", "referrer"})
_WHY_NOT = {
    "metric": "a metric is a plugin's Python function",
    "points": "the points ledger is not in the events table",
    "referees": "it evaluates other members",
    "member_of": "it reads the member's memberships in every group",
    "attr": "profile attributes are compared with Python's equality of typed values",
    "sum": "floating-point sums in another order can round differently at a threshold",
    "distinct_days": "calendar days in the book's time zone have no SQL form in every dialect",
}


class NotCompilable(GroupOpsError, ValueError):
    """A condition has a leaf with no SQL form; ``leaf`` is the leaf (its mapping form),
    ``test`` its key. Evaluate it with the compiled closures instead."""

    def __init__(self, message: str, *, test: str = "", leaf: Any = None) -> None:
        self.test = test
        self.leaf = leaf
        self._made_with(message, test=test, leaf=leaf)
        super().__init__(message)


@dataclass(frozen=True)
class SQLCondition:
    """A condition compiled to one SQL query for one instant and dialect.

    Run ``sql`` with ``params`` (named parameters: ``:p0`` in SQLite and Spark, ``$p0``
    in DuckDB) over the ``events``, ``subjects`` and ``subject_labels`` tables; it
    returns ``(sid, verdict)`` per subject, by ``sid``. ``kinds`` are the event kinds it
    reads (a loader may copy only those)."""

    sql: str
    params: dict[str, Any]
    dialect: str
    kinds: tuple[str, ...]


def compile_sql(
    condition: Any,
    *,
    at: datetime,
    tz: tzinfo,
    default_scope: Scope = "group",
    dialect: str = "sqlite",
    events: str = "events",
    subjects: str = "subjects",
    labels: str = "subject_labels",
) -> SQLCondition:
    """Compile ``condition`` (a model or its mapping form) to SQL for the instant ``at``
    (timezone-aware; calendar windows counted in ``tz``) in ``dialect``.

    :raises NotCompilable: a leaf has no SQL form (see the module's documentation).
    :raises MissingExtraError: sqlglot is not installed (``groupops[duckdb]``).
    :raises ValueError: an unknown dialect."""
    if dialect not in DIALECTS:
        raise ValueError(f"dialect: {dialect!r} is not one of {', '.join(DIALECTS)}")
    try:
        from sqlglot import exp
    except ImportError:  # pragma: no cover - the extra is installed where this runs
        raise MissingExtraError("duckdb", feature="compiling conditions to SQL") from None
    bound = compile_condition(condition, at=at, tz=tz, default_scope=default_scope)
    plan = bound._plan
    for static in plan.leaves:
        if static.test not in _COMPILED:
            shown = static.leaf.model_dump(mode="json", by_alias=True, exclude_none=True)
            raise NotCompilable(
                f"condition leaf {shown!r} has no SQL form ({_WHY_NOT[static.test]}); "
                "it is evaluated by the compiled closures",
                test=static.test,
                leaf=shown,
            )
    builder = _Builder(exp, plan.default_scope, bound.at, tz, plan.leaves, (events, subjects, labels))
    builder.correlated = dialect == "sqlite"
    query = builder.query(plan.tree)
    return SQLCondition(
        sql=query.sql(dialect=dialect),
        params=builder.params,
        dialect=dialect,
        kinds=tuple(builder.kinds),
    )


class _Builder:
    """Builds one query: a per-subject aggregate over events (when a leaf needs one),
    then the verdict expression over it and the subject's columns."""

    def __init__(
        self,
        exp: Any,
        default_scope: str,
        at: datetime,
        tz: tzinfo,
        leaves: Sequence[_StaticLeaf],
        tables: tuple[str, str, str],
    ) -> None:
        self.exp = exp
        self.default_scope = default_scope
        self.at = at
        self.tz = tz
        self.leaves = leaves
        self.events, self.subjects, self.labels = tables
        self.params: dict[str, Any] = {}
        self.kinds: dict[str, None] = {}
        self.aggregates: list[Any] = []
        self.end_us = micros(at)
        self.end_s = at.timestamp()
        self.correlated = False

    # -- parameters and columns -------------------------------------------------------
    def param(self, value: Any) -> Any:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return self.exp.Placeholder(this=name)

    def s(self, column: str) -> Any:
        return self.exp.column(column, table="s")

    def e(self, column: str) -> Any:
        return self.exp.column(column, table="e")

    def a(self, column: str) -> Any:
        return self.exp.column(column, table="a")

    # -- the query --------------------------------------------------------------------
    def query(self, tree: Any) -> Any:
        exp = self.exp
        verdict = self.node(tree)
        select = exp.select(self.s("sid"), exp.alias_(verdict, "verdict")).from_(
            exp.table_(self.subjects, alias="s")
        )
        if self.aggregates:
            kinds = exp.In(this=self.e("kind"), expressions=[self.param(k) for k in self.kinds])
            joined = exp.and_(
                exp.EQ(this=self.e("member"), expression=self.s("member")),
                kinds,
                exp.LTE(this=self.e("at_us"), expression=self.param(self.end_us)),
            )
            per_subject = (
                exp.select(self.s("sid"), *self.aggregates)
                .from_(exp.table_(self.subjects, alias="s"))
                .join(exp.table_(self.events, alias="e"), on=joined, join_type="left")
                .group_by(self.s("sid"))
            )
            select = select.join(
                exp.alias_(exp.Subquery(this=per_subject), "a"),
                on=exp.EQ(this=self.a("sid"), expression=self.s("sid")),
            )
        return select.order_by(self.s("sid"))

    def node(self, n: Any) -> Any:
        exp = self.exp
        if n[0] == "leaf":
            return self.leaf(n[1])
        test, k, children = n
        parts = [self.node(c) for c in children]
        if test == "all":
            return exp.Paren(this=exp.and_(*parts))
        if test == "any":
            return exp.Paren(this=exp.or_(*parts))
        if test == "not":
            return exp.Not(this=exp.Paren(this=parts[0]))
        ones = [exp.Case().when(p, exp.Literal.number(1)).else_(exp.Literal.number(0)) for p in parts]
        total = ones[0]
        for one in ones[1:]:
            total = exp.Add(this=total, expression=one)
        return exp.Paren(this=exp.GTE(this=exp.Paren(this=total), expression=self.param(int(k))))

    # -- leaves: each a boolean that is never NULL ------------------------------------
    def leaf(self, i: int) -> Any:
        static = self.leaves[i]
        made = getattr(self, f"_{static.test}")(i, static)
        return self.exp.Coalesce(this=made, expressions=[self.exp.false()])

    def compare(self, value: Any, static: _StaticLeaf) -> Any:
        exp = self.exp
        ops = {"at_least": exp.GTE, "at_most": exp.LTE, "above": exp.GT, "below": exp.LT, "equals": exp.EQ}
        tests = [
            ops[key](this=value, expression=self.param(float(limit)))
            for key, limit in static.leaf.comparators().items()
        ]
        return exp.Paren(this=exp.and_(*tests))

    def scope(self, static: _StaticLeaf) -> Any:
        exp = self.exp
        if str(static.leaf.scope or self.default_scope) == "member":
            return None
        return exp.Paren(
            this=exp.or_(
                exp.EQ(this=self.e("grp"), expression=self.s("grp")),
                exp.Is(this=self.e("grp"), expression=exp.null()),
            )
        )

    def window(self, static: _StaticLeaf) -> list[Any]:
        """The window's lower bound on ``e.at_us`` (its upper bound is in the join)."""
        exp = self.exp
        start = static.fixed_start_at(self.at, self.tz)
        if start is not None:
            return [exp.GTE(this=self.e("at_us"), expression=self.param(micros(start)))]
        if static.since is not None:
            anchor = self.s(f"{static.since}_us")
            # an anchor that never happened is an empty window (NULL never compares true)
            return [exp.GTE(this=self.e("at_us"), expression=anchor)]
        return []

    def events_of(self, static: _StaticLeaf, kind: str, *, windowed: bool) -> Any:
        exp = self.exp
        self.kinds[kind] = None
        tests = [exp.EQ(this=self.e("kind"), expression=self.param(kind))]
        scope = self.scope(static)
        if scope is not None:
            tests.append(scope)
        if windowed:
            tests += self.window(static)
        return exp.and_(*tests)

    def aggregate(self, value: Any, kind: str) -> Any:
        """An aggregate over the subject's events: a column of the per-subject join where
        the engine plans one well (DuckDB, Spark); in SQLite, a correlated subquery per
        leaf, which its ``(member, kind, at_us)`` index answers (the join measured 50x
        slower there)."""
        exp = self.exp
        if self.correlated:
            of_member = exp.and_(
                exp.EQ(this=self.e("member"), expression=self.s("member")),
                exp.EQ(this=self.e("kind"), expression=self.param(kind)),
                exp.LTE(this=self.e("at_us"), expression=self.param(self.end_us)),
            )
            found = exp.select(value).from_(exp.table_(self.events, alias="e")).where(of_member)
            return exp.Subquery(this=found)
        name = f"a{len(self.aggregates)}"
        self.aggregates.append(exp.alias_(value, name))
        return self.a(name)

    def _count(self, i: int, static: _StaticLeaf) -> Any:
        exp = self.exp
        matched = self.events_of(static, static.leaf.count, windowed=True)
        one = exp.Case().when(matched, exp.Literal.number(1)).else_(exp.Literal.number(0))
        total = exp.Coalesce(this=exp.Sum(this=one), expressions=[exp.Literal.number(0)])
        counted = self.aggregate(total, static.leaf.count)
        return self.compare(counted, static)

    def _days(self, t_us: Any) -> Any:
        """``(end - t_us / 1e6) / 86400`` in doubles, as the closures compute it."""
        exp = self.exp
        double = exp.DataType.build("DOUBLE")
        seconds = exp.Div(this=exp.Cast(this=t_us, to=double), expression=self.param(1e6))
        elapsed = exp.Sub(this=self.param(self.end_s), expression=exp.Paren(this=seconds))
        return exp.Div(this=exp.Paren(this=elapsed), expression=self.param(86400.0))

    def _days_since(self, i: int, static: _StaticLeaf) -> Any:
        exp = self.exp
        matched = self.events_of(static, static.leaf.days_since, windowed=False)
        last = self.aggregate(exp.Max(this=exp.Case().when(matched, self.e("at_us"))), static.leaf.days_since)
        # never: infinitely long ago, judged here as the closures judge math.inf
        never = exp.Boolean(this=bool(static.check(math.inf)))
        return (
            exp.Case()
            .when(exp.Is(this=last, expression=exp.null()), never)
            .else_(self.compare(self._days(last), static))
        )

    def _tenure(self, i: int, static: _StaticLeaf) -> Any:
        # a membership without the anchor: NULL, which the leaf's COALESCE makes false
        return self.compare(self._days(self.s(f"{static.leaf.tenure}_us")), static)

    def _in(self, column: Any, names: Sequence[str]) -> Any:
        return self.exp.In(this=column, expressions=[self.param(n) for n in names])

    def _role(self, i: int, static: _StaticLeaf) -> Any:
        return self._in(self.s("role"), static.leaf.role)

    def _source(self, i: int, static: _StaticLeaf) -> Any:
        return self._in(self.s("source"), static.leaf.source)

    def _referrer(self, i: int, static: _StaticLeaf) -> Any:
        if static.leaf.anyone:
            return self.exp.Not(this=self.exp.Is(this=self.s("referrer"), expression=self.exp.null()))
        return self._in(self.s("referrer"), static.leaf.referrer)

    def _label(self, i: int, static: _StaticLeaf) -> Any:
        exp = self.exp
        column = exp.column("label", table="l")
        found = (
            exp.select(exp.Literal.number(1))
            .from_(exp.table_(self.labels, alias="l"))
            .where(
                exp.and_(
                    exp.EQ(this=exp.column("sid", table="l"), expression=self.s("sid")),
                    self._in(column, static.leaf.label),
                )
            )
        )
        return exp.Exists(this=found)


def subject_rows(
    memberships: Sequence[Membership],
    profiles: Any,
    period_starts: Sequence[datetime | None],
) -> tuple[list[tuple[Any, ...]], list[tuple[int, str]]]:
    """The rows of the ``subjects`` table (:data:`SUBJECT_COLUMNS`) and of
    ``subject_labels`` for ``memberships`` (``profiles``: member id -> profile)."""
    rows: list[tuple[Any, ...]] = []
    labels: list[tuple[int, str]] = []

    def us(moment: datetime | None) -> int | None:
        return None if moment is None else micros(moment)

    for sid, (ms, period_start) in enumerate(zip(memberships, period_starts, strict=True)):
        profile: Member | None = profiles.get(ms.member)
        rows.append(
            (
                sid,
                ms.member,
                ms.group,
                us(period_start),
                us(ms.joined_at),
                us(ms.evicted_at),
                us(ms.revived_at),
                us(ms.promoted_at),
                ms.role,
                profile.source if profile is not None else None,
                profile.referrer if profile is not None else None,
            )
        )
        if profile is not None:
            labels += [(sid, label) for label in dict.fromkeys(profile.labels)]
    return rows, labels
