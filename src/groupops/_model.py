"""The domain types: members, groups, memberships, events and decisions.

All are frozen pydantic models with strict validation: unknown fields are errors,
ids are non-empty, timestamps must carry a time zone and numbers must be finite.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    field_validator,
)

from .rules._explain import Explanation
from .rules._time import Instant

__all__ = [
    "ACTIONS",
    "Decision",
    "Event",
    "Group",
    "GroupKind",
    "Id",
    "Member",
    "Membership",
    "MembershipChange",
    "MembershipStatus",
    "decision_id",
]


def _non_empty_id(value: str) -> str:
    if not value.strip():
        raise ValueError(f"{value!r} is not a valid id: ids are non-empty")
    return value


Id = Annotated[str, AfterValidator(_non_empty_id)]
"""A non-empty identifier (member, group, event, policy)."""

Scalar = str | int | float | bool | None
GroupKind = Literal["general", "activity", "interest", "paid"]
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


class _Frozen(BaseModel):
    # ser_json_inf_nan: a nested explanation may hold inf ("never"); JSON writes "Infinity"
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, ser_json_inf_nan="strings")


class Member(_Frozen):
    """A person in the community, with the labels operators select by.

    ``labels`` are tags such as customer level or paying status (``"A"``, ``"premium"``);
    ``attributes`` are named values (``{"city": "杭州", "orders": 3}``).
    """

    id: Id
    name: str = ""
    labels: tuple[str, ...] = ()
    attributes: dict[str, Scalar] = Field(default_factory=dict)
    source: str | None = None
    referrer: str | None = None

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_sorted(cls, value: Any) -> Any:
        if isinstance(value, list | tuple | set | frozenset):
            return tuple(sorted(set(value)))
        return value


class Group(_Frozen):
    """A community group named in the rule book.

    ``family`` ties groups of one programme together (the camp's cohorts); ``messenger``
    names the messenger plugin that reaches it; ``operators`` are who get operator tasks
    for actions the messenger cannot carry out.
    """

    id: Id
    name: str = ""
    kind: GroupKind = "general"
    capacity: int | None = Field(default=None, ge=1)
    family: str | None = None
    messenger: str | None = None
    operators: tuple[str, ...] = ()


class Membership(_Frozen):
    """One member in one group: role, status and the moments rules measure from."""

    member: Id
    group: Id
    role: str = "member"
    status: MembershipStatus = "active"
    joined_at: Instant
    left_at: Instant | None = None
    evicted_at: Instant | None = None
    revived_at: Instant | None = None
    promoted_at: Instant | None = None
    revivals: int = Field(default=0, ge=0)
    role_changes: int = Field(default=0, ge=0)
    locked: bool = False

    @property
    def present(self) -> bool:
        """True while the member is in the group (active or notified)."""
        return self.status in ("active", "notified")


class MembershipChange(_Frozen):
    """One state a membership took, and the instant it took effect: what a store's
    membership history holds.

    ``decision`` is the id of the decision that made the change, or None for a change
    from an event (``joined``, ``left``) or one put directly.
    """

    at: Instant
    membership: Membership
    decision: str | None = None


class Event(_Frozen):
    """Something that happened: a check-in, a purchase, a violation, a join.

    ``kind`` is an open string. ``group`` is None for member-wide events (a purchase in
    the shop). ``value`` is what ``sum`` adds up by default; ``data`` holds anything else.
    """

    id: Id
    kind: Annotated[str, AfterValidator(_non_empty_id)]
    member: Id
    group: Id | None = None
    at: Instant
    value: FiniteFloat = 1.0
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("data")
    @classmethod
    def _finite_data(cls, value: dict[str, Any]) -> dict[str, Any]:
        _reject_non_finite(value, "data")
        return value


def _reject_non_finite(value: Any, path: str) -> None:
    # JSON (and so every store) cannot carry NaN or infinity: refuse them on the way in
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path}: {value!r} is not a finite number")
    if isinstance(value, dict):
        for k, v in value.items():
            _reject_non_finite(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _reject_non_finite(v, f"{path}[{i}]")


def decision_id(policy: str, action: str, member: str, group: str, period: str) -> str:
    """The stable id of a decision: the same inputs always give the same id."""
    key = "\x1f".join((policy, action, member, group, period))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


class Decision(_Frozen):
    """What a policy decided for one member in one group, and why.

    ``id`` is :func:`decision_id` of (policy, action, member, group, period), so deciding
    the same thing twice yields the same id. ``revision`` is the content hash of the rule
    book that made the decision. ``status`` is ``applied`` (recorded, its membership
    change and messages with it), ``vetoed`` (recorded alone: a plugin vetoed it, saying
    ``veto_reason``) or ``preview`` (a dry run: nothing was recorded).

    ``explanation`` is the evaluated requirement tree of the policy's own condition when
    the decision was made: an eviction's ``when`` for ``notice``, ``evict`` and
    ``spare`` (it says who is at risk, so it passed for a notice or an eviction and
    failed for a spare); the next step's ``promote`` for ``promote``; the current step's
    ``keep`` for ``demote``; the policy's ``when`` for ``revive`` and ``invite``. It is
    None for a decision without a condition (``welcome``). :meth:`reasons` words it.
    """

    id: str
    policy: str
    action: str
    member: str
    group: str
    at: Instant
    period: str
    explanation: Explanation | None = None
    revision: str = ""
    target_group: str | None = None
    from_role: str | None = None
    to_role: str | None = None
    status: Literal["applied", "vetoed", "preview"] = "applied"
    veto_reason: str | None = None

    @classmethod
    def make(
        cls,
        *,
        policy: str,
        action: str,
        member: str,
        group: str,
        period: str,
        at: datetime,
        **fields: Any,
    ) -> Decision:
        """Build a decision whose id is derived from its identity fields."""
        return cls(
            id=decision_id(policy, action, member, group, period),
            policy=policy,
            action=action,
            member=member,
            group=group,
            period=period,
            at=at,
            **fields,
        )

    def reasons(self, locale: str = "en") -> str:
        """Why, in one line, as the member would be told (empty without an explanation).

        The explanation holds the policy's own condition; the words depend on the action:
        a ``notice`` or ``evict`` says what is missing to stay (an eviction's ``when``
        says who is at risk, so it is negated), a ``spare`` what kept the member, a
        ``demote`` which ``keep`` requirement failed, anything else what was met.
        """
        exp = self.explanation
        if exp is None:
            return ""
        if self.action in ("notice", "evict"):
            return exp.negate().missing(locale)
        if self.action == "spare":
            return exp.negate().summary(locale)
        if self.action == "demote":
            return exp.missing(locale)
        return exp.summary(locale)
