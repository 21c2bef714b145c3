"""The deadline kind: what a newcomer must do within a time of joining.

Trigger: each member's own join. ``remind`` before the deadline a member for whom
``when`` does not hold yet gets a ``notice``; at the deadline (``within`` after the
join) one for whom it still does not hold is removed. Each is decided at its own
moment, so a late run decides what an on-time run would have.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any, ClassVar, Literal

from pydantic import Field

from ..._decision import Decision
from ..._i18n import messages, text
from ..._model import Membership
from ..._reports import Section
from ..._time import DurationField, to_zone
from .._conditions import Condition
from .._evaluate import evaluate, holds
from .._explain import Explanation
from . import eviction
from ._membership import REMOVE, removed
from ._registry import GroupRef, Kind, Point, PolicyBase, Runtime, Verdict

__all__ = ["KIND", "Deadline", "DeadlineKind", "deadline_moments"]

_REMIND, _DUE = 0, 1

_NOTICE = next(a for a in eviction.KIND.actions if a.name == "notice")


class Deadline(PolicyBase):
    """Members of ``groups`` must meet ``when`` within ``within`` of their own join.

    ``remind`` (optional) before that deadline, a member who does not meet it yet gets a
    ``notice`` (it quotes the deadline and what is missing); at the deadline, a member
    who still does not is removed (status ``removed``). ``when`` is evaluated at each
    moment, so ``{count: share, since: joined, at_least: 1}`` counts from the join. A
    member who meets it at the deadline is left alone; one who leaves first is not
    decided on. Rejoining starts a new deadline."""

    type: Literal["deadline"] = "deadline"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    within: DurationField
    remind: DurationField | None = None
    when: Condition

    own_moments: ClassVar[str] = "a deadline is due at each member's join plus 'within'"


def deadline_moments(policy: Deadline, joined_at: datetime, tz: tzinfo) -> tuple[datetime | None, datetime]:
    """The reminder's moment (None without ``remind``; never before the join) and the
    deadline, for a member who joined at ``joined_at``."""
    joined = to_zone(joined_at, tz)
    deadline = policy.within.after(joined, tz)
    if policy.remind is None:
        return None, deadline
    return max(joined, policy.remind.before(deadline, tz)), deadline


def _key(ms: Membership) -> str:
    return f"{ms.member}\x1f{ms.group}\x1f{ms.joined_at.isoformat()}"


class DeadlineKind(Kind):
    """Reminds, then removes, each member who has not met ``when`` by their deadline."""

    name = "deadline"
    order = 50
    model = Deadline
    label: ClassVar[Mapping[str, str]] = messages("policy_type.deadline")
    actions = (_NOTICE, REMOVE)  # the eviction kind's ``notice`` (one action, one template)
    placeholders = frozenset({"reason"})

    @staticmethod
    def _settled_key(policy: Deadline) -> str:
        return f"deadline:{policy.id}:settled"

    def _settled(self, policy: Deadline, rt: Runtime) -> set[str]:
        """Joinings whose deadline was decided (this run's copy): never looked at again."""
        scratch = rt.scratch(f"deadline:{policy.id}")
        if "settled" not in scratch:
            raw = rt.get_state(self._settled_key(policy))
            scratch["settled"] = set(json.loads(raw)) if raw else set()
            scratch["present"] = set()
        settled: set[str] = scratch["settled"]
        return settled

    def due(self, policy: Deadline, rt: Runtime, at: datetime) -> list[Point]:
        """The reminders and deadlines due by ``at`` of present members not yet settled."""
        settled = self._settled(policy, rt)
        present: set[str] = rt.scratch(f"deadline:{policy.id}")["present"]
        points: list[Point] = []
        for group in policy.groups:
            for ms in rt.memberships(group):
                if not ms.present:
                    continue
                key = _key(ms)
                present.add(key)
                if key in settled:
                    continue
                remind_at, deadline = deadline_moments(policy, ms.joined_at, rt.tz)
                if remind_at is not None and remind_at <= at and remind_at < deadline:
                    points.append(Point(remind_at, _REMIND, (ms.member, ms.group, ms.joined_at)))
                if deadline <= at:
                    points.append(Point(deadline, _DUE, (ms.member, ms.group, ms.joined_at)))
        return points

    def decide_at_point(
        self, policy: Deadline, point: Point, rt: Runtime, at: datetime
    ) -> tuple[list[Decision], list[Point]]:
        member, group_id, joined_at = point.payload
        ms = rt.membership(member, group_id)
        if ms is None or not ms.present or ms.joined_at != joined_at:
            return [], []  # gone since (left, removed by another policy) or joined again
        group = rt.group(group_id)
        if group is not None and group.status != "open":
            return [], []
        _, deadline = deadline_moments(policy, ms.joined_at, rt.tz)
        period = f"joined-{ms.joined_at.isoformat()}"
        made: list[Decision] = []
        failed_before = rt.failures()
        with rt.isolated(policy.id, ms, point.when):
            ctx = rt.context(ms, point.when, default_scope=policy.default_scope)
            met = holds(policy.when, ctx)
            if point.what == _REMIND:
                if not met:
                    exp = evaluate(policy.when, ctx).negate()  # passed: at risk, as an eviction's
                    d = rt.decide(policy.id, "notice", ms, period, point.when, exp)
                    recorded = rt.apply(Verdict(d, ms, None, deadline=deadline))
                    made += [recorded] if recorded is not None else []
                return made, []
            if not met:
                exp = evaluate(policy.when, ctx)
                d = rt.decide(policy.id, "remove", ms, period, point.when, exp)
                values = {"reason": self._reason(policy, exp, rt.locale)}
                recorded = rt.apply(Verdict(d, ms, removed(ms, point.when), deadline=deadline, values=values))
                made += [recorded] if recorded is not None else []
        if rt.failures() == failed_before:
            self._settled(policy, rt).add(_key(ms))
        return made, []

    @staticmethod
    def _reason(policy: Deadline, exp: Explanation, locale: str) -> str:
        return text("deadline.reason", locale, within=policy.within, missing=exp.missing(locale))

    def finish(self, policy: Deadline, rt: Runtime, at: datetime) -> None:
        scratch = rt.scratch(f"deadline:{policy.id}")
        settled = self._settled(policy, rt) & scratch["present"]  # forget those gone
        text = json.dumps(sorted(settled), ensure_ascii=False)
        if text != (rt.get_state(self._settled_key(policy)) or "[]"):
            rt.set_state(self._settled_key(policy), text)

    def explain(
        self, policy: Deadline, rt: Runtime, ms: Membership, at: datetime
    ) -> tuple[list[Any], list[Any]]:
        _, deadline = deadline_moments(policy, ms.joined_at, rt.tz)
        when = min(to_zone(at, rt.tz), deadline)
        ctx = rt.context(ms, when, default_scope=policy.default_scope)
        exp = evaluate(policy.when, ctx)
        section = Section(kind="by_deadline", explanation=exp, values={"deadline": deadline.isoformat()})
        return [section], []


KIND = DeadlineKind()
