"""The ladder kind: roles in order; promote and demote one step at a time.

Trigger: each run (evaluated at the run's instant, to a fixed point).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from ..._decision import Decision
from ..._errors import Problem
from ..._i18n import messages
from ..._model import Membership
from ..._reports import Note, Section
from ..._time import DurationField
from .._conditions import Condition, _Rule
from .._evaluate import Context, evaluate, holds
from .._explain import Explanation
from ._registry import (
    BookRefs,
    GroupRef,
    Kind,
    PolicyBase,
    Runtime,
    StrategyContext,
    Verdict,
    catalogued_action,
)

__all__ = ["KIND", "Ladder", "LadderKind", "LadderMove", "LadderStep", "ladder_move"]


class LadderStep(_Rule):
    """One rung: ``promote`` moves a member onto it from the rung below; ``keep`` must
    keep holding (checked only after ``grace`` since the promotion) or the member moves
    back down."""

    role: Annotated[str, Field(min_length=1)]
    promote: Condition | None = None
    keep: Condition | None = None
    grace: DurationField | None = None


class Ladder(PolicyBase):
    """Roles in order, lowest first. A member moves at most one step per evaluation;
    roles not on the ladder (owner, admin) and locked memberships never move."""

    type: Literal["ladder"] = "ladder"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    steps: tuple[LadderStep, ...] = Field(min_length=2)

    def roles(self) -> tuple[str, ...]:
        """The ladder's roles, lowest first."""
        return tuple(s.role for s in self.steps)


def role_change(
    rt: Runtime,
    policy: str,
    action: str,
    ms: Membership,
    period: str,
    when: datetime,
    explanation: Explanation | None,
    to_role: str,
    values: Mapping[str, str] | None = None,
) -> Verdict:
    """The verdict that moves ``ms`` to ``to_role`` at ``when`` (a ladder's step, a duty's
    relief): a decision naming both roles, and the membership with the new role, promoted
    at ``when``, one more role change."""
    d = rt.decide(policy, action, ms, period, when, explanation, from_role=ms.role, to_role=to_role)
    after = ms.model_copy(update={"role": to_role, "promoted_at": when, "role_changes": ms.role_changes + 1})
    return Verdict(d, ms, after, values=values or {})


@dataclass(frozen=True)
class LadderMove:
    """One step up or down the ladder, with the explanation that justified it."""

    action: Literal["promote", "demote"]
    from_role: str
    to_role: str
    explanation: Explanation


def ladder_move(policy: Ladder, ctx: Context) -> LadderMove | None:
    """The step the member should take now, or None to stay.

    Promote when the next step's ``promote`` holds. Otherwise demote when the current
    step's ``keep`` fails and its ``grace`` since the promotion has passed. Locked
    memberships and roles not on the ladder never move.
    """
    ms = ctx.membership
    roles = policy.roles()
    if ms is None or ms.locked or ms.role not in roles:
        return None
    i = roles.index(ms.role)
    if i + 1 < len(roles):
        up = policy.steps[i + 1]
        if up.promote is not None and holds(up.promote, ctx):
            return LadderMove("promote", ms.role, up.role, evaluate(up.promote, ctx))
    step = policy.steps[i]
    if i == 0 or step.keep is None:
        return None
    if step.grace is not None and ms.promoted_at is not None:
        if ctx.at < step.grace.after(ms.promoted_at, ctx.tz):
            return None
    if holds(step.keep, ctx):  # a verdict first: the explanation only for a demotion
        return None
    return LadderMove("demote", ms.role, roles[i - 1], evaluate(step.keep, ctx))


class LadderKind(Kind):
    """At each run: move each member at most one step up or down."""

    name = "ladder"
    order = 40
    model = Ladder
    label: ClassVar[Mapping[str, str]] = messages("policy_type.ladder")
    actions = (
        catalogued_action("ladder.promote"),
        catalogued_action("ladder.demote"),
    )

    def book_problems(self, policy: Mapping[str, Any], path: str, book: BookRefs) -> list[Problem]:
        """Its groups name groups of the book; no role repeats a step's; every step above
        the first has a ``promote`` condition."""
        problems = super().book_problems(policy, path, book)
        first: dict[str, int] = {}
        steps = policy.get("steps")
        for j, step in enumerate(steps) if isinstance(steps, list | tuple) else ():
            if not isinstance(step, dict):
                continue
            role = step.get("role")
            if isinstance(role, str):
                if role in first:
                    problems.append(
                        Problem(f"{path}.steps[{j}].role", f"role {role!r} repeats steps[{first[role]}]")
                    )
                first.setdefault(role, j)
            if j > 0 and step.get("promote") is None:
                problems.append(Problem(f"{path}.steps[{j}].promote", "is required above the first step"))
        return problems

    def decide(self, policy: Ladder, rt: Runtime, at: datetime, members: set[str] | None) -> list[Decision]:
        made: list[Decision] = []
        for group in policy.groups:
            for ms in rt.memberships(group, members):
                with rt.isolated(policy.id, ms, at):
                    if not ms.present or (ms.promoted_at is not None and ms.promoted_at >= at):
                        continue
                    move = ladder_move(policy, rt.context(ms, at, default_scope=policy.default_scope))
                    if move is None:
                        continue
                    if move.action == "promote" and rt.held_back(ms, move.to_role, at) is not None:
                        continue  # e.g. a duty removed this role and its condition still fails
                    step = f"step-{ms.role_changes + 1}"
                    verdict = role_change(
                        rt, policy.id, move.action, ms, step, at, move.explanation, move.to_role
                    )
                    recorded = rt.apply(verdict)
                    if recorded is not None:
                        made.append(recorded)
        return made

    def explain(
        self, policy: Ladder, rt: Runtime, ms: Membership, at: datetime
    ) -> tuple[list[Any], list[Any]]:
        sections: list[Section] = []
        notes: list[Note] = []
        ctx = rt.context(ms, at, default_scope=policy.default_scope)
        roles = policy.roles()
        if ms.role in roles:
            i = roles.index(ms.role)
            up = policy.steps[i + 1] if i + 1 < len(roles) else None
            if up is not None and up.promote is not None:
                promote = evaluate(up.promote, ctx)
                sections.append(Section(kind="promote", values={"role": up.role}, explanation=promote))
            keep = policy.steps[i].keep if i > 0 else None
            if keep is not None:
                kept = evaluate(keep, ctx)
                sections.append(Section(kind="keep", values={"role": ms.role}, explanation=kept))
            if up is None:  # the top rung: say so, and what keeps it, not just a header
                top = "top" if keep is not None else "top_unguarded"
                notes.append(Note(kind=top, values={"role": ms.role}))
        else:
            notes.append(Note(kind="off_ladder", values={"role": ms.role}))
        if ms.locked:
            notes.append(Note(kind="locked"))
        return sections, notes

    def strategy(self, ctx: StrategyContext) -> Any:
        from hypothesis import strategies as st

        @st.composite
        def policies(draw: st.DrawFn) -> Ladder:
            n_steps = draw(st.integers(min_value=2, max_value=4))
            roles = ["member", "active", "core", "kol"][:n_steps]
            steps = [LadderStep(role=roles[0])]
            for role in roles[1:]:
                keep = draw(ctx.good) if draw(st.booleans()) else None
                steps.append(
                    LadderStep(
                        role=role,
                        promote=draw(ctx.good),
                        keep=keep,
                        grace=draw(st.none() | ctx.durations(("h", "d", "w"), 14)),
                    )
                )
            return Ladder(id="ladder", groups=draw(ctx.some_groups), steps=tuple(steps))

        return policies()


KIND = LadderKind()
