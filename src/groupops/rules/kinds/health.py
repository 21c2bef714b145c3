"""The health kind: how each group's conversation goes, and dormant / dead / active
decisions once per change of state.

Trigger: ``schedule`` (an RRULE; or a one-off ``at``). At each occurrence every group's
facts are taken over the window ending then (and the window before it, for the trend).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..._decision import Decision
from ..._i18n import messages, text
from ..._model import Group
from ..._time import Duration, DurationField
from .._explain import Explanation
from .._facts_api import Facts
from ._registry import (
    GroupRef,
    Runtime,
    ScheduledKind,
    ScheduledPolicy,
    Verdict,
    catalogued_action,
    open_groups,
)

__all__ = [
    "DEFAULT_WINDOW",
    "KIND",
    "DeadRule",
    "DormantRule",
    "GroupHealth",
    "Health",
    "HealthKind",
    "group_health",
    "health_score",
]

DEFAULT_WINDOW = Duration(14, "d")
"""The window health is measured over when neither ``window`` nor ``dormant`` says."""

HealthState = Literal["active", "dormant", "dead"]


class DormantRule(BaseModel):
    """A group is dormant when fewer than ``below`` distinct members sent an event of
    kind ``distinct_speakers`` in the last ``within``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    distinct_speakers: str = Field(default="message", min_length=1)
    within: DurationField = DEFAULT_WINDOW
    below: int = Field(ge=1)


class DeadRule(BaseModel):
    """A group is dead when its last event of kind ``days_since`` is at least
    ``at_least`` days old (never: counted from the group's first joining)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days_since: str = Field(default="message", min_length=1)
    at_least: int = Field(ge=1)


class Health(ScheduledPolicy):
    """Measure each of ``groups`` at each occurrence and decide ``group_dormant``,
    ``group_dead`` or ``group_active`` when its state changes (dead wins over dormant; a
    group starts active, so a healthy group is never announced).

    ``window`` (default: ``dormant.within``, else 14 days) is what the facts and the
    score cover; ``talk`` are the event kinds that count as messages, ``question`` the
    kind of a question (a reply is a talk event whose ``data.reply_to`` is its id)."""

    type: Literal["health"] = "health"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    dormant: DormantRule | None = None
    dead: DeadRule | None = None
    window: DurationField | None = None
    talk: tuple[str, ...] = ("message", "question")
    question: str = Field(default="question", min_length=1)

    def measured_over(self) -> Duration:
        """The window of the facts and the score."""
        if self.window is not None:
            return self.window
        return self.dormant.within if self.dormant is not None else DEFAULT_WINDOW


@dataclass(frozen=True)
class GroupHealth:
    """One group's health over the window ending at ``at``.

    ``members``: present members; ``share``: the share of them who spoke; ``score``:
    :func:`health_score` (0-100); ``trend``: the score minus the window before's;
    ``days_since``: days since its last talk event (never: since its first joining);
    ``state``: by the policy's rules (``active`` without rules); ``dormant_speakers``:
    the speakers the dormant rule counts (None without one)."""

    group: str
    name: str
    status: str
    at: datetime
    window: str
    members: int
    messages: int
    speakers: int
    share: float
    topics: int
    questions: int
    answered: int
    median_answer: timedelta | None
    score: int
    trend: int
    days_since: float
    state: HealthState
    dormant_speakers: int | None = None


def health_score(*, share: float, topics: int, questions: int, answered: int, messages: int) -> int:
    """The health score, 0-100: 50 for participation (the share of members who spoke,
    full at 30 %), 25 for variety (distinct topics, full at 5) and 25 for answers (the
    share of questions answered; all 25 when nobody asked and somebody spoke)."""
    participation = min(1.0, share / 0.3)
    variety = min(1.0, topics / 5)
    answers = answered / questions if questions else (1.0 if messages else 0.0)
    return round(50 * participation + 25 * variety + 25 * answers)


def _state(policy: Health | None, speakers: int | None, days: float) -> HealthState:
    if policy is not None and policy.dead is not None and days >= policy.dead.at_least:
        return "dead"
    if policy is not None and policy.dormant is not None and speakers is not None:
        if speakers < policy.dormant.below:
            return "dormant"
    return "active"


def group_health(
    facts: Facts,
    groups: Sequence[Group],
    members: Mapping[str, int],
    at: datetime,
    tz: tzinfo,
    *,
    policy: Health | None = None,
    opened: Mapping[str, datetime] | None = None,
) -> list[GroupHealth]:
    """Every group's :class:`GroupHealth` at ``at``, in the order given: the facts of the
    window ending at ``at`` and of the one before (for the trend), in a few batch
    questions. ``members``: present members per group; ``policy`` gives the window, the
    kinds and the dormant/dead rules (default: 14 days, ``message`` and ``question``,
    every group active). ``opened``: per group, its first joining: a group where nobody
    ever talked counts its days since then (since ``at`` when nobody ever joined), so a
    group just seen for the first time is not dead."""
    window = policy.measured_over() if policy is not None else DEFAULT_WINDOW
    talk = list(policy.talk) if policy is not None else ["message", "question"]
    question = policy.question if policy is not None else "question"
    ids = [g.id for g in groups]
    start = window.before(at, tz)
    before = window.before(start, tz)
    now = facts.group_health(ids, start, at, kinds=talk, question=question)
    then = facts.group_health(ids, before, start - timedelta(microseconds=1), kinds=talk, question=question)
    dead_kinds = [policy.dead.days_since] if policy is not None and policy.dead is not None else talk
    last = facts.group_last_seen(ids, dead_kinds, at)
    speakers: list[int | None] = [None] * len(ids)
    if policy is not None and policy.dormant is not None:
        rule = policy.dormant
        active = facts.group_activity(ids, [rule.distinct_speakers], rule.within.before(at, tz), at)
        speakers = [a.speakers for a in active]
    out = []
    for g, f, p, seen, spoke in zip(groups, now, then, last, speakers, strict=True):
        size = members.get(g.id, 0)
        share = len(f.speaker_ids) / size if size else 0.0
        score = health_score(
            share=share, topics=f.topics, questions=f.questions, answered=f.answered, messages=f.messages
        )
        previous = health_score(
            share=len(p.speaker_ids) / size if size else 0.0,
            topics=p.topics,
            questions=p.questions,
            answered=p.answered,
            messages=p.messages,
        )
        if seen is None:
            seen = min((opened or {}).get(g.id, at), at)
        days = (at - seen) / timedelta(days=1)
        out.append(
            GroupHealth(
                group=g.id,
                name=g.display_name,
                status=g.status,
                at=at,
                window=str(window),
                members=size,
                messages=f.messages,
                speakers=f.speakers,
                share=share,
                topics=f.topics,
                questions=f.questions,
                answered=f.answered,
                median_answer=f.median_answer,
                score=score,
                trend=score - previous,
                days_since=days,
                state=_state(policy, spoke, days),
                dormant_speakers=spoke,
            )
        )
    return out


def _words(h: GroupHealth, policy: Health, locale: str) -> str:
    """The ``{health}`` placeholder: what the group's state rests on, in words."""
    window = policy.measured_over().describe(locale)
    never = math.isinf(h.days_since)
    last = text("health.never", locale) if never else text("health.days_ago", locale, n=int(h.days_since))
    values = {"window": window, "speakers": h.speakers, "members": h.members, "last": last, "score": h.score}
    return text("health.words", locale, **values)


def _explanation(h: GroupHealth, policy: Health) -> Explanation | None:
    speakers = h.dormant_speakers
    leaves = []
    if policy.dormant is not None and speakers is not None:
        rule = policy.dormant
        leaves.append(
            Explanation(
                test="metric",
                passed=speakers < rule.below,
                subject=f"{rule.distinct_speakers} speakers",
                observed=speakers,
                expect={"below": rule.below},
                window=f"within {rule.within}",
            )
        )
    if policy.dead is not None:
        leaves.append(
            Explanation(
                test="days_since",
                passed=h.days_since >= policy.dead.at_least,
                subject=policy.dead.days_since,
                observed=h.days_since,
                expect={"at_least": policy.dead.at_least},
            )
        )
    if not leaves:
        return None
    decided = [x for x in leaves if x.passed]
    if h.state == "dead":  # the leaf that decided: dead wins over dormant
        return decided[-1]
    if h.state == "dormant":
        return decided[0]
    # active: neither rule holds, said the way it is met
    if len(leaves) == 1:
        return leaves[0].negate()
    either = Explanation(test="any", passed=False, children=tuple(leaves), decided_by=(0, 1))
    return either.negate()


class HealthKind(ScheduledKind):
    """Scheduled: measure each group; decide a change of state once."""

    name = "health"
    model = Health
    label: ClassVar[Mapping[str, str]] = messages("health.label")
    actions = (
        catalogued_action("health.group_dormant", audience="operators"),
        catalogued_action("health.group_dead", audience="operators"),
        catalogued_action("health.group_active", audience="operators"),
    )
    placeholders = frozenset({"health"})

    def occurrence(
        self, policy: Health, rt: Runtime, when: datetime, previous: datetime | None, at: datetime
    ) -> list[Decision]:
        groups = open_groups(rt, policy.groups)
        if not groups:
            return []
        members: dict[str, int] = {}
        opened: dict[str, datetime] = {}
        for g in groups:
            found = rt.memberships(g.id)
            members[g.id] = sum(1 for ms in found if ms.present)
            if found:
                opened[g.id] = min(ms.joined_at for ms in found)
        rows = group_health(rt.facts, groups, members, when, rt.tz, policy=policy, opened=opened)
        made: list[Decision] = []
        for h in rows:
            with rt.isolated(policy.id, None, when, group=h.group):
                if h.state == current_state(rt, policy.id, h.group):
                    continue
                d = rt.decide_about(
                    policy.id,
                    f"group_{h.state}",
                    group=h.group,
                    period=when.isoformat(),
                    at=when,
                    explanation=_explanation(h, policy),
                )
                recorded = rt.apply(Verdict(d, values={"health": _words(h, policy, rt.locale)}))
                if recorded is not None:
                    made.append(recorded)
        return made


def current_state(rt: Runtime, policy: str, group: str) -> HealthState:
    """The state ``policy`` last decided for ``group`` (``active`` before any)."""
    states = [
        d
        for d in rt.decisions(policy=policy, group=group)
        if d.action in ("group_dormant", "group_dead", "group_active") and d.status == "applied"
    ]
    if not states:
        return "active"
    last = max(states, key=lambda d: d.at)
    state = last.action.removeprefix("group_")
    return "dead" if state == "dead" else "dormant" if state == "dormant" else "active"


KIND = HealthKind()
