"""The duty kind: members holding a role (volunteers) must meet ``when`` each period; a
notice after the first missed period, the role removed after ``miss`` missed in a row, a
reward after ``every`` met in a row.

Trigger: ``schedule`` (an RRULE); each occurrence ends a period.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from ..._decision import Decision
from ..._i18n import messages
from ..._model import LedgerEntry, Membership
from ..._reports import Note, Section
from .._conditions import Condition
from .._evaluate import evaluate, holds
from .._explain import Explanation
from ._registry import (
    GroupRef,
    Runtime,
    ScheduledKind,
    ScheduledPolicy,
    StrategyContext,
    Verdict,
    catalogued_action,
)
from .ladder import role_change
from .referral_reward import Reward

__all__ = ["KIND", "Duty", "DutyKind", "DutyReward", "DutyStreak", "duty_streak"]

_ONE_TICK = timedelta(microseconds=1)

MAX_LOOKBACK = 1000
"""The most past periods a streak is counted over (a longer streak counts as this long)."""


class DutyReward(Reward):
    """A reward after ``every`` periods met in a row (and after each ``every`` more):
    ``text`` (a gift the host hands out) or ``points`` (entered in the points ledger)."""

    every: int = Field(ge=1)


class Duty(ScheduledPolicy):
    """Members of ``groups`` holding ``role`` must meet ``when`` in each period (windows
    ``since: period_start`` count from the period's start). Periods end at each
    occurrence of ``schedule``; a member's first period is the one in which they took
    the role.

    At each period's end, for each member holding the role: a ``duty_notice`` after
    the first period missed; after ``miss`` periods missed in a row, ``relieve`` (the
    role becomes ``relieve_to``, default ``member``; the membership stays); after
    ``reward.every`` periods met in a row (and each ``every`` more), ``thank`` with the
    reward. Locked memberships are left alone.

    A member relieved of the role is not promoted back to it by a ``ladder`` while
    ``when`` still fails for the current period: the ladder's promotion waits until
    the member meets the duty again.
    """

    type: Literal["duty"] = "duty"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    role: Annotated[str, Field(min_length=1)]
    when: Condition
    miss: int = Field(default=2, ge=1)
    reward: DutyReward | None = None
    relieve_to: Annotated[str, Field(min_length=1)] = "member"

    @model_validator(mode="after")
    def _periodic(self) -> Duty:
        if self.schedule is None:
            raise ValueError("a duty is checked each period: give 'schedule' (an RRULE), not 'at'")
        if self.relieve_to == self.role:
            raise ValueError(f"relieve_to: {self.relieve_to!r} is the duty's own role")
        return self


@dataclass(frozen=True)
class DutyStreak:
    """The periods met and missed in a row, ending with the period that ends at ``end``
    (at most :data:`MAX_LOOKBACK`); ``this`` explains the last period's ``when``."""

    end: datetime
    met: int
    missed: int
    this: Explanation


def _role_since(ms: Membership) -> datetime:
    return ms.promoted_at if ms.promoted_at is not None else ms.joined_at


def duty_streak(
    policy: Duty, rt: Runtime, ms: Membership, end: datetime, start: datetime | None
) -> DutyStreak:
    """Evaluate ``when`` for the period ``(start, end]`` and the periods before it, back
    to the one in which the member took the role, and count the streak."""
    schedule = policy.schedule
    assert schedule is not None
    since = _role_since(ms)
    ctx = rt.context(ms, end, default_scope=policy.default_scope, period_start=start or since)
    this = evaluate(policy.when, ctx)
    met = missed = 0
    passed, period_end, period_start = this.passed, end, start
    for _ in range(MAX_LOOKBACK):
        if passed != this.passed:
            break
        if passed:
            met += 1
        else:
            missed += 1
        if period_start is None or period_start <= since:
            break  # the member's first period with the role
        period_end = period_start
        period_start = schedule.previous_before(period_end, rt.tz, policy.start)
        ctx = rt.context(
            ms, period_end, default_scope=policy.default_scope, period_start=period_start or since
        )
        passed = holds(policy.when, ctx)
    return DutyStreak(end=end, met=met, missed=missed, this=this)


class DutyKind(ScheduledKind):
    """At each period's end: notice, relieve or thank each member holding the role."""

    name = "duty"
    model = Duty
    label: ClassVar[Mapping[str, str]] = messages("policy_type.duty")
    actions = (
        catalogued_action("duty.duty_notice"),
        catalogued_action("duty.relieve"),
        catalogued_action("duty.thank"),
    )
    placeholders = frozenset({"left", "missed", "met", "reward", "duty_role"})

    def occurrence(
        self, policy: Duty, rt: Runtime, when: datetime, previous: datetime | None, at: datetime
    ) -> list[Decision]:
        made: list[Decision] = []
        period = when.isoformat()
        for group in policy.groups:
            for ms in rt.memberships(group):
                if not ms.present or ms.locked or ms.role != policy.role or _role_since(ms) >= when:
                    continue
                with rt.isolated(policy.id, ms, when):
                    start = previous if previous is not None else policy.start
                    streak = duty_streak(policy, rt, ms, when, start)
                    verdict = self._verdict(policy, rt, ms, streak, period, when)
                    if verdict is not None and (recorded := rt.apply(verdict)) is not None:
                        made.append(recorded)
        return made

    def _verdict(
        self, policy: Duty, rt: Runtime, ms: Membership, streak: DutyStreak, period: str, when: datetime
    ) -> Verdict | None:
        if streak.missed >= policy.miss:
            values = {"missed": str(streak.missed), "duty_role": ms.role}
            relieve_to = policy.relieve_to
            return role_change(rt, policy.id, "relieve", ms, period, when, streak.this, relieve_to, values)
        if streak.missed == 1:
            d = rt.decide(policy.id, "duty_notice", ms, period, when, streak.this)
            return Verdict(d, ms, None, values={"left": str(policy.miss - 1)})
        reward = policy.reward
        if reward is not None and streak.met and streak.met % reward.every == 0:
            d = rt.decide(policy.id, "thank", ms, period, when, streak.this)
            entries: tuple[LedgerEntry, ...] = ()
            if reward.points is not None:
                entries = (
                    LedgerEntry.make(
                        member=ms.member,
                        at=when,
                        points=reward.points,
                        kind="earn",
                        cause=d.id,
                        cause_type="decision",
                        policy=policy.id,
                    ),
                )
            values = {"met": str(streak.met), "reward": reward.describe(rt.locale)}
            return Verdict(d, ms, None, values=values, entries=entries)
        return None

    def holds_back(self, policy: Duty, rt: Runtime, ms: Membership, role: str, at: datetime) -> bool:
        """A member this policy relieved of ``role`` is held back from it while ``when``
        fails for the current period."""
        if role != policy.role:
            return False
        relieved = [
            d
            for d in rt.decisions(policy=policy.id, member=ms.member, group=ms.group, action="relieve")
            if d.status == "applied" and d.at <= at
        ]
        if not relieved:
            return False
        schedule = policy.schedule
        assert schedule is not None
        start = schedule.last_at_or_before(at, rt.tz, policy.start) or relieved[-1].at
        ctx = rt.context(ms, at, default_scope=policy.default_scope, period_start=start)
        return not holds(policy.when, ctx)

    def explain(self, policy: Duty, rt: Runtime, ms: Membership, at: datetime) -> tuple[list[Any], list[Any]]:
        schedule = policy.schedule
        assert schedule is not None
        start = schedule.last_at_or_before(at, rt.tz, policy.start)
        ctx = rt.context(ms, at, default_scope=policy.default_scope, period_start=start or _role_since(ms))
        sections = [
            Section(kind="duty", values={"role": policy.role}, explanation=evaluate(policy.when, ctx))
        ]
        notes: list[Note] = []
        if ms.role == policy.role and start is not None:
            previous = schedule.previous_before(start, rt.tz, policy.start)
            streak = duty_streak(policy, rt, ms, start, previous)
            notes.append(Note(kind="duty", values={"met": str(streak.met), "missed": str(streak.missed)}))
        return sections, notes

    def message_values(self, policy: Duty, decision: Decision, locale: str) -> dict[str, str]:
        reward = policy.reward.describe(locale) if policy.reward is not None else ""
        return {"duty_role": policy.role, "reward": reward, "left": "", "missed": "", "met": ""}

    def strategy(self, ctx: StrategyContext) -> Any:
        from hypothesis import strategies as st

        reward = st.none() | st.builds(
            DutyReward, every=st.integers(1, 4), text=st.sampled_from(["志愿者感谢礼", "a badge"])
        )
        return st.builds(
            lambda groups, schedule, when, miss, reward: Duty(
                id="duty",
                groups=groups,
                role="volunteer",
                schedule=schedule,
                when=when,
                miss=miss,
                reward=reward,
            ),
            ctx.some_groups,
            st.sampled_from(("FREQ=WEEKLY;BYDAY=SU;BYHOUR=20", "FREQ=DAILY;BYHOUR=21")),
            ctx.good,
            st.integers(1, 3),
            reward,
        )


KIND = DutyKind()
