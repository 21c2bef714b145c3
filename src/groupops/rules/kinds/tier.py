"""The tier kind: a member-wide label set from behaviour, one label of a set at a time
(paying status: unpaid → first_paid → premium → die_hard).

Trigger: each run (decided at the run's instant, to a fixed point), for every member
profile, members in no group included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from ..._decision import Decision
from ..._i18n import messages
from ..._model import Member, Membership
from ..._reports import Note, Section, StandingItem
from .._conditions import Condition
from .._evaluate import Context, evaluate
from .._explain import Explanation
from ._registry import Kind, PolicyBase, Runtime, Verdict, catalogued_action
from ._selection import prefetch

__all__ = ["KIND", "Tier", "TierKind", "TierMove", "current_tier", "tier_move"]

Label = Annotated[str, Field(min_length=1)]


class Tier(PolicyBase):
    """One label of ``labels`` (lowest first) per member, set from behaviour.

    ``steps`` gives every label but the lowest its condition. A member moves straight to
    the highest label whose condition holds, in one ``tier`` decision (``unpaid →
    die_hard``, not three); with ``demote: true`` also down, to the highest that still
    holds. A member holding none of the labels is given one (the lowest, if nothing
    else holds). Conditions count events in every group. ``notify`` sends the member the
    ``tier`` message on a move up (by default a tier change is silent: labels are for
    operators).
    """

    type: Literal["tier"] = "tier"
    labels: tuple[Label, ...] = Field(min_length=2)
    steps: dict[Label, Condition]
    demote: bool = False
    notify: bool = False

    @model_validator(mode="after")
    def _steps_fit_labels(self) -> Tier:
        if len(set(self.labels)) != len(self.labels):
            repeated = sorted({x for x in self.labels if self.labels.count(x) > 1})
            raise ValueError(
                f"labels: {', '.join(map(repr, repeated))} repeated; each label once, lowest first"
            )
        unknown = [k for k in self.steps if k not in self.labels]
        if unknown:
            raise ValueError(f"steps: {unknown[0]!r} is not one of the labels {list(self.labels)!r}")
        if self.labels[0] in self.steps:
            raise ValueError(f"steps: {self.labels[0]!r} is the lowest label: every member starts there")
        missing = [x for x in self.labels[1:] if x not in self.steps]
        if missing:
            raise ValueError(
                f"steps: no condition for {missing[0]!r}; every label above the lowest needs one"
            )
        return self

    def group_ids(self) -> tuple[str, ...]:
        return ()


def current_tier(policy: Tier, member: Member | None) -> str | None:
    """The member's label of ``policy.labels`` (the highest, should the profile hold
    several), or None."""
    held = set(member.labels) if member is not None else set()
    found = [x for x in policy.labels if x in held]
    return found[-1] if found else None


@dataclass(frozen=True)
class TierMove:
    """A move from one label to another (``from_label`` None: the member had none), with
    the explanation of the label reached (None for the lowest, which needs nothing)."""

    from_label: str | None
    to_label: str
    explanation: Explanation | None


def _reached(policy: Tier, ctx: Context) -> tuple[str, Explanation | None]:
    """The highest label whose condition holds in ``ctx``, and its explanation."""
    for label in reversed(policy.labels[1:]):
        why = evaluate(policy.steps[label], ctx)
        if why.passed:
            return label, why
    return policy.labels[0], None


def tier_move(policy: Tier, ctx: Context) -> TierMove | None:
    """The move the member of ``ctx`` makes now, or None: up to the highest label that
    holds, down (only with ``demote``) when the current label no longer does."""
    current = current_tier(policy, ctx.member)
    target, why = _reached(policy, ctx)
    if current == target:
        return None
    rank = policy.labels.index
    if current is not None and rank(target) < rank(current) and not policy.demote:
        return None
    return TierMove(current, target, why)


class TierKind(Kind):
    """Sets each member's label of the set at each run."""

    name = "tier"
    order = 25
    model = Tier
    label: ClassVar[Mapping[str, str]] = messages("policy_type.tier")
    placeholders = frozenset({"tier", "tier.from"})
    actions = (catalogued_action("tier.tier"),)

    def decide(self, policy: Tier, rt: Runtime, at: datetime, members: set[str] | None) -> list[Decision]:
        made: list[Decision] = []
        candidates = sorted(set(rt.profiles) if members is None else set(members) & set(rt.profiles))
        prefetch(rt, candidates)
        for member in candidates:
            with rt.isolated(policy.id, None, at, member=member):
                move = tier_move(policy, rt.member_context(member, at))
                if move is None:
                    continue
                profile = rt.profiles[member]
                moves = len(rt.decisions(policy=policy.id, member=member, action="tier"))
                d = rt.decide_about(
                    policy.id,
                    "tier",
                    member=member,
                    period=f"{move.from_label or '-'}->{move.to_label}-{moves + 1}",
                    at=at,
                    explanation=move.explanation,
                    from_role=move.from_label,
                    to_role=move.to_label,
                )
                others = [x for x in profile.labels if x not in policy.labels]
                up = move.from_label is None or policy.labels.index(move.to_label) > policy.labels.index(
                    move.from_label
                )
                silent = not (policy.notify and up and move.from_label is not None)
                recorded = rt.apply(Verdict(d, labels=(*others, move.to_label), silent=silent))
                if recorded is not None:
                    made.append(recorded)
        return made

    def explain(self, policy: Tier, rt: Runtime, ms: Membership, at: datetime) -> tuple[list[Any], list[Any]]:
        """Each label's condition (``to become <label>``), then the member's label and
        its history under this policy."""
        ctx = rt.member_context(ms.member, at)
        sections = [
            Section(kind="promote", values={"role": label}, explanation=evaluate(policy.steps[label], ctx))
            for label in policy.labels[1:]
        ]
        current = current_tier(policy, ctx.member) or "-"
        notes = [Note(kind="tier", values={"label": current})]
        for change in rt.label_history(ms.member):
            held = [x for x in change.labels if x in policy.labels]
            if held:
                notes.append(Note(kind="tier_since", values={"label": held[-1], "at": change.at.isoformat()}))
        return sections, notes

    def standing(self, policy: Tier, rt: Runtime, member: str, at: datetime) -> list[StandingItem]:
        """The member's label now and the condition of the next label up (none at the top)."""
        ctx = rt.member_context(member, at)
        current = current_tier(policy, ctx.member)
        notes = [Note(kind="tier", values={"label": current or "-"})]
        rank = policy.labels.index(current) if current is not None else 0
        sections = []
        if rank + 1 < len(policy.labels):
            up = policy.labels[rank + 1]
            sections.append(
                Section(kind="promote", values={"role": up}, explanation=evaluate(policy.steps[up], ctx))
            )
        else:
            notes.append(Note(kind="tier_top", values={"label": policy.labels[-1]}))
        return [
            StandingItem(
                policy=policy.id, policy_type=self.name, sections=tuple(sections), notes=tuple(notes)
            )
        ]

    def message_values(self, policy: Tier, decision: Decision, locale: str) -> dict[str, str]:
        return {"tier": decision.to_role or "", "tier.from": decision.from_role or ""}


KIND = TierKind()
