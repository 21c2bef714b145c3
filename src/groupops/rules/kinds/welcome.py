"""The welcome kind: greet members when they join one of ``groups``.

Trigger: each run, greeting joins no older than ``within``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any, ClassVar, Literal

from pydantic import Field

from ..._decision import Decision
from ..._i18n import messages
from ..._model import Event, Membership
from ..._reports import Note
from ..._time import Duration, DurationField, to_zone
from ._registry import GroupRef, Kind, PolicyBase, Runtime, StrategyContext, Verdict, catalogued_action

__all__ = ["KIND", "Welcome", "WelcomeKind", "welcome_due"]


class Welcome(PolicyBase):
    """Welcome members when they join one of ``groups`` (the ``welcome`` template).

    Due ``on: joined`` (the default): the welcome is decided at the join (plus any
    ``delay``), by the first run after it. A member is welcomed once per joining; joins
    older than ``within`` at the time of that run are not welcomed (a first run over an
    old community greets nobody).
    """

    type: Literal["welcome"] = "welcome"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    within: DurationField = Duration(1, "d")

    default_on: ClassVar[tuple[str, ...]] = ("joined",)


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
    label: ClassVar[Mapping[str, str]] = messages("policy_type.welcome")
    actions = (catalogued_action("welcome.welcome", label="policy_type.welcome"),)

    def on_event(
        self, policy: Welcome, event: Event, rt: Runtime, when: datetime, at: datetime
    ) -> list[Decision]:
        """Welcome the joining ``event`` opened, at ``when``, if it is still the member's
        current joining and the run at ``at`` is within ``within`` of it."""
        if event.group is None or event.group not in policy.groups:
            return []
        ms = rt.membership(event.member, event.group)
        if ms is None or ms.joined_at != event.at:
            return []  # not the joining this event opened (a duplicate, or joined again since)
        made: list[Decision] = []
        with rt.isolated(policy.id, ms, when):
            if policy.within.before(to_zone(at, rt.tz), rt.tz) <= ms.joined_at <= to_zone(at, rt.tz):
                d = rt.decide(policy.id, "welcome", ms, f"joined-{ms.joined_at.isoformat()}", when, None)
                recorded = rt.apply(Verdict(d, ms, None))
                if recorded is not None:
                    made.append(recorded)
        return made

    def explain(
        self, policy: Welcome, rt: Runtime, ms: Membership, at: datetime
    ) -> tuple[list[Any], list[Any]]:
        return [], [Note(kind="welcome", values={"within": str(policy.within)})]

    def strategy(self, ctx: StrategyContext) -> Any:
        from hypothesis import strategies as st

        return st.builds(
            Welcome, id=st.just("welcome"), groups=ctx.some_groups, within=ctx.durations(("h", "d"), 10)
        )


KIND = WelcomeKind()
