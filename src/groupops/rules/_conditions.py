"""The condition language: leaves and combinators, as data.

A condition is a mapping whose first recognised key names its kind::

    {count: purchase, within: 365d, at_least: 2}
    {days_since: checkin, at_least: 7}
    {all: [{role: active}, {count: answer, within: 30d, at_least: 10}]}

Nothing in a condition is code: every leaf has a plain meaning over a member's events,
labels, attributes and membership, so the same condition can later be compiled to SQL.

Why it is this long: it is the whole condition language in one place, about twenty leaf
and combinator models of a few lines each plus the discriminated union that reads them;
split by leaf, the union and :func:`condition_key` would have to import every part back.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    FiniteFloat,
    PrivateAttr,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from .._time import DurationField

__all__ = [
    "ANCHORS",
    "COMPARATORS",
    "AllOf",
    "AnyOf",
    "AtLeastOf",
    "Attr",
    "Condition",
    "Count",
    "DaysSince",
    "DistinctDays",
    "Label",
    "MemberOf",
    "Metric",
    "Not",
    "Points",
    "Referees",
    "Referrer",
    "Role",
    "Scope",
    "Segment",
    "Source",
    "Sum",
    "Tenure",
    "condition_key",
]

Anchor = Literal["joined", "evicted", "revived", "promoted", "period_start"]
ANCHORS: tuple[str, ...] = ("joined", "evicted", "revived", "promoted", "period_start")
Scope = Literal["group", "member"]
COMPARATORS = ("at_least", "at_most", "above", "below", "equals")
Scalar = str | int | float | bool


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


class _Compared(_Rule):
    """A numeric leaf: one or more comparators, all of which must hold."""

    at_least: FiniteFloat | None = None
    at_most: FiniteFloat | None = None
    above: FiniteFloat | None = None
    below: FiniteFloat | None = None
    equals: FiniteFloat | None = None

    @model_validator(mode="after")
    def _needs_a_comparator(self) -> _Compared:
        if not self.comparators():
            raise ValueError("needs a comparator: one of at_least, at_most, above, below, equals")
        return self

    def comparators(self) -> dict[str, float]:
        """The comparators given, e.g. ``{"at_least": 2.0}``."""
        return {k: v for k in COMPARATORS if (v := getattr(self, k)) is not None}

    def check(self, observed: float) -> bool:
        """Whether ``observed`` satisfies every comparator."""
        # written out rather than via comparators(): this runs for every leaf of every member
        if self.at_least is not None and not observed >= self.at_least:
            return False
        if self.at_most is not None and not observed <= self.at_most:
            return False
        if self.above is not None and not observed > self.above:
            return False
        if self.below is not None and not observed < self.below:
            return False
        return self.equals is None or observed == self.equals


def _compare(observed: float, comparators: dict[str, float]) -> bool:
    for key, limit in comparators.items():
        if key == "at_least" and not observed >= limit:
            return False
        if key == "at_most" and not observed <= limit:
            return False
        if key == "above" and not observed > limit:
            return False
        if key == "below" and not observed < limit:
            return False
        if key == "equals" and not observed == limit:
            return False
    return True


class _Windowed(_Rule):
    """A leaf over events in a window: trailing (``within``) or since a moment (``since``)."""

    within: DurationField | None = None
    since: Anchor | None = None
    scope: Scope | None = None

    @model_validator(mode="after")
    def _one_window(self) -> _Windowed:
        if self.within is not None and self.since is not None:
            raise ValueError("give either 'within' or 'since', not both")
        return self

    def window_text(self) -> str | None:
        """``within 30d`` / ``since joined`` / None for all time."""
        if self.within is not None:
            return f"within {self.within}"
        if self.since is not None:
            return f"since {self.since}"
        return None


EventKind = Annotated[str, Field(min_length=1)]


class Count(_Compared, _Windowed):
    """How many events of a kind: ``{count: purchase, within: 365d, at_least: 2}``."""

    count: EventKind


class Sum(_Compared, _Windowed):
    """The total of a number over events: ``{sum: purchase, field: amount, at_least: 500}``.

    ``field`` is ``value`` (the event's value, the default) or a key of the event's
    ``data``; events whose field is missing or not a finite number add nothing.
    """

    sum: EventKind
    field: str = "value"


class DistinctDays(_Compared, _Windowed):
    """On how many calendar days (book time zone) an event of a kind happened."""

    distinct_days: EventKind


class DaysSince(_Compared):
    """Days since the last event of a kind, up to now; never is infinitely long.

    Measured as elapsed time in 24-hour days (6.5 days is not yet 7).
    """

    days_since: EventKind
    scope: Scope | None = None


class Tenure(_Compared):
    """Days since a moment of the membership: ``{tenure: joined, at_least: 30}``."""

    tenure: Literal["joined", "evicted", "revived", "promoted"]


class Metric(_Compared, _Windowed):
    """A number computed by a plugin-registered metric: ``{metric: live_minutes, ...}``."""

    metric: EventKind


def _tuple_of_str(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    return value


# ``{label: premium}`` is shorthand for ``{label: [premium]}``: the schema takes both
_NAMES_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "string", "minLength": 1},
            {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
        ]
    }
)
Names = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], _NAMES_SCHEMA]


class Label(_Rule):
    """The member carries a label (or any of several): ``{label: premium}``."""

    label: Names = Field(min_length=1)

    _as_tuple = field_validator("label", mode="before")(_tuple_of_str)


class Role(_Rule):
    """The membership holds a role (or any of several): ``{role: [owner, admin]}``."""

    role: Names = Field(min_length=1)

    _as_tuple = field_validator("role", mode="before")(_tuple_of_str)


class Attr(_Rule):
    """A member attribute: ``{attr: city, in: [杭州, 上海]}`` or ``{attr: age, at_least: 18}``.

    A missing attribute fails every test.
    """

    attr: Annotated[str, Field(min_length=1)]
    in_: tuple[Scalar, ...] | None = Field(default=None, alias="in")
    equals: Scalar | None = None
    at_least: FiniteFloat | None = None
    at_most: FiniteFloat | None = None
    above: FiniteFloat | None = None
    below: FiniteFloat | None = None

    @model_validator(mode="after")
    def _needs_a_test(self) -> Attr:
        if not self.expectations():
            raise ValueError("needs 'in', 'equals' or a comparator (at_least, at_most, above, below)")
        return self

    def expectations(self) -> dict[str, Any]:
        """The tests given, e.g. ``{"in": ["杭州"]}``."""
        out: dict[str, Any] = {}
        if self.in_ is not None:
            out["in"] = list(self.in_)
        for key in ("equals", "at_least", "at_most", "above", "below"):
            if (v := getattr(self, key)) is not None:
                out[key] = v
        return out

    def check(self, value: Any) -> bool:
        """Whether an attribute value satisfies every test (None, i.e. missing, never does)."""
        if value is None:
            return False
        for key, limit in self.expectations().items():
            if key == "in":
                if value not in limit:
                    return False
            elif key == "equals":
                if value != limit:
                    return False
            else:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    return False
                if not _compare(float(value), {key: limit}):
                    return False
        return True


class Source(_Rule):
    """The member's source channel is one of the names: ``{source: 导购}`` or
    ``{source: [sdr, sales]}`` (a member with no source fails)."""

    source: Names = Field(min_length=1)

    _as_tuple = field_validator("source", mode="before")(_tuple_of_str)


class Referrer(_Rule):
    """Who brought the member: ``{referrer: sdr-zhang}``, ``{referrer: [a, b]}``, or
    ``{referrer: any}`` for anyone at all (a member nobody brought fails)."""

    referrer: Names = Field(min_length=1)

    _as_tuple = field_validator("referrer", mode="before")(_tuple_of_str)

    @property
    def anyone(self) -> bool:
        """True for ``{referrer: any}``."""
        return self.referrer == ("any",)


class GroupKinds(_Rule):
    """``{kind: paid}`` inside ``member_of``: any group of that kind (or kinds)."""

    kind: Names = Field(min_length=1)

    _as_tuple = field_validator("kind", mode="before")(_tuple_of_str)


_MEMBER_OF_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "string", "minLength": 1},
            {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
            {
                "type": "object",
                "properties": {"kind": _NAMES_SCHEMA.json_schema},
                "required": ["kind"],
                "additionalProperties": False,
            },
        ]
    }
)


class MemberOf(_Rule):
    """The member is present in a group: ``{member_of: vip}``, ``{member_of: [vip, camp]}``,
    or in any group of a kind: ``{member_of: {kind: paid}}``. Counts the member's
    memberships in every group, not only the one a policy evaluates."""

    member_of: Annotated[
        Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Tag("<groups>")]
        | Annotated[GroupKinds, Tag("<kinds>")],
        Discriminator(lambda v: "<kinds>" if isinstance(v, dict | GroupKinds) else "<groups>"),
        _MEMBER_OF_SCHEMA,
    ]

    _as_tuple = field_validator("member_of", mode="before")(_tuple_of_str)

    @model_validator(mode="after")
    def _not_empty(self) -> MemberOf:
        if isinstance(self.member_of, tuple) and not self.member_of:
            raise ValueError("member_of: names no group; give a group id, a list of them or {kind: ...}")
        return self

    @property
    def groups(self) -> tuple[str, ...]:
        """The group ids named (empty for ``{kind: ...}``)."""
        return self.member_of if isinstance(self.member_of, tuple) else ()

    @property
    def kinds(self) -> tuple[str, ...]:
        """The group kinds named (empty for group ids)."""
        return self.member_of.kind if isinstance(self.member_of, GroupKinds) else ()


class Segment(_Rule):
    """A named segment of the rule book's ``segments``: ``{segment: bplus-sdr}`` holds
    when the segment's condition holds. Loading the book resolves the name (an unknown
    name, or segments that refer to each other in a circle, is a :class:`RuleError`)."""

    segment: Annotated[str, Field(min_length=1)]
    _definition: Any = PrivateAttr(default=None)

    @property
    def definition(self) -> Any:
        """The segment's condition, once a rule book resolved it (else None)."""
        return self._definition


class Points(_Compared):
    """The member's points: ``{points: balance, at_least: 100}``, the sum of the member's
    entries in the points ledger at or before the moment (0 with no ledger)."""

    points: Literal["balance"]


class Referees(_Compared):
    """How many of the member's referees (members whose profile names the member as
    ``referrer``) meet a condition, each evaluated as of the same moment:
    ``{referees: {tenure: joined, at_least: 7}, at_least: 3}``.

    A referee's condition reads the referee's own events, profile and membership in the
    group being evaluated; a member-level evaluation has no group, so its ``tenure`` and
    ``role`` read nothing unless the policy names the group."""

    referees: Condition


class AllOf(_Rule):
    """Every child holds."""

    all: tuple[Condition, ...] = Field(min_length=1)


class AnyOf(_Rule):
    """At least one child holds."""

    any: tuple[Condition, ...] = Field(min_length=1)


class Not(_Rule):
    """The child does not hold."""

    not_: Condition = Field(alias="not")


class AtLeastOf(_Rule):
    """At least ``k`` of the children hold: ``{at_least_of: 2, of: [...]}``."""

    at_least_of: int = Field(ge=0)
    of: tuple[Condition, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _k_fits(self) -> AtLeastOf:
        if self.at_least_of > len(self.of):
            raise ValueError(
                f"at_least_of: {self.at_least_of} is more than the {len(self.of)} conditions given"
            )
        return self


_TAGS: dict[str, type[_Rule]] = {
    "count": Count,
    "sum": Sum,
    "distinct_days": DistinctDays,
    "days_since": DaysSince,
    "tenure": Tenure,
    "metric": Metric,
    "label": Label,
    "role": Role,
    "attr": Attr,
    "source": Source,
    "referrer": Referrer,
    "member_of": MemberOf,
    "segment": Segment,
    "points": Points,
    "referees": Referees,
    "all": AllOf,
    "any": AnyOf,
    "not": Not,
    "at_least_of": AtLeastOf,
}
_KEY_OF: dict[type[_Rule], str] = {cls: key for key, cls in _TAGS.items()}


def condition_key(value: Any) -> str | None:
    """The key that names a condition's kind (``count``, ``all``, ...), or None."""
    if isinstance(value, _Rule):
        return _KEY_OF.get(type(value))
    if isinstance(value, dict):
        for key in value:
            key = _PYTHON_NAMES.get(key, key)
            if key in _TAGS:
                return f"<{key}>"
    return None


# ``model_dump()`` without ``by_alias`` writes ``not`` under its Python name
_PYTHON_NAMES = {"not_": "not"}


def _discriminate(value: Any) -> str | None:
    key = condition_key(value)
    if key is None:
        return None
    return key if key.startswith("<") else f"<{key}>"


Condition = Annotated[
    Annotated[Count, Tag("<count>")]
    | Annotated[Sum, Tag("<sum>")]
    | Annotated[DistinctDays, Tag("<distinct_days>")]
    | Annotated[DaysSince, Tag("<days_since>")]
    | Annotated[Tenure, Tag("<tenure>")]
    | Annotated[Metric, Tag("<metric>")]
    | Annotated[Label, Tag("<label>")]
    | Annotated[Role, Tag("<role>")]
    | Annotated[Attr, Tag("<attr>")]
    | Annotated[Source, Tag("<source>")]
    | Annotated[Referrer, Tag("<referrer>")]
    | Annotated[MemberOf, Tag("<member_of>")]
    | Annotated[Segment, Tag("<segment>")]
    | Annotated[Points, Tag("<points>")]
    | Annotated[Referees, Tag("<referees>")]
    | Annotated[AllOf, Tag("<all>")]
    | Annotated[AnyOf, Tag("<any>")]
    | Annotated[Not, Tag("<not>")]
    | Annotated[AtLeastOf, Tag("<at_least_of>")],
    Discriminator(
        _discriminate,
        custom_error_type="condition_kind",
        custom_error_message=(
            "is not a condition: expected a mapping with one of the keys " + ", ".join(_TAGS)
        ),
    ),
]

for _model in (AllOf, AnyOf, Not, AtLeastOf, Referees):
    _model.model_rebuild()


def _union_classes(annotation: Any) -> tuple[type, ...]:
    if isinstance(annotation, type):
        return (annotation,)
    return tuple(c for arg in typing.get_args(annotation) for c in _union_classes(arg))


CONDITION_TYPES: tuple[type, ...] = _union_classes(Condition)
"""Every class a :data:`Condition` can be: what tells a condition among a policy's fields."""


def iter_leaves(cond: Any) -> list[Any]:
    """Every leaf of a condition, depth first; a ``referees`` leaf is followed by the
    leaves of the condition it asks of each referee (so a metric or an event kind used
    there is found too)."""
    if isinstance(cond, Referees):
        return [cond, *iter_leaves(cond.referees)]
    if isinstance(cond, AllOf):
        return [x for c in cond.all for x in iter_leaves(c)]
    if isinstance(cond, AnyOf):
        return [x for c in cond.any for x in iter_leaves(c)]
    if isinstance(cond, Not):
        return iter_leaves(cond.not_)
    if isinstance(cond, AtLeastOf):
        return [x for c in cond.of for x in iter_leaves(c)]
    return [cond]


def segment_refs(cond: Any) -> list[Segment]:
    """Every ``{segment: ...}`` reference in a condition (not following definitions)."""
    return [leaf for leaf in iter_leaves(cond) if isinstance(leaf, Segment)]
