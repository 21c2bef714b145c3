"""The welcome kind: greet members when they join one of ``groups``.

Trigger: each run, greeting joins no older than ``within``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any, ClassVar, Literal

from pydantic import Field

from ..._model import Decision, Membership
from ..._reports import Note
from .._time import Duration, DurationField, to_zone
from ._registry import ActionSpec, GroupRef, Kind, PolicyBase, Runtime, Verdict

__all__ = ["KIND", "Welcome", "WelcomeKind", "welcome_due"]


class Welcome(PolicyBase):
    """Welcome members when they join one of ``groups`` (the ``welcome`` template).

    A member is welcomed once per joining; joins older than ``within`` at the time of
    a run are not welcomed (a first run over an old community greets nobody).
    """

    type: Literal["welcome"] = "welcome"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    within: DurationField = Duration(1, "d")


def welcome_due(policy: Welcome, membership: Membership, at: datetime, tz: tzinfo) -> bool:
    """Whether the member's current joining should be welcomed at ``at``: present, and
    joined within ``policy.within`` before ``at`` (and not after it)."""
    at = to_zone(at, tz)  # compared as instants, never as wall clocks
    return membership.present and policy.within.before(at, tz) <= membership.joined_at <= at


class WelcomeKind(Kind):
    """Greets each joining once."""

    name = "welcome"
    order = 10
    model = Welcome
    label: ClassVar[Mapping[str, str]] = {"en": "welcome", "zh": "欢迎"}
    actions = (
        ActionSpec(
            "welcome",
            {"en": "Welcome to {group.name}, {member.name}!", "zh": "欢迎 {member.name} 加入{group.name}！"},
            {"en": "welcome", "zh": "欢迎"},
        ),
    )

    def decide(self, policy: Welcome, rt: Runtime, at: datetime, members: set[str] | None) -> list[Decision]:
        made: list[Decision] = []
        for group in policy.groups:
            for ms in rt.memberships(group, members):
                with rt.isolated(policy.id, ms, at):
                    if not welcome_due(policy, ms, at, rt.tz):
                        continue
                    d = rt.decide(policy.id, "welcome", ms, f"joined-{ms.joined_at.isoformat()}", at, None)
                    recorded = rt.apply(Verdict(d, ms, None))
                    if recorded is not None:
                        made.append(recorded)
        return made

    def explain(
        self, policy: Welcome, rt: Runtime, ms: Membership, at: datetime
    ) -> tuple[list[Any], list[Any]]:
        return [], [Note(kind="welcome", values={"within": str(policy.within)})]


KIND = WelcomeKind()
