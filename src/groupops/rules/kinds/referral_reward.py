"""The referral_reward kind: reward a member, once ever, when their referees meet ``when``.

Trigger: each run (evaluated at the run's instant, to a fixed point).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, FiniteFloat, model_validator

from ..._decision import Decision, decision_id
from ..._i18n import messages, text
from ..._model import LedgerEntry, Membership
from ..._reports import Note, Section
from .._conditions import AllOf, AnyOf, AtLeastOf, Condition, MemberOf, Not, Referees, Scope, _Rule
from .._evaluate import evaluate, holds
from .._explain import _num
from ._registry import GroupRef, Kind, PolicyBase, Runtime, StrategyContext, Verdict, catalogued_action

__all__ = ["KIND", "ReferralReward", "ReferralRewardKind", "Reward", "referee_group"]

_ONCE = "once"


class Reward(_Rule):
    """What a reward gives: ``points`` (entered in the points ledger with the decision)
    or ``text`` (a prize the host hands out; the message names it). Exactly one."""

    points: Annotated[FiniteFloat, Field(gt=0)] | None = None
    text: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _one(self) -> Reward:
        if (self.points is None) == (self.text is None):
            raise ValueError(
                "give exactly one of 'points' (a number) and 'text' (a prize the host hands out)"
            )
        return self

    def describe(self, locale: str) -> str:
        """``100 points`` / ``100 积分``, or the text."""
        if self.text is not None:
            return self.text
        return text("reward.points", locale, points=_num(float(self.points or 0)))


class ReferralReward(PolicyBase):
    """Reward each member whose referees meet ``when`` (usually a ``referees`` condition)
    — once per member and policy, ever: a referee qualifying later adds nothing.

    ``when`` is evaluated for the referrer as a member alone, at each run. ``group``
    names the group whose memberships ``tenure``, ``role`` and ``since: joined`` read (the
    referrer's, and each referee's inside ``referees``); by default the one group the
    condition's ``member_of`` leaves name, if they name exactly one. Counts are
    member-wide unless a leaf says ``scope: group`` (then they count in ``group``).
    """

    type: Literal["referral_reward"] = "referral_reward"
    when: Condition
    reward: Reward
    group: GroupRef | None = None

    default_scope: ClassVar[Scope] = "member"

    def group_ids(self) -> tuple[str, ...]:
        group = referee_group(self)
        return (group,) if group is not None else ()


def _member_of_groups(cond: Any) -> set[str]:
    if isinstance(cond, MemberOf):
        return set(cond.groups)
    if isinstance(cond, Referees):
        return _member_of_groups(cond.referees)
    if isinstance(cond, AllOf):
        return set().union(*(_member_of_groups(c) for c in cond.all))
    if isinstance(cond, AnyOf):
        return set().union(*(_member_of_groups(c) for c in cond.any))
    if isinstance(cond, AtLeastOf):
        return set().union(*(_member_of_groups(c) for c in cond.of))
    if isinstance(cond, Not):
        return _member_of_groups(cond.not_)
    return set()


def referee_group(policy: ReferralReward) -> str | None:
    """The group memberships are read in: ``group``, else the only group ``member_of``
    names in ``when``, else None (member-level: no membership)."""
    if policy.group is not None:
        return policy.group
    named = _member_of_groups(policy.when)
    return next(iter(named)) if len(named) == 1 else None


class ReferralRewardKind(Kind):
    """At each run: reward, once ever, each referrer whose referees meet ``when``."""

    name = "referral_reward"
    order = 30
    model = ReferralReward
    label: ClassVar[Mapping[str, str]] = messages("referral_reward.label")
    actions = (catalogued_action("referral_reward.reward", label="referral_reward.label"),)
    placeholders = frozenset({"reward"})

    def decide(
        self, policy: ReferralReward, rt: Runtime, at: datetime, members: set[str] | None
    ) -> list[Decision]:
        referrers = rt.facts.referrers()
        if members is not None:
            referrers = [m for m in referrers if m in members]
        group = referee_group(policy)
        made: list[Decision] = []
        for member in referrers:
            if rt.decision(decision_id(policy.id, "reward", member, None, _ONCE)) is not None:
                continue  # once ever
            with rt.isolated(policy.id, None, at, member=member):
                ctx = rt.member_context(member, at, group=group, default_scope=policy.default_scope)
                if not holds(policy.when, ctx):
                    continue
                d = rt.decide_about(
                    policy.id,
                    "reward",
                    member=member,
                    period=_ONCE,
                    at=at,
                    explanation=evaluate(policy.when, ctx),
                )
                entries: tuple[LedgerEntry, ...] = ()
                if policy.reward.points is not None:
                    entries = (
                        LedgerEntry.make(
                            member=member,
                            at=at,
                            points=policy.reward.points,
                            kind="earn",
                            cause=d.id,
                            cause_type="decision",
                            policy=policy.id,
                        ),
                    )
                recorded = rt.apply(
                    Verdict(d, values={"reward": policy.reward.describe(rt.locale)}, entries=entries)
                )
                if recorded is not None:
                    made.append(recorded)
        return made

    def message_values(self, policy: ReferralReward, decision: Decision, locale: str) -> dict[str, str]:
        return {"reward": policy.reward.describe(locale)}

    def explain(
        self, policy: ReferralReward, rt: Runtime, ms: Membership, at: datetime
    ) -> tuple[list[Any], list[Any]]:
        ctx = rt.member_context(
            ms.member, at, group=referee_group(policy), default_scope=policy.default_scope
        )
        sections = [Section(kind="rewarded", explanation=evaluate(policy.when, ctx))]
        notes: list[Note] = []
        done = rt.decision(decision_id(policy.id, "reward", ms.member, None, _ONCE))
        if done is not None and done.at <= at:
            notes.append(
                Note(kind="rewarded", values={"at": done.at.astimezone(rt.tz).strftime("%Y-%m-%d %H:%M")})
            )
        return sections, notes

    def strategy(self, ctx: StrategyContext) -> Any:
        from hypothesis import strategies as st

        @st.composite
        def policies(draw: st.DrawFn) -> ReferralReward:
            inner = draw(ctx.good)
            when = Referees(referees=inner, at_least=draw(st.integers(1, 3)))
            reward = draw(
                st.builds(Reward, points=st.integers(1, 200).map(float))
                | st.builds(Reward, text=st.sampled_from(["a mug", "一本签名书"]))
            )
            group = draw(st.none() | st.sampled_from(ctx.groups))
            return ReferralReward(id="referral", when=when, reward=reward, group=group)

        return policies()


KIND = ReferralRewardKind()
