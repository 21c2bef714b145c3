"""The handoff kind: hand a member who meets the sales-qualified rules to the
salesperson who brought them (else to a default queue), once per member ever.

Trigger: each run (decided at the run's instant, to a fixed point), for every member
profile, members in no group included.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from ..._decision import Decision
from ..._i18n import messages
from ..._model import Member, Membership
from ..._reports import Note, Section
from .._conditions import Condition
from .._evaluate import evaluate
from ._registry import Kind, PolicyBase, Runtime, Verdict, catalogued_action
from ._selection import prefetch

__all__ = ["KIND", "Handoff", "HandoffKind", "handoff_assignee"]


class Handoff(PolicyBase):
    """Hand each member who meets ``when`` to sales, once per member ever (a rerun, or a
    run a month later, decides nothing more), with the reasons.

    ``to`` is ``referrer`` (the member's referrer if they have one, else ``default``)
    or a fixed recipient (a salesperson's id or a queue). The ``handoff`` message goes to
    that recipient as an operator message; a host's CRM receives it through a messenger
    (durable: the outbox) or the ``groupops_observe_decision`` hook (best effort). The
    decision's ``assignee`` names the recipient. Conditions count events in every group.
    """

    type: Literal["handoff"] = "handoff"
    when: Condition
    to: Annotated[str, Field(min_length=1)] = "referrer"
    default: Annotated[str, Field(min_length=1)] = "sales"

    def group_ids(self) -> tuple[str, ...]:
        return ()


def handoff_assignee(policy: Handoff, member: Member | None) -> str:
    """Who the member is handed to: their referrer when ``to`` is ``referrer`` and they
    have one, else ``default``; or the fixed ``to``."""
    if policy.to != "referrer":
        return policy.to
    referrer = member.referrer if member is not None else None
    return referrer or policy.default


class HandoffKind(Kind):
    """Hands qualified leads to sales, once per member."""

    name = "handoff"
    order = 40
    model = Handoff
    label: ClassVar[Mapping[str, str]] = messages("policy_type.handoff")
    placeholders = frozenset({"assignee"})
    actions = (catalogued_action("handoff.handoff", label="policy_type.handoff", audience="operators"),)

    def decide(self, policy: Handoff, rt: Runtime, at: datetime, members: set[str] | None) -> list[Decision]:
        made: list[Decision] = []
        done = {d.member for d in rt.decisions(policy=policy.id, action="handoff")}
        candidates = set(rt.profiles) if members is None else set(members) & set(rt.profiles)
        prefetch(rt, candidates - done)
        for member in sorted(candidates - done):
            with rt.isolated(policy.id, None, at, member=member):
                why = evaluate(policy.when, rt.member_context(member, at))
                if not why.passed:
                    continue
                assignee = handoff_assignee(policy, rt.profiles.get(member))
                d = rt.decide_about(
                    policy.id,
                    "handoff",
                    member=member,
                    period="once",
                    at=at,
                    explanation=why,
                    assignee=assignee,
                )
                recorded = rt.apply(Verdict(d, recipients=(assignee,)))
                if recorded is not None:
                    made.append(recorded)
        return made

    def explain(
        self, policy: Handoff, rt: Runtime, ms: Membership, at: datetime
    ) -> tuple[list[Any], list[Any]]:
        why = evaluate(policy.when, rt.member_context(ms.member, at))
        assignee = handoff_assignee(policy, rt.profiles.get(ms.member))
        done = [d for d in rt.decisions(policy=policy.id, action="handoff", member=ms.member)]
        notes = [
            Note(kind="handed_off", values={"to": d.assignee or assignee, "at": d.at.isoformat()})
            for d in done
        ]
        return [Section(kind="handoff", values={"to": assignee}, explanation=why)], notes

    def message_values(self, policy: Handoff, decision: Decision, locale: str) -> dict[str, str]:
        return {"assignee": decision.assignee or ""}


KIND = HandoffKind()
