"""Policy types: admission, eviction, revival and ladder.

Each policy is a frozen model with a ``type`` key; new types slot in beside these by
joining the :data:`Policy` union, without changing the ones here.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Discriminator, Field, Tag

from .._model import Time
from ._conditions import Condition, Scope, _Rule
from ._time import Duration, DurationField, ScheduleField

__all__ = [
    "POLICY_TYPES",
    "Admission",
    "Eviction",
    "Ladder",
    "LadderStep",
    "Policy",
    "Revival",
    "Welcome",
]

PolicyId = Annotated[str, Field(min_length=1, pattern=r"\S")]
GroupRef = Annotated[str, Field(min_length=1)]


class _Policy(_Rule):
    id: PolicyId
    description: str = ""
    templates: dict[str, str] = Field(default_factory=dict)

    default_scope: ClassVar[Scope] = "group"

    def group_ids(self) -> tuple[str, ...]:
        """The groups whose members this policy evaluates."""
        return tuple(getattr(self, "groups", ()))


class Admission(_Policy):
    """Invite members of the ``from`` groups who meet ``when`` into the paid group ``to``.

    An invitation stays open for ``expires``; a member who has not joined by then and
    still qualifies is invited again (a new decision with the next invitation number),
    up to ``max_invitations`` invitations in all (the first and its reminders).
    Leaves count all of the member's events unless they say ``scope: group``.
    """

    type: Literal["admission"] = "admission"
    from_: tuple[GroupRef, ...] = Field(alias="from", min_length=1)
    to: GroupRef
    when: Condition
    expires: DurationField = Duration(14, "d")
    max_invitations: int = Field(default=2, ge=1)
    default_scope: ClassVar[Scope] = "member"

    def group_ids(self) -> tuple[str, ...]:
        return self.from_


class Eviction(_Policy):
    """Warn, then evict, members who meet ``when`` at the end of each period.

    Periods end at each occurrence of ``schedule``. At ``end - notice`` members who meet
    ``when`` get a notice; at ``end`` those who were noticed and still meet it are evicted,
    the others are spared. A notice given late (by a late run) moves that period's end
    for its members to ``notice`` after the notice was given. Members within ``grace`` of
    joining (or revival) at the period's end, and members meeting ``exempt``, are neither
    noticed nor evicted.
    """

    type: Literal["eviction"] = "eviction"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    schedule: ScheduleField
    start: Time | None = None
    notice: DurationField = Duration(2, "d")
    grace: DurationField | None = None
    exempt: Condition | None = None
    when: Condition


class Revival(_Policy):
    """Let an evicted member back when ``when`` holds within ``within`` of the eviction.

    At most ``max`` revivals per membership.
    """

    type: Literal["revival"] = "revival"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    within: DurationField
    max: int = Field(default=1, ge=0)
    when: Condition


class LadderStep(_Rule):
    """One rung: ``promote`` moves a member onto it from the rung below; ``keep`` must
    keep holding (checked only after ``grace`` since the promotion) or the member moves
    back down."""

    role: Annotated[str, Field(min_length=1)]
    promote: Condition | None = None
    keep: Condition | None = None
    grace: DurationField | None = None


class Ladder(_Policy):
    """Roles in order, lowest first. A member moves at most one step per evaluation;
    roles not on the ladder (owner, admin) and locked memberships never move."""

    type: Literal["ladder"] = "ladder"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    steps: tuple[LadderStep, ...] = Field(min_length=2)

    def roles(self) -> tuple[str, ...]:
        """The ladder's roles, lowest first."""
        return tuple(s.role for s in self.steps)


class Welcome(_Policy):
    """Welcome members when they join one of ``groups`` (the ``welcome`` template).

    A member is welcomed once per joining; joins older than ``within`` at the time of
    a run are not welcomed (a first run over an old community greets nobody).
    """

    type: Literal["welcome"] = "welcome"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    within: DurationField = Duration(1, "d")


POLICY_TYPES: dict[str, type[_Policy]] = {
    "admission": Admission,
    "eviction": Eviction,
    "revival": Revival,
    "ladder": Ladder,
    "welcome": Welcome,
}


def _policy_tag(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return f"<{kind}>" if kind in POLICY_TYPES else None


Policy = Annotated[
    Annotated[Admission, Tag("<admission>")]
    | Annotated[Eviction, Tag("<eviction>")]
    | Annotated[Revival, Tag("<revival>")]
    | Annotated[Ladder, Tag("<ladder>")]
    | Annotated[Welcome, Tag("<welcome>")],
    Discriminator(
        _policy_tag,
        custom_error_type="policy_type",
        custom_error_message="'type' must be one of " + ", ".join(POLICY_TYPES),
    ),
]
