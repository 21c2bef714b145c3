"""The domain types: members, groups, memberships and events (the inputs of rules).

All are frozen pydantic models with strict validation: unknown fields are errors,
ids are non-empty, timestamps must carry a time zone and numbers must be finite.

Records that come from outside (events, members, memberships) are also held to the
limits below, so that one record can never break a store or a run:

- times are ``datetime`` objects or ISO 8601 strings (never numbers or Unix
  timestamps), aware, and within :data:`EARLIEST_TIME` to :data:`LATEST_TIME`;
- ``value`` is a JSON number (``"12"`` and ``true`` are refused, not coerced);
- text is valid Unicode (no lone surrogates) of at most :data:`MAX_TEXT_LENGTH`
  characters per string;
- ``data`` nests at most :data:`MAX_DATA_DEPTH` levels and holds at most
  :data:`MAX_DATA_ITEMS` values in all.

It is one module of about 500 lines because it is one thing: every record groupops takes
in or keeps about a community, with the validators those records share; the decision
made about them is in ``_decision.py``, above the rules.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from ._time import DurationField, as_instant

__all__ = [
    "ACTIONS",
    "BOOK_GROUP_FIELDS",
    "EARLIEST_TIME",
    "LATEST_TIME",
    "MAX_DATA_DEPTH",
    "MAX_DATA_ITEMS",
    "MAX_RECORD_SIZE",
    "MAX_TEXT_LENGTH",
    "Event",
    "Family",
    "Group",
    "GroupChange",
    "GroupKind",
    "GroupStatus",
    "Id",
    "LabelChange",
    "LedgerEntry",
    "Member",
    "Membership",
    "MembershipChange",
    "MembershipStatus",
    "Term",
    "Time",
    "change_group",
    "ledger_entry_id",
    "name_placeholders",
]

EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
"""The earliest time an event or membership may carry."""
LATEST_TIME = datetime(2200, 1, 1, tzinfo=UTC)
"""Times must be before this (so that a rule book's durations, at most 100 years, can
be added to any stored time)."""
MAX_TEXT_LENGTH = 65_536
"""The longest string (in characters) a record may hold, in any field or in ``data``."""
MAX_DATA_DEPTH = 32
"""How deeply ``data`` may nest: ``{"a": {"b": 1}}`` is 2 levels."""
MAX_DATA_ITEMS = 10_000
"""How many values (keys and items, at every level) ``data`` may hold in all."""
MAX_RECORD_SIZE = 1_048_576
"""The longest JSON text of one record: bytes of a line in a file, characters of a
string given to :meth:`Engine.ingest`."""

# An ISO 8601 date and time: a date, then ``T`` or a space, then the hour. Anything
# else (``"1700000000"``, ``"yesterday"``) is refused before pydantic could read it as
# a Unix timestamp.
_ISO_TIME = re.compile(r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}")


def _valid_text(value: str) -> str:
    if len(value) > MAX_TEXT_LENGTH:
        raise ValueError(f"is {len(value):,} characters long; the limit is {MAX_TEXT_LENGTH:,}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start : exc.end]
        raise ValueError(
            f"{value[:40]!r} is not valid Unicode text: {bad!r} at character {exc.start} is a lone surrogate"
        ) from None
    return value


def _non_empty_id(value: str) -> str:
    if not value.strip():
        raise ValueError(f"{value!r} is not a valid id: ids are non-empty")
    return _valid_text(value)


def _time_text(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_TIME.match(value)):
        return value
    raise ValueError(f"{value!r} is not an ISO 8601 time with an offset like '2026-11-20T08:00:00+08:00'")


def _in_range(value: datetime) -> datetime:
    if not EARLIEST_TIME <= value < LATEST_TIME:
        raise ValueError(
            f"{value.isoformat()!r} is outside the supported range "
            f"{EARLIEST_TIME:%Y-%m-%d} to {LATEST_TIME:%Y-%m-%d} UTC"
        )
    return value


Id = Annotated[str, AfterValidator(_non_empty_id)]
"""A non-empty identifier (member, group, event, policy)."""

Text = Annotated[str, AfterValidator(_valid_text)]
"""A string that is valid Unicode and at most :data:`MAX_TEXT_LENGTH` characters."""

Time = Annotated[
    AwareDatetime, BeforeValidator(_time_text), AfterValidator(_in_range), AfterValidator(as_instant)
]
"""A time zone-aware instant from :data:`EARLIEST_TIME` up to :data:`LATEST_TIME`,
given as a ``datetime`` or an ISO 8601 string with an offset, and kept as an instant
(:func:`~groupops._time.as_instant`): models compare their times as instants
whatever zone object they were written with."""

Scalar = Text | int | float | bool | None
GroupKind = Annotated[str, AfterValidator(_non_empty_id)]
"""A group's kind: an open string (``general``, ``activity``, ``interest``, ``paid``,
``flash``, ...) that policies select groups by."""
GroupStatus = Literal["open", "closed", "dissolved"]
"""Where a group stands: ``open`` (members come and go), ``closed`` (kept, but no policy
decides on it any more) or ``dissolved`` (gone from the platform)."""
MembershipStatus = Literal["active", "notified", "evicted", "left", "removed"]

ACTIONS = (
    "invite",
    "notice",
    "spare",
    "evict",
    "revive",
    "promote",
    "demote",
    "welcome",
    "warn",
    "remove",
    "digest",
    "route",
    "task",
)
"""Deprecated: the actions of the built-in kinds and some planned ones, in a fixed
order. Actions are registered by kinds now: ask :meth:`KindRegistry.action_names`
(``Engine.kinds``) and :meth:`KindRegistry.action` for an action's templates and
labels. Kept for code that imported it; no part of groupops reads it for decisions."""


class _Frozen(BaseModel):
    # ser_json_inf_nan: a nested explanation may hold inf ("never"); JSON writes "Infinity"
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, ser_json_inf_nan="strings")


class Member(_Frozen):
    """A person in the community, with the labels operators select by.

    ``labels`` are tags such as customer level or paying status (``"A"``, ``"premium"``);
    ``attributes`` are named values (``{"city": "杭州", "orders": 3}``).
    """

    id: Id
    name: Text = ""
    labels: tuple[Text, ...] = ()
    attributes: dict[Text, Scalar] = Field(default_factory=dict)
    source: Text | None = None
    referrer: Text | None = None

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_sorted(cls, value: Any) -> Any:
        if isinstance(value, list | tuple | set | frozenset):
            return tuple(sorted(set(value)))
        return value


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def name_placeholders(pattern: str) -> list[str]:
    """The placeholders of a family's name pattern, in order: ``["city", "n"]`` for
    ``"{city}·XX品牌福利社 {n}群"``."""
    return [m.group(1) for m in _PLACEHOLDER.finditer(pattern)]


class Term(_Frozen):
    """How long a group lasts: from ``start``, for ``length`` (``1y``, ``6mo``, ``90d``)."""

    start: Time
    length: DurationField

    def end(self, tz: tzinfo | None = None) -> datetime:
        """The instant the term ends; calendar units (``mo``, ``y``) are counted in
        ``tz`` (default: the offset ``start`` was written with)."""
        zone_ = tz if tz is not None else self.start.tzinfo
        assert zone_ is not None  # Time is always aware
        return self.length.after(self.start, zone_)


class Family(_Frozen):
    """A group template: groups of one family share a kind, a capacity, a name pattern
    and their announcement, rules and welcome texts.

    ``name`` is a pattern: ``{n}`` is the group's number in the family and every other
    placeholder must be a key of ``vars`` (``{city}`` with ``vars: {city: 杭州}``).
    """

    id: Id
    kind: GroupKind = "general"
    capacity: int | None = Field(default=None, ge=1, strict=True)
    name: Text = "{n}"
    announcement: Text = ""
    rules: Text = ""
    welcome: Text = ""
    vars: dict[Text, Text] = Field(default_factory=dict)

    def group_name(self, n: int, **extra: str) -> str:
        """The name of the family's ``n``-th group: the pattern with ``{n}`` and the
        family's ``vars`` (then ``extra``) filled in. ``KeyError`` names a placeholder
        with no value."""
        values = {**self.vars, **extra, "n": str(n)}

        def fill(m: re.Match[str]) -> str:
            key = m.group(1)
            if key not in values:
                raise KeyError(f"name pattern {self.name!r}: no value for {{{key}}}")
            return values[key]

        return _PLACEHOLDER.sub(fill, self.name)


class Group(_Frozen):
    """A community group: named in the rule book, or created at run time and kept in
    the store.

    ``family`` names a family the book declares (a book that declares no ``families``
    may still use it as a free label, as before); ``kind`` is an open string;
    ``capacity`` is how many present members it may hold; ``term`` (``{start, length}``)
    and ``ends_at`` say when it ends (enforced by the policies that use them).
    ``messenger`` names the messenger plugin that reaches it; ``operators`` are who get
    operator tasks for actions the messenger cannot carry out. ``status`` is kept by the
    store (a rule book does not set it).
    """

    id: Id
    name: Text = ""
    kind: GroupKind = "general"
    capacity: int | None = Field(default=None, ge=1)
    family: Id | None = None
    messenger: str | None = None
    operators: tuple[str, ...] = ()
    announcement: Text = ""
    rules: Text = ""
    welcome: Text = ""
    term: Term | None = None
    ends_at: Time | None = None
    vars: dict[Text, Text] = Field(default_factory=dict)
    status: GroupStatus = "open"

    @property
    def display_name(self) -> str:
        """The name, or the id when the group has no name."""
        return self.name or self.id


BOOK_GROUP_FIELDS: tuple[str, ...] = tuple(f for f in Group.model_fields if f not in ("id", "status"))
"""The fields of a group a rule book declares (all but ``id`` and ``status``): what
seeding copies into the store when the book changes them."""


class GroupChange(_Frozen):
    """One state a group took, and the instant it took effect: what a store's group
    history holds.

    ``fields`` names what changed (every field for a group's first state);
    ``decision`` is the id of the decision that made the change; ``source`` says where
    it came from: ``book`` (seeded from the rule book), ``decision`` or ``host``.
    """

    at: Time
    group: Group
    fields: tuple[str, ...] = ()
    decision: str | None = None
    source: Literal["book", "decision", "host"] = "host"


def change_group(
    group: Group,
    at: datetime,
    *,
    decision: str | None = None,
    source: Literal["book", "decision", "host"] | None = None,
    **fields: Any,
) -> GroupChange:
    """Apply ``fields`` to ``group`` and return the change to record (its ``group`` is
    the new state; pass it to a store's ``record_group``). Pure: nothing is written.

    The new state is validated like any group (``ValueError`` naming the field and the
    value); ``id`` cannot change. ``source`` defaults to ``decision`` when a decision
    is given, else ``host``. ``fields`` in the change lists only the fields whose
    value differs.
    """
    if "id" in fields:
        raise ValueError(f"id: a group's id cannot change (from {group.id!r} to {fields['id']!r})")
    unknown = sorted(set(fields) - set(Group.model_fields))
    if unknown:
        raise ValueError(f"{unknown[0]}: {unknown[0]!r} is not a field of a group")
    new = Group.model_validate({**group.model_dump(), **fields})
    changed = tuple(f for f in fields if getattr(new, f) != getattr(group, f))
    return GroupChange(
        at=at,
        group=new,
        fields=changed,
        decision=decision,
        source=source or ("decision" if decision is not None else "host"),
    )


PRESENT_STATUSES: Final = ("active", "notified")
"""The statuses of a member in the group (:attr:`Membership.present`)."""


class Membership(_Frozen):
    """One member in one group: role, status and the moments rules measure from."""

    member: Id
    group: Id
    role: str = "member"
    status: MembershipStatus = "active"
    joined_at: Time
    left_at: Time | None = None
    evicted_at: Time | None = None
    revived_at: Time | None = None
    promoted_at: Time | None = None
    revivals: int = Field(default=0, ge=0, strict=True)
    role_changes: int = Field(default=0, ge=0, strict=True)
    locked: bool = Field(default=False, strict=True)

    @property
    def present(self) -> bool:
        """True while the member is in the group (active or notified)."""
        return self.status in PRESENT_STATUSES


class MembershipChange(_Frozen):
    """One state a membership took, and the instant it took effect: what a store's
    membership history holds.

    ``decision`` is the id of the decision that made the change, or None for a change
    from an event (``joined``, ``left``) or one put directly.
    """

    at: Time
    membership: Membership
    decision: str | None = None


class LabelChange(_Frozen):
    """The labels a member held from an instant on: what a store's label history holds.

    ``labels`` is the whole set after the change and ``previous`` the set just before it
    (None: not known); ``decision`` is the id of the decision that made it (a ``tier``
    move), or None for a change the host made; ``source`` says which: ``decision`` or
    ``host``.
    """

    at: Time
    member: Id
    labels: tuple[Text, ...] = ()
    previous: tuple[Text, ...] | None = None
    decision: str | None = None
    source: Literal["decision", "host"] = "host"

    @field_validator("labels", "previous", mode="before")
    @classmethod
    def _labels_sorted(cls, value: Any) -> Any:
        if isinstance(value, list | tuple | set | frozenset):
            return tuple(sorted(set(value)))
        return value


class Event(_Frozen):
    """Something that happened: a check-in, a purchase, a violation, a join.

    ``kind`` is an open string. ``group`` is None for member-wide events (a purchase in
    the shop). ``value`` is what ``sum`` adds up by default; ``data`` holds anything else.
    """

    id: Id
    kind: Annotated[str, AfterValidator(_non_empty_id)]
    member: Id
    group: Id | None = None
    at: Time
    value: Annotated[float, Field(strict=True)] = 1.0
    data: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _checked_data(cls, values: Any) -> Any:
        # before pydantic copies it: a value nested thousands deep must be refused
        # here, not hit Python's recursion limit there. The messages carry their own
        # path inside data (``data.items[2].price: nan is not a finite number``).
        data = values.get("data") if isinstance(values, dict) else None
        if isinstance(data, dict):
            _check_data(data, "data", depth=1, budget=[MAX_DATA_ITEMS])
        return values


def _check_data(value: Any, path: str, *, depth: int, budget: list[int]) -> None:
    """Refuse what JSON (and so every store) cannot carry or a run should not hold:
    NaN and infinity, invalid text, nesting deeper than MAX_DATA_DEPTH, more than
    MAX_DATA_ITEMS values. ``path`` is where the walk is (``data.items[2]``); ``budget``
    counts the values left, shared by the whole walk."""
    where = f"{path}: "
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}{value!r} is not a finite number")
    if isinstance(value, str):
        try:
            _valid_text(value)
        except ValueError as exc:
            raise ValueError(f"{where}{exc}") from None
        return
    if not isinstance(value, dict | list | tuple):
        return
    if depth > MAX_DATA_DEPTH:
        raise ValueError(f"data: nested more than {MAX_DATA_DEPTH} levels deep (the limit)")
    budget[0] -= len(value)
    if budget[0] < 0:
        raise ValueError(f"data: holds more than {MAX_DATA_ITEMS:,} values (the limit)")
    if isinstance(value, dict):
        for k, v in value.items():
            key_path = f"{path}.{k}"
            if not isinstance(k, str):
                raise ValueError(f"{where}key {k!r} is not a string")
            _check_data(k, path, depth=depth, budget=budget)
            _check_data(v, key_path, depth=depth + 1, budget=budget)
    else:
        for i, v in enumerate(value):
            _check_data(v, f"{path}[{i}]", depth=depth + 1, budget=budget)


def ledger_entry_id(cause_type: str, cause: str) -> str:
    """The id of the points entry a cause makes: one entry per event or decision, ever,
    so recording the same cause twice (a rerun, a second policy) adds nothing."""
    return f"{cause_type}:{cause}"


class LedgerEntry(_Frozen):
    """One entry of the points ledger: ``points`` earned (positive) or redeemed
    (negative) by ``member`` at ``at``, because of ``cause`` (an event id or a decision
    id, as ``cause_type`` says), written by ``policy``.

    ``id`` is :func:`ledger_entry_id` of the cause: a cause pays at most once. A
    member's balance at an instant is the sum of the member's entries at or before it.
    """

    id: Id
    member: Id
    at: Time
    points: Annotated[float, Field(allow_inf_nan=False)]
    kind: Literal["earn", "redeem"]
    cause: Id
    cause_type: Literal["event", "decision"]
    policy: Id

    @classmethod
    def make(
        cls,
        *,
        member: str,
        at: datetime,
        points: float,
        kind: Literal["earn", "redeem"],
        cause: str,
        cause_type: Literal["event", "decision"],
        policy: str,
    ) -> LedgerEntry:
        """An entry whose id is derived from its cause."""
        return cls(
            id=ledger_entry_id(cause_type, cause),
            member=member,
            at=at,
            points=points,
            kind=kind,
            cause=cause,
            cause_type=cause_type,
            policy=policy,
        )

    @model_validator(mode="after")
    def _signed(self) -> LedgerEntry:
        if (self.kind == "earn") != (self.points >= 0):
            sign = "zero or more" if self.kind == "earn" else "negative"
            raise ValueError(f"points: {self.points!r} for a {self.kind!r} entry; it must be {sign}")
        return self
