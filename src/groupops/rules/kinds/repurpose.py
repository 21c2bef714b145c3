"""The repurpose kind: give a dormant group a new name, rules and announcement, and
remove, after notice, the members who do not fit its new purpose.

Trigger: its ``at`` (rename, notices) and ``at + notice`` (removals), in time order
with every other trigger.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from ..._decision import Decision, decision_id
from ..._i18n import messages
from ..._model import Time, change_group
from ..._reports import Section
from ..._time import Duration, DurationField
from .._conditions import Condition
from .._evaluate import evaluate
from .._explain import Explanation
from ._playbook import PlaybookKind
from ._registry import GroupRef, PolicyBase, Runtime, Verdict, catalogued_action

__all__ = ["KIND", "Repurpose", "RepurposeKind"]

_START, _END = 0, 1


class Repurpose(PolicyBase):
    """At ``at``, ``rename`` ``group``: its ``name``, ``rules`` and ``announcement`` (those
    given) change in the store, and every later message uses them. Then ``keep`` is
    enforced like an eviction: present members failing it get a ``notice`` at ``at``,
    and those still failing ``notice`` later are removed (``evict``); those who meet it
    by then are spared (``spare``). A run later than ``at`` gives the notices at its own
    instant and the removals wait a full ``notice`` after it."""

    type: Literal["repurpose"] = "repurpose"
    group: GroupRef
    at: Time
    name: str | None = Field(default=None, min_length=1)
    rules: str | None = None
    announcement: str | None = None
    notice: DurationField = Duration(2, "d")
    keep: Condition | None = None

    own_moments: ClassVar[str] = "a repurpose is due at its 'at'"

    @model_validator(mode="after")
    def _something_changes(self) -> Repurpose:
        if self.name is None and self.rules is None and self.announcement is None and self.keep is None:
            raise ValueError("give at least one of 'name', 'rules', 'announcement' and 'keep'")
        return self

    def group_ids(self) -> tuple[str, ...]:
        return (self.group,)


class RepurposeKind(PlaybookKind):
    """Rename at ``at``; notice who does not fit; remove them ``notice`` later."""

    name = "repurpose"
    model = Repurpose
    label: ClassVar[Mapping[str, str]] = messages("repurpose.label")
    actions = (catalogued_action("repurpose.rename", platform=True, audience="group"),)
    placeholders = frozenset({"announcement"})

    def moments(self, policy: Repurpose, rt: Runtime) -> list[tuple[datetime, int]]:
        end = self.moved_end(policy, rt) or policy.notice.after(policy.at, rt.tz)
        return [(policy.at, _START), *([(end, _END)] if policy.keep is not None else [])]

    def decide_moment(
        self, policy: Repurpose, rt: Runtime, when: datetime, what: int, at: datetime
    ) -> list[Decision]:
        if what == _START:
            return self._start(policy, rt, when, at)
        end = self.moved_end(policy, rt)
        if end is not None and when < end:
            return []  # a late notice moved the removals; they come at ``end``
        return self._end(policy, rt, when)

    def _start(self, policy: Repurpose, rt: Runtime, when: datetime, at: datetime) -> list[Decision]:
        made: list[Decision] = []
        current = rt.group(policy.group)
        if current is None or current.status != "open":
            return made
        fields: dict[str, Any] = {
            k: v
            for k, v in (
                ("name", policy.name),
                ("rules", policy.rules),
                ("announcement", policy.announcement),
            )
            if v is not None
        }
        if fields:
            with rt.isolated(policy.id, None, when, group=policy.group):
                d = rt.decide_about(policy.id, "rename", group=policy.group, period="rename", at=when)
                values = {"announcement": policy.announcement or ""}
                recorded = rt.apply(Verdict(d, group=change_group(current, when, **fields), values=values))
                if recorded is not None:
                    made.append(recorded)
        if policy.keep is None:
            return made
        # notices are given when the run gives them: a late run gives a full notice from now
        given = max(when, at)
        deadline = policy.notice.after(given, rt.tz)
        if given > when:
            self.move_end(policy, rt, deadline)
        for ms in rt.memberships(policy.group):
            with rt.isolated(policy.id, ms, given):
                if not ms.present or ms.joined_at > when:
                    continue
                keep = self._keep(policy, rt, ms, given)
                if keep.passed:
                    continue
                d = rt.decide(policy.id, "notice", ms, "keep", given, keep.negate())
                after = ms.model_copy(update={"status": "notified"})
                recorded = rt.apply(Verdict(d, ms, after, deadline=deadline))
                if recorded is not None:
                    made.append(recorded)
        return made

    def _end(self, policy: Repurpose, rt: Runtime, when: datetime) -> list[Decision]:
        made: list[Decision] = []
        for ms in rt.memberships(policy.group):
            with rt.isolated(policy.id, ms, when):
                if not ms.present:
                    continue
                notice = rt.decision(decision_id(policy.id, "notice", ms.member, ms.group, "keep"))
                if notice is None or notice.status != "applied":
                    continue
                keep = self._keep(policy, rt, ms, when)
                if keep.passed:
                    d = rt.decide(policy.id, "spare", ms, "keep", when, keep.negate())
                    after = ms.model_copy(update={"status": "active"})
                else:
                    d = rt.decide(policy.id, "evict", ms, "keep", when, keep.negate())
                    after = ms.model_copy(update={"status": "evicted", "evicted_at": when})
                recorded = rt.apply(Verdict(d, ms, after, deadline=when))
                if recorded is not None:
                    made.append(recorded)
        return made

    @staticmethod
    def _keep(policy: Repurpose, rt: Runtime, ms: Any, at: datetime) -> Explanation:
        assert policy.keep is not None
        return evaluate(policy.keep, rt.context(ms, at, default_scope=policy.default_scope))

    def explain(self, policy: Repurpose, rt: Runtime, ms: Any, at: datetime) -> tuple[list[Any], list[Any]]:
        if policy.keep is None or ms.group != policy.group:
            return [], []
        return [Section(kind="stay", explanation=self._keep(policy, rt, ms, at))], []


KIND = RepurposeKind()
