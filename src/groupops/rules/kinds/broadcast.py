"""The broadcast kind: one message to every member of a segment (an activity reminder),
members in no group included.

Trigger: ``at`` an instant or each occurrence of ``schedule``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from ..._decision import Decision
from ..._i18n import messages
from ..._model import Membership
from ..._reports import Section
from .._templates import check_template
from ._registry import Runtime, ScheduledKind, ScheduledPolicy, Verdict, catalogued_action
from ._selection import SegmentField, selected

__all__ = ["KIND", "Broadcast", "BroadcastKind"]


class Broadcast(ScheduledPolicy):
    """Send ``text`` (a template: ``{member.name}`` and the other placeholders) to every
    member of ``segment`` — members in no group included — ``at`` an instant or at each
    occurrence of ``schedule``.

    One message per member per occurrence, however many of the listed segments the
    member is in, and none again on a rerun. Messages go through the default messenger
    (they concern a member, not a group), one after another as its rate limits allow.
    """

    type: Literal["broadcast"] = "broadcast"
    segment: SegmentField
    text: str = Field(min_length=1)

    @field_validator("text")
    @classmethod
    def _valid_template(cls, value: str) -> str:
        problems = check_template(value)
        if problems:
            raise ValueError("; ".join(problems))
        return value

    def group_ids(self) -> tuple[str, ...]:
        return ()


class BroadcastKind(ScheduledKind):
    """Sends one message to each member of a segment at each of its moments."""

    name = "broadcast"
    order = 36
    model = Broadcast
    label: ClassVar[Mapping[str, str]] = messages("policy_type.broadcast")
    actions = (catalogued_action("broadcast.broadcast", label="policy_type.broadcast"),)

    def occurrence(
        self, policy: Broadcast, rt: Runtime, when: datetime, previous: datetime | None, at: datetime
    ) -> list[Decision]:
        """One ``broadcast`` decision (period: the occurrence's instant) per member in the
        segment at ``when``."""
        made: list[Decision] = []
        period = when.isoformat()
        for member in sorted(rt.profiles):
            with rt.isolated(policy.id, None, when, member=member):
                why = selected(policy.segment, rt, member, when)
                if not why.passed:
                    continue
                d = rt.decide_about(
                    policy.id, "broadcast", member=member, period=period, at=when, explanation=why
                )
                recorded = rt.apply(Verdict(d))
                if recorded is not None:
                    made.append(recorded)
        return made

    def policy_template(self, policy: Broadcast, action: str) -> str | None:
        return policy.text if action == "broadcast" else None

    def explain(
        self, policy: Broadcast, rt: Runtime, ms: Membership, at: datetime
    ) -> tuple[list[Any], list[Any]]:
        why = selected(policy.segment, rt, ms.member, at)
        return [Section(kind="selected", values={"policy": policy.id}, explanation=why)], []


KIND = BroadcastKind()
