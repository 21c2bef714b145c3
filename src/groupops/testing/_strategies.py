"""Hypothesis strategies for groupops' models, rule books and whole community histories.

Every strategy follows Hypothesis' own API style: plural nouns, keyword-only arguments,
strategies (not values) as arguments, and :class:`~hypothesis.errors.InvalidArgument`
for a request no example can satisfy. Generated values are always valid models.

Why it is this long: it is the public set of Hypothesis strategies, each built from the
ones before it (members and events, then conditions, rule books, and whole histories
with :func:`replay`); split, each part would import the previous one whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from .._engine import Engine
from .._i18n import locales
from .._model import Event, Group, Member, Membership
from .._reports import RunReport
from .._time import Duration, zone
from ..rules._book import RuleBook, book_model
from ..rules._conditions import (
    ANCHORS,
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
    iter_leaves,
)
from ..rules.kinds import Kind, KindRegistry, StrategyContext, builtin_kinds
from ..rules.kinds.eviction import SCHEDULES
from ..rules.kinds.ladder import Ladder

__all__ = [
    "ATTRIBUTES",
    "EVENT_KINDS",
    "LABELS",
    "LEAF_TYPES",
    "POLICY_TYPES",
    "ROLES",
    "SCHEDULES",
    "TIMEZONES",
    "Timeline",
    "conditions",
    "events",
    "groups",
    "histories",
    "members",
    "memberships",
    "replay",
    "rule_books",
]

T = TypeVar("T")
Scalar = str | int | float | bool | None

EVENT_KINDS: tuple[str, ...] = (
    "checkin",
    "purchase",
    "violation",
    "message",
    "payment",
    "activity",
    "redemption",
    "answer",
    "makeup_task",
)
"""Event kinds the strategies draw from unless told otherwise (hosts invent more)."""

LABELS: tuple[str, ...] = ("A", "B+", "B", "unpaid", "first-purchase", "premium", "die-hard")
"""Member labels the strategies draw from unless told otherwise."""

ROLES: tuple[str, ...] = ("member", "active", "core", "kol", "lecturer", "owner", "admin", "assistant")
"""Membership roles the strategies draw from; the first is the ordinary one."""

ATTRIBUTES: Mapping[str, SearchStrategy[Scalar]] = {
    "city": st.sampled_from(["杭州", "上海", "北京", "深圳"]),
    "orders": st.integers(min_value=0, max_value=20),
    "spend": st.integers(min_value=0, max_value=5000).map(float),
    "verified": st.booleans(),
}
"""Member attributes by name, each with the strategy of its values."""

LEAF_TYPES: tuple[str, ...] = (
    "count",
    "sum",
    "distinct_days",
    "days_since",
    "tenure",
    "label",
    "role",
    "attr",
)
"""Condition leaves :func:`conditions` draws by default (``metric`` needs a plugin, so it
is drawn only when ``metrics`` is given)."""

POLICY_TYPES: tuple[str, ...] = ("admission", "eviction", "revival", "ladder", "welcome")
"""Policy types :func:`rule_books` draws from by default."""

TIMEZONES: tuple[str, ...] = ("Asia/Shanghai", "UTC", "Europe/Berlin", "America/New_York")
"""Rule-book time zones: one without daylight saving first, then ones with it."""

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-_.张王李"
_EARLIEST = datetime(2024, 1, 1)
_LATEST = datetime(2027, 12, 31)
_COMPARATOR_KEYS = ("at_least", "at_most", "above", "below", "equals")


# -- argument checks ---------------------------------------------------------------------


def _check_strategy(value: object, name: str) -> None:
    if value is not None and not isinstance(value, SearchStrategy):
        raise InvalidArgument(
            f"{name}={value!r} must be a strategy (e.g. st.sampled_from([...])), not a value"
        )


def _check_sizes(min_size: int, max_size: int, what: str) -> None:
    for name, size in ((f"min_{what}", min_size), (f"max_{what}", max_size)):
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidArgument(f"{name}={size!r} must be a non-negative integer")
    if min_size > max_size:
        raise InvalidArgument(f"min_{what}={min_size!r} is more than max_{what}={max_size!r}")


def _check_subset(values: Sequence[str], known: Sequence[str], name: str) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise InvalidArgument(f"{name}={values!r} must be a sequence of names from {list(known)}")
    unknown = [v for v in values if v not in known]
    if unknown:
        raise InvalidArgument(f"{name}: {unknown!r} not among {list(known)}")
    if not values:
        raise InvalidArgument(f"{name}={values!r} is empty: nothing could be drawn")
    return tuple(dict.fromkeys(values))


def _or(value: SearchStrategy[T] | None, default: SearchStrategy[T]) -> SearchStrategy[T]:
    return default if value is None else value


# -- small building blocks -----------------------------------------------------------------


def _ids() -> SearchStrategy[str]:
    return st.text(alphabet=_ID_ALPHABET, min_size=1, max_size=10)


def _aware_datetimes() -> SearchStrategy[datetime]:
    return st.datetimes(
        min_value=_EARLIEST,
        max_value=_LATEST,
        timezones=st.sampled_from(TIMEZONES).map(zone),
        allow_imaginary=False,
    )


def _localized(naive: datetime, tz: tzinfo) -> datetime:
    """``naive`` wall-clock time in ``tz``, to the minute (a time in a gap moves on)."""
    return naive.replace(second=0, microsecond=0, tzinfo=tz).astimezone(UTC).astimezone(tz)


def _durations(
    units: Sequence[str] = ("h", "d", "w", "mo"), max_amount: int = 30
) -> SearchStrategy[Duration]:
    return st.builds(Duration, st.integers(min_value=1, max_value=max_amount), st.sampled_from(list(units)))


def _thresholds() -> SearchStrategy[float]:
    # whole numbers and halves: counts can meet them exactly, sums of whole values too
    return st.integers(min_value=0, max_value=20).map(float) | st.integers(min_value=0, max_value=40).map(
        lambda n: n / 2
    )


def _comparators() -> SearchStrategy[dict[str, float]]:
    return st.dictionaries(st.sampled_from(_COMPARATOR_KEYS), _thresholds(), min_size=1, max_size=2)


# -- models --------------------------------------------------------------------------------


def members(
    *,
    ids: SearchStrategy[str] | None = None,
    labels: SearchStrategy[str] | None = None,
    attributes: Mapping[str, SearchStrategy[Scalar]] | None = None,
    max_labels: int = 4,
) -> SearchStrategy[Member]:
    """Members: ids from ``ids``, up to ``max_labels`` labels from ``labels`` and any
    subset of ``attributes`` (a mapping of attribute name to the strategy of its values).
    """
    _check_strategy(ids, "ids")
    _check_strategy(labels, "labels")
    _check_sizes(0, max_labels, "labels")
    attrs = ATTRIBUTES if attributes is None else attributes
    for name, strategy in attrs.items():
        _check_strategy(strategy, f"attributes[{name!r}]")
    return st.builds(
        Member,
        id=_or(ids, _ids()),
        name=st.text(max_size=8),
        labels=st.lists(_or(labels, st.sampled_from(LABELS)), max_size=max_labels, unique=True).map(tuple),
        attributes=st.fixed_dictionaries({}, optional=dict(attrs)),
        source=st.none() | st.sampled_from(["staff", "sales", "content", "partner"]),
        referrer=st.none() | _ids(),
    )


def groups(
    *,
    ids: SearchStrategy[str] | None = None,
    kinds: SearchStrategy[str] | None = None,
) -> SearchStrategy[Group]:
    """Groups with ids from ``ids`` and kinds from ``kinds`` (general, activity,
    interest, paid). ``messenger`` is left unset: a messenger name must be registered
    with the engine that runs the group."""
    _check_strategy(ids, "ids")
    _check_strategy(kinds, "kinds")
    return st.builds(
        Group,
        id=_or(ids, _ids()),
        name=st.text(max_size=12),
        kind=_or(kinds, st.sampled_from(["general", "activity", "interest", "paid"])),
        capacity=st.none() | st.integers(min_value=1, max_value=500),
        family=st.none() | st.sampled_from(["camp", "welfare"]),
        operators=st.lists(_ids(), max_size=2, unique=True).map(tuple),
    )


def events(
    *,
    ids: SearchStrategy[str] | None = None,
    kinds: SearchStrategy[str] | None = None,
    members: SearchStrategy[str] | None = None,
    groups: SearchStrategy[str | None] | None = None,
    times: SearchStrategy[datetime] | None = None,
    values: SearchStrategy[float] | None = None,
) -> SearchStrategy[Event]:
    """Events: ``kinds`` (default: common kinds and invented ones), ``members`` and
    ``groups`` are strategies of ids (a group of None is a member-wide event), ``times``
    of timezone-aware datetimes, ``values`` of finite floats."""
    for name, value in (
        ("ids", ids),
        ("kinds", kinds),
        ("members", members),
        ("groups", groups),
        ("times", times),
        ("values", values),
    ):
        _check_strategy(value, name)
    default_values = st.just(1.0) | st.integers(min_value=0, max_value=1000).map(float)
    return st.builds(
        Event,
        id=_or(ids, _ids()),
        kind=_or(kinds, st.sampled_from(EVENT_KINDS) | _ids()),
        member=_or(members, _ids()),
        group=_or(groups, st.none() | _ids()),
        at=_or(times, _aware_datetimes()),
        value=_or(values, default_values),
        data=st.fixed_dictionaries(
            {},
            optional={
                "amount": st.integers(min_value=0, max_value=1000),
                "channel": st.sampled_from(["app", "shop", "live"]),
            },
        ),
    )


@st.composite
def _membership(
    draw: st.DrawFn,
    member_ids: SearchStrategy[str],
    group_ids: SearchStrategy[str],
    roles: SearchStrategy[str],
    times: SearchStrategy[datetime],
) -> Membership:
    joined = draw(times)
    later = st.integers(min_value=0, max_value=60 * 24 * 90).map(lambda m: joined + timedelta(minutes=m))
    status = draw(st.sampled_from(["active", "notified", "evicted", "left", "removed"]))
    evicted = draw(later) if status == "evicted" or draw(st.booleans()) else None
    revivals = draw(st.integers(min_value=0, max_value=3)) if evicted is not None else 0
    promoted = draw(st.none() | later)
    return Membership(
        member=draw(member_ids),
        group=draw(group_ids),
        role=draw(roles),
        status=status,
        joined_at=joined,
        left_at=draw(later) if status == "left" else None,
        evicted_at=evicted,
        revived_at=draw(st.none() | later) if revivals else None,
        promoted_at=promoted,
        revivals=revivals,
        role_changes=draw(st.integers(min_value=1 if promoted else 0, max_value=5)),
        locked=draw(st.booleans()),
    )


def memberships(
    *,
    members: SearchStrategy[str] | None = None,
    groups: SearchStrategy[str] | None = None,
    roles: SearchStrategy[str] | None = None,
    times: SearchStrategy[datetime] | None = None,
) -> SearchStrategy[Membership]:
    """Memberships whose moments are consistent (evicted, left, revived and promoted
    after joining); ``members`` and ``groups`` are strategies of ids."""
    for name, value in (("members", members), ("groups", groups), ("roles", roles), ("times", times)):
        _check_strategy(value, name)
    return _membership(
        _or(members, _ids()),
        _or(groups, _ids()),
        _or(roles, st.sampled_from(ROLES)),
        _or(times, _aware_datetimes()),
    )


# -- conditions ----------------------------------------------------------------------------


def _windows(anchors: Sequence[str]) -> SearchStrategy[dict[str, Any]]:
    within = _durations(("h", "d", "w", "mo"), max_amount=30).map(lambda d: {"within": d})
    options: list[SearchStrategy[dict[str, Any]]] = [st.just({}), within]
    if anchors:
        options.append(st.sampled_from(list(anchors)).map(lambda a: {"since": a}))
    return st.one_of(options)


def _scopes() -> SearchStrategy[str | None]:
    return st.sampled_from([None, "group", "member"])


@st.composite
def _attr_leaf(draw: st.DrawFn, attributes: Mapping[str, SearchStrategy[Scalar]]) -> Attr:
    name = draw(st.sampled_from(sorted(attributes)))
    sample = attributes[name]
    shape = draw(st.sampled_from(["in", "equals", "compare"]))
    if shape == "in":
        values = draw(st.lists(sample.filter(lambda v: v is not None), min_size=1, max_size=3))
        return Attr(attr=name, in_=tuple(values))
    if shape == "equals":
        return Attr(attr=name, equals=draw(sample.filter(lambda v: v is not None)))
    comparators = draw(
        st.dictionaries(
            st.sampled_from(["at_least", "at_most", "above", "below"]), _thresholds(), min_size=1, max_size=2
        )
    )
    return Attr(attr=name, **comparators)


def _leaves(
    leaf_types: Sequence[str],
    event_kinds: SearchStrategy[str],
    labels: SearchStrategy[str],
    roles: SearchStrategy[str],
    attributes: Mapping[str, SearchStrategy[Scalar]],
    anchors: Sequence[str],
    metrics: SearchStrategy[str] | None,
) -> SearchStrategy[Any]:
    def windowed(cls: type[Any], key: str, **extra: SearchStrategy[Any]) -> SearchStrategy[Any]:
        subjects = metrics if key == "metric" and metrics is not None else event_kinds
        return st.builds(
            lambda kind, window, scope, comps, more: cls(
                **{key: kind}, **window, scope=scope, **comps, **more
            ),
            subjects,
            _windows(anchors),
            _scopes(),
            _comparators(),
            st.fixed_dictionaries(extra),
        )

    tenure_anchors = [a for a in anchors if a != "period_start"] or ["joined"]
    table: dict[str, SearchStrategy[Any]] = {
        "count": windowed(Count, "count"),
        "sum": windowed(Sum, "sum", field=st.sampled_from(["value", "amount"])),
        "distinct_days": windowed(DistinctDays, "distinct_days"),
        "days_since": st.builds(
            lambda kind, scope, comps: DaysSince(days_since=kind, scope=scope, **comps),
            event_kinds,
            _scopes(),
            _comparators(),
        ),
        "tenure": st.builds(
            lambda anchor, comps: Tenure(tenure=anchor, **comps),
            st.sampled_from(tenure_anchors),
            _comparators(),
        ),
        "label": st.lists(labels, min_size=1, max_size=2, unique=True).map(lambda ls: Label(label=tuple(ls))),
        "role": st.lists(roles, min_size=1, max_size=2, unique=True).map(lambda rs: Role(role=tuple(rs))),
    }
    if attributes:
        table["attr"] = _attr_leaf(attributes)
    if metrics is not None:
        table["metric"] = windowed(Metric, "metric")
    chosen = [table[t] for t in leaf_types if t in table]
    if not chosen:
        raise InvalidArgument(
            f"leaf_types={list(leaf_types)!r} leaves nothing to draw (no attributes given?)"
        )
    return st.one_of(chosen)


def _combine(children: SearchStrategy[Any]) -> SearchStrategy[Any]:
    some = st.lists(children, min_size=1, max_size=3).map(tuple)
    return st.one_of(
        some.map(lambda cs: AllOf(all=cs)),
        some.map(lambda cs: AnyOf(any=cs)),
        children.map(lambda c: Not(not_=c)),
        some.flatmap(
            lambda cs: st.integers(min_value=0, max_value=len(cs)).map(
                lambda k: AtLeastOf(at_least_of=k, of=cs)
            )
        ),
    )


def conditions(
    *,
    leaf_types: Sequence[str] = LEAF_TYPES,
    event_kinds: SearchStrategy[str] | None = None,
    labels: SearchStrategy[str] | None = None,
    roles: SearchStrategy[str] | None = None,
    attributes: Mapping[str, SearchStrategy[Scalar]] | None = None,
    anchors: Sequence[str] = ANCHORS,
    metrics: SearchStrategy[str] | None = None,
    max_leaves: int = 6,
) -> SearchStrategy[Any]:
    """Conditions of the rule language: trees of up to ``max_leaves`` leaves of
    ``leaf_types`` joined by ``all`` / ``any`` / ``not`` / ``at_least_of``.

    ``anchors`` are the moments ``since`` / ``tenure`` may name (drop ``evicted`` where
    it can never have happened); ``metrics`` is a strategy of metric names registered
    by a plugin, and only when it is given are ``metric`` leaves drawn.
    """
    known = (*LEAF_TYPES, "metric")
    leaf_types = _check_subset(leaf_types, known, "leaf_types")
    if "metric" in leaf_types and metrics is None:
        raise InvalidArgument("leaf_types includes 'metric' but no metrics= strategy names any metric")
    if isinstance(anchors, str) or not all(a in ANCHORS for a in anchors):
        raise InvalidArgument(f"anchors={anchors!r} must be a sequence of names from {list(ANCHORS)}")
    for name, value in (
        ("event_kinds", event_kinds),
        ("labels", labels),
        ("roles", roles),
        ("metrics", metrics),
    ):
        _check_strategy(value, name)
    if not isinstance(max_leaves, int) or max_leaves < 1:
        raise InvalidArgument(f"max_leaves={max_leaves!r} must be at least 1")
    leaves = _leaves(
        leaf_types,
        _or(event_kinds, st.sampled_from(EVENT_KINDS)),
        _or(labels, st.sampled_from(LABELS)),
        _or(roles, st.sampled_from(ROLES)),
        ATTRIBUTES if attributes is None else attributes,
        tuple(anchors),
        metrics,
    )
    if max_leaves == 1:
        return leaves
    return st.recursive(leaves, _combine, max_leaves=max_leaves)


_DEFAULT_WHEN = conditions(max_leaves=4)
# where no eviction can have happened yet (admission, exempt, ladder), ``since: evicted``
# would always be an empty window: draw conditions that mean something there
_DEFAULT_WHEN_NOT_EVICTED = conditions(anchors=[a for a in ANCHORS if a != "evicted"], max_leaves=4)


# -- rule books ----------------------------------------------------------------------------


@st.composite
def _rule_book(
    draw: st.DrawFn,
    min_groups: int,
    max_groups: int,
    policy_types: tuple[str, ...],
    min_policies: int,
    max_policies: int,
    when: SearchStrategy[Any],
    when_not_evicted: SearchStrategy[Any],
    timezones: SearchStrategy[str],
    kinds: KindRegistry,
) -> RuleBook:
    tz_name = draw(timezones)
    n_groups = draw(st.integers(min_value=min_groups, max_value=max_groups))
    group_kinds = st.sampled_from(["general", "activity", "interest", "paid"])
    book_groups = tuple(
        Group(id=f"g{i}", name=draw(st.sampled_from(["", f"Group {i}", f"第{i}群"])), kind=draw(group_kinds))
        for i in range(n_groups)
    )
    ids = tuple(g.id for g in book_groups)
    ctx = StrategyContext(
        groups=ids,
        timezone=tz_name,
        some_groups=st.lists(st.sampled_from(ids), min_size=1, max_size=len(ids), unique=True).map(tuple),
        when=when,
        good=when_not_evicted,
        durations=lambda units, most: _durations(units, max_amount=most),
    )
    drawable = {name: kinds.get(name).strategy(ctx) for name in policy_types}
    usable = tuple(name for name, strategy in drawable.items() if strategy is not None)
    n_policies = draw(st.integers(min_value=min_policies, max_value=max_policies)) if usable else 0
    policies: list[Any] = []
    for i in range(n_policies):
        kind = draw(st.sampled_from(usable))
        policies.append(draw(drawable[kind]).model_copy(update={"id": f"{kind}-{i}"}))
    return book_model(kinds)(
        timezone=tz_name,
        locale=draw(st.sampled_from(locales())),
        groups=book_groups,
        policies=tuple(policies),
    )


def rule_books(
    *,
    min_groups: int = 1,
    max_groups: int = 3,
    policy_types: Sequence[str] = POLICY_TYPES,
    min_policies: int = 0,
    max_policies: int = 4,
    conditions: SearchStrategy[Any] | None = None,
    timezones: SearchStrategy[str] | None = None,
    kinds: KindRegistry | None = None,
) -> SearchStrategy[RuleBook]:
    """Valid rule books: ``min_groups``..``max_groups`` groups (ids ``g0``, ``g1``, ...)
    and ``min_policies``..``max_policies`` policies of ``policy_types``.

    Each policy is drawn by its kind's own strategy (:meth:`groupops.Kind.strategy`):
    ``kinds`` (default: the built-in kinds) is the registry to draw from, so a plugin
    kind with a strategy can be named in ``policy_types``.

    ``conditions`` draws every ``when`` / ``exempt`` / ``promote`` / ``keep`` (default:
    :func:`conditions` with up to four leaves); ``timezones`` draws IANA names.
    An admission needs two groups, so asking for admissions only, with at least one
    policy and at most one group, is an :class:`InvalidArgument`.
    """
    _check_sizes(min_groups, max_groups, "groups")
    _check_sizes(min_policies, max_policies, "policies")
    if max_groups < 1:
        raise InvalidArgument(f"max_groups={max_groups!r}: a rule book names at least one group")
    registry = kinds if kinds is not None else builtin_kinds()
    types = _check_subset(policy_types, registry.names(), "policy_types")
    blind = [t for t in types if type(registry.get(t)).strategy is Kind.strategy]
    if blind:
        raise InvalidArgument(
            f"policy_types: kind {blind[0]!r} has no testing strategy (its Kind.strategy), "
            "so it cannot be drawn"
        )
    if min_policies > 0 and types == ("admission",) and max_groups < 2:
        raise InvalidArgument("an admission policy needs two groups, but max_groups=1")
    _check_strategy(conditions, "conditions")
    _check_strategy(timezones, "timezones")
    return _rule_book(
        max(min_groups, 2) if (min_policies > 0 and types == ("admission",)) else max(min_groups, 1),
        max_groups,
        types,
        min_policies,
        max_policies,
        _or(conditions, _DEFAULT_WHEN),
        _or(conditions, _DEFAULT_WHEN_NOT_EVICTED),
        _or(timezones, st.sampled_from(TIMEZONES)),
        registry,
    )


# -- histories -----------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Timeline:
    """A community's history, as :func:`histories` draws it.

    ``members`` are the profiles; ``events`` every join, activity and leave, in time
    order, each in the book's time zone; ``run_times`` the moments to run the engine
    (ascending; the first is ``start``, the last ``end``). Feed it to an engine with
    :func:`replay`.
    """

    book: RuleBook
    start: datetime
    end: datetime
    members: tuple[Member, ...]
    events: tuple[Event, ...]
    run_times: tuple[datetime, ...]

    def __repr__(self) -> str:
        def when(at: datetime) -> str:
            return at.strftime("%Y-%m-%d %H:%M%z")

        lines = [f"Timeline({when(self.start)} .. {when(self.end)}, tz={self.book.timezone}"]
        for m in self.members:
            extra = f" labels={list(m.labels)}" if m.labels else ""
            extra += f" attributes={m.attributes}" if m.attributes else ""
            lines.append(f"  member {m.id}{extra}")
        for e in self.events:
            where = f" in {e.group}" if e.group else ""
            value = f" value={e.value:g}" if e.value != 1.0 else ""
            data = f" data={e.data}" if e.data else ""
            lines.append(f"  {when(e.at)} {e.member} {e.kind}{where}{value}{data}")
        lines.append("  runs at " + ", ".join(when(t) for t in self.run_times) + ")")
        return "\n".join(lines)


def _kinds_used(book: RuleBook) -> list[str]:
    out: list[str] = []
    for _, cond in book.conditions():
        for leaf in iter_leaves(cond):
            for attr in ("count", "sum", "distinct_days", "days_since"):
                kind = getattr(leaf, attr, None)
                if isinstance(kind, str) and kind not in out:
                    out.append(kind)
    return out


def _named_in(book: RuleBook, leaf_type: type[Label] | type[Role]) -> set[str]:
    """The labels (or roles) the book's ``label`` (or ``role``) leaves name."""
    return {
        x
        for _, c in book.conditions()
        for leaf in iter_leaves(c)
        if isinstance(leaf, leaf_type)
        for x in (leaf.label if isinstance(leaf, Label) else leaf.role)
    }


def _labels_used(book: RuleBook) -> list[str]:
    return sorted(_named_in(book, Label) | set(LABELS[:3]))


def _roles_used(book: RuleBook) -> list[str]:
    found = _named_in(book, Role)
    ladder = [r for p in book.policies_of(Ladder) for r in p.roles()]  # the built-in ladder's roles
    return ["member", *sorted((found | set(ladder) | {"admin"}) - {"member"})]


def _attributes_used(book: RuleBook) -> dict[str, SearchStrategy[Scalar]]:
    out: dict[str, SearchStrategy[Scalar]] = {}
    for _, cond in book.conditions():
        for leaf in iter_leaves(cond):
            if not isinstance(leaf, Attr):
                continue
            named = [v for v in (leaf.in_ or ()) if v is not None]
            if leaf.equals is not None:
                named.append(leaf.equals)
            numbers = [
                v for k, v in leaf.expectations().items() if k in ("at_least", "at_most", "above", "below")
            ]
            options: list[SearchStrategy[Scalar]] = []
            if named:
                options.append(st.sampled_from(named))
            if numbers:
                options.append(
                    st.sampled_from(numbers).flatmap(
                        lambda x: st.sampled_from([x - 1, x - 0.5, x, x + 0.5, x + 1])
                    )
                )
            if leaf.attr in ATTRIBUTES:
                options.append(ATTRIBUTES[leaf.attr])
            previous = out.get(leaf.attr)
            out[leaf.attr] = st.one_of([*options, *([previous] if previous is not None else [])])
    for name, strategy in ATTRIBUTES.items():
        out.setdefault(name, strategy)
    return out


_HABIT_SHAPES: tuple[tuple[int, float, bool], ...] = tuple(
    (every, value, with_amount)
    for every in (24 * 60, 60, 6 * 60, 2 * 24 * 60, 7 * 24 * 60)
    for value in (1.0, 2.0, 5.0, 0.5, 100.0)
    for with_amount in (False, True)
)
"""How often a habit recurs (minutes), each event's value, and whether it carries an
``amount``: one draw for the three (the first shape is the one failing cases shrink to)."""


_ANOTHER_HABIT = st.integers(min_value=0, max_value=4)


@dataclass(frozen=True)
class _Cast:
    """What every member's story draws from: the book's groups and vocabulary, with the
    strategies built once per :func:`histories` call rather than once per draw (building
    and validating strategies inside a draw is what made histories slow)."""

    group_ids: tuple[str, ...]
    labels: SearchStrategy[list[str]]
    attributes: SearchStrategy[dict[str, Scalar]]
    roles: SearchStrategy[str]
    habit: SearchStrategy[tuple[str, int, tuple[int, float, bool]]]

    @classmethod
    def of(cls, book: RuleBook, event_kinds: SearchStrategy[str]) -> _Cast:
        return cls(
            group_ids=tuple(g.id for g in book.groups),
            labels=st.lists(st.sampled_from(_labels_used(book)), max_size=2, unique=True),
            attributes=st.fixed_dictionaries({}, optional=dict(_attributes_used(book))),
            roles=st.sampled_from(_roles_used(book)),
            habit=st.tuples(
                event_kinds, st.integers(min_value=1, max_value=8), st.sampled_from(_HABIT_SHAPES)
            ),
        )


def _story(
    draw: st.DrawFn, index: int, cast: _Cast, span: int, max_events: int
) -> tuple[Member, list[tuple[int, int, str, str | None, float, dict[str, Any]]]]:
    """One member's profile and planned events, as (minute, order within the minute,
    kind, group, value, data)."""
    mid = f"m{index}"
    member = Member(id=mid, labels=tuple(draw(cast.labels)), attributes=draw(cast.attributes))
    planned: list[tuple[int, int, str, str | None, float, dict[str, Any]]] = []
    # a yes/no per group, each shrinking to "no" on its own; a member in no group joins the first
    joins = [gi for gi in range(len(cast.group_ids)) if draw(st.booleans())] or [0]
    stints: list[tuple[str, int, int]] = []  # (group, joined, left or the end)
    minutes = st.integers(min_value=0, max_value=span)
    for gi in joins:
        gid = cast.group_ids[gi]
        joined = draw(minutes)
        role = draw(cast.roles)
        planned.append((joined, 0, "joined", gid, 1.0, {} if role == "member" else {"role": role}))
        left = span
        if draw(st.integers(min_value=0, max_value=4)) == 4:  # a few leave again (shrinks to staying)
            left = draw(st.integers(min_value=joined, max_value=span))
            planned.append((left, 2, "left", gid, 1.0, {}))
        stints.append((gid, joined, left))
    # activity comes as habits: a kind done every so often, some number of times (once, by
    # shrinking); habits make the streaks and lapses rules look for with few choices
    where_strategy = st.integers(min_value=-1, max_value=len(stints) - 1)
    budget = max_events
    # about four habits a member (as a list would draw), shrinking to none
    while budget > 0 and draw(_ANOTHER_HABIT) > 0:
        kind, times, (every, value, with_amount) = draw(cast.habit)
        where = draw(where_strategy)
        offset = draw(minutes)
        if where < 0:  # member-wide: a purchase in the shop, a payment
            group, first, last = None, offset, span
        else:
            group, joined, last = stints[where]
            first = joined + offset % (last - joined + 1)
        data = {"amount": int(value * 10)} if with_amount else {}
        for minute in range(first, min(last, first + (times - 1) * every) + 1, every):
            if budget <= 0:
                break
            planned.append((minute, 1, kind, group, value, data))
            budget -= 1
    return member, planned


@st.composite
def _timeline(
    draw: st.DrawFn,
    book: RuleBook,
    cast: _Cast,
    min_members: int,
    max_members: int,
    max_events: int,
    max_days: int,
    start: SearchStrategy[datetime] | None,
    max_runs: int,
) -> Timeline:
    tz = book.tz
    if start is None:
        began = _localized(
            draw(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31))), tz
        )
    else:
        began = draw(start).astimezone(tz)
    span = draw(st.integers(min_value=1, max_value=max_days)) * 24 * 60
    base = began.astimezone(UTC)

    def at(minutes: int) -> datetime:
        return (base + timedelta(minutes=minutes)).astimezone(tz)

    # run times are drawn before the members, so that dropping a member while shrinking
    # leaves the runs as they were
    runs = sorted({0, span, *draw(st.lists(st.integers(min_value=0, max_value=span), max_size=max_runs))})
    n = draw(st.integers(min_value=min_members, max_value=max_members))
    budget = max_events
    people: list[Member] = []
    found: list[tuple[int, int, int, int, str, str | None, float, dict[str, Any]]] = []
    for i in range(n):
        member, planned = _story(draw, i, cast, span, budget)
        people.append(member)
        budget -= sum(1 for p in planned if p[1] == 1)
        found.extend(
            (minute, order, i, k, kind, group, value, data)
            for k, (minute, order, kind, group, value, data) in enumerate(planned)
        )
    found.sort(key=lambda x: (x[0], x[1], x[2]))
    events = tuple(
        Event(id=f"m{i}-{k}", kind=kind, member=f"m{i}", group=group, at=at(minute), value=value, data=data)
        for minute, _, i, k, kind, group, value, data in found
    )
    return Timeline(
        book=book,
        start=at(0),
        end=at(span),
        members=tuple(people),
        events=events,
        run_times=tuple(at(m) for m in runs),
    )


def histories(
    *,
    book: RuleBook,
    min_members: int = 1,
    max_members: int = 6,
    max_events: int = 40,
    max_days: int = 42,
    max_runs: int = 8,
    start: SearchStrategy[datetime] | None = None,
    event_kinds: SearchStrategy[str] | None = None,
) -> SearchStrategy[Timeline]:
    """Whole community timelines consistent with ``book``, as :class:`Timeline`.

    ``min_members``..``max_members`` members (ids ``m0``, ``m1``, ...) join the book's
    groups (some with a role from the book, some leave again) and act over up to
    ``max_days`` days: check-ins, purchases, violations and every other event kind the
    book's conditions count (``event_kinds`` to choose others), at most ``max_events``
    activity events in all. Activity in a group happens while the member is in it;
    member-wide events (no group) at any time. Events are time-ordered, in the book's
    time zone. ``run_times`` includes the start (so a first run sets the eviction
    cursor), the end, and up to ``max_runs`` moments between.

    Failing cases shrink to few members, few events and early times.
    """
    if not isinstance(book, RuleBook):
        raise InvalidArgument(f"book={book!r} must be a RuleBook (load one with groupops.load_rule_book)")
    _check_sizes(min_members, max_members, "members")
    for name, value in (("max_events", max_events), ("max_runs", max_runs)):
        if not isinstance(value, int) or value < 0:
            raise InvalidArgument(f"{name}={value!r} must be a non-negative integer")
    if not isinstance(max_days, int) or max_days < 1:
        raise InvalidArgument(f"max_days={max_days!r} must be at least 1")
    _check_strategy(start, "start")
    _check_strategy(event_kinds, "event_kinds")
    used = _kinds_used(book)
    kinds = _or(
        event_kinds,
        st.sampled_from(used + [k for k in ("checkin", "purchase", "violation") if k not in used]),
    )
    cast = _Cast.of(book, kinds)
    return _timeline(book, cast, min_members, max_members, max_events, max_days, start, max_runs)


def replay(timeline: Timeline, engine: Engine) -> list[RunReport]:
    """Feed ``timeline`` to ``engine`` as it would have happened: member profiles first,
    then, for each run time, the events up to it, then ``run`` at it.

    Returns the run reports in order. The engine should be fresh and run ``timeline.book``.
    """
    engine.ingest(timeline.members)
    reports: list[RunReport] = []
    pending = list(timeline.events)
    i = 0
    for t in timeline.run_times:
        j = i
        while j < len(pending) and pending[j].at <= t:
            j += 1
        if j > i:
            engine.ingest(pending[i:j])
            i = j
        reports.append(engine.run(t))
    if i < len(pending):
        engine.ingest(pending[i:])
    return reports
