"""The revival kind: let an evicted member back when ``when`` holds within ``within``.

Trigger: each run (decided at the run's instant, or at the window's end if that
passed since).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any, ClassVar, Literal

from pydantic import Field

from ..._decision import Decision
from ..._i18n import messages
from ..._model import Membership
from ..._reports import Note, Section
from ..._time import DurationField, to_zone
from .._conditions import Condition
from .._evaluate import Context, evaluate, holds
from .._explain import Explanation
from ._registry import GroupRef, Kind, PolicyBase, Runtime, StrategyContext, Verdict, catalogued_action

__all__ = ["KIND", "Revival", "RevivalKind", "revival_check", "revival_deadline", "revival_open"]


class Revival(PolicyBase):
    """Let an evicted member back when ``when`` holds within ``within`` of the eviction.

    At most ``max`` revivals per membership.
    """

    type: Literal["revival"] = "revival"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    within: DurationField
    max: int = Field(default=1, ge=0)
    when: Condition


def revival_deadline(policy: Revival, membership: Membership, tz: tzinfo) -> datetime | None:
    """The last moment the member may be revived, or None if not evicted."""
    if membership.evicted_at is None:
        return None
    return policy.within.after(membership.evicted_at, tz)


def revival_open(policy: Revival, membership: Membership, at: datetime, tz: tzinfo) -> bool:
    """Evicted, inside the window (``evicted_at <= at <= deadline``), revivals left."""
    deadline = revival_deadline(policy, membership, tz)
    at = to_zone(at, tz)  # compared as instants, never as wall clocks
    return (
        membership.status == "evicted"
        and deadline is not None
        and membership.evicted_at is not None
        and membership.evicted_at <= at <= deadline
        and membership.revivals < policy.max
    )


def revival_check(policy: Revival, ctx: Context) -> Explanation:
    """Whether the revival criteria hold in ``ctx``."""
    return evaluate(policy.when, ctx)


class RevivalKind(Kind):
    """At each run: revive evicted members who meet ``when`` inside their window."""

    name = "revival"
    order = 20
    model = Revival
    label: ClassVar[Mapping[str, str]] = messages("policy_type.revival")
    actions = (catalogued_action("revival.revive", platform=True),)

    def decide(self, policy: Revival, rt: Runtime, at: datetime, members: set[str] | None) -> list[Decision]:
        made: list[Decision] = []
        for group in policy.groups:
            # each open window's member at its own instant (the run's, or the window's end)
            candidates: list[tuple[Membership, datetime]] = []
            for ms in rt.memberships(group, members, status=("evicted",)):
                deadline = revival_deadline(policy, ms, rt.tz)
                if deadline is None:
                    continue
                when = min(at, deadline)
                if revival_open(policy, ms, when, rt.tz):
                    candidates.append((ms, when))
            verdicts = self._holding(policy, rt, candidates)
            for (ms, when), verdict in zip(candidates, verdicts, strict=True):
                with rt.isolated(policy.id, ms, at):
                    if verdict is None:  # not answered in the batch: decided alone
                        verdict = holds(policy.when, rt.context(ms, when, default_scope=policy.default_scope))
                    if not verdict:
                        continue
                    ctx = rt.context(ms, when, default_scope=policy.default_scope)
                    exp = revival_check(policy, ctx)
                    d = rt.decide(policy.id, "revive", ms, f"revival-{ms.revivals + 1}", when, exp)
                    after = ms.model_copy(
                        update={"status": "active", "revived_at": when, "revivals": ms.revivals + 1}
                    )
                    recorded = rt.apply(Verdict(d, ms, after))
                    if recorded is not None:
                        made.append(recorded)
        return made

    @staticmethod
    def _holding(
        policy: Revival, rt: Runtime, candidates: list[tuple[Membership, datetime]]
    ) -> list[bool | None]:
        """The verdicts of ``candidates``, one batch per instant."""
        by_instant: dict[datetime, list[int]] = {}
        for i, (_, when) in enumerate(candidates):
            by_instant.setdefault(when, []).append(i)
        verdicts: list[bool | None] = [None] * len(candidates)
        for when, indices in by_instant.items():
            batch = [candidates[i][0] for i in indices]
            found = rt.holding(policy.when, batch, when, default_scope=policy.default_scope)
            for i, verdict in zip(indices, found, strict=True):
                verdicts[i] = verdict
        return verdicts

    def explain(
        self, policy: Revival, rt: Runtime, ms: Membership, at: datetime
    ) -> tuple[list[Any], list[Any]]:
        deadline = revival_deadline(policy, ms, rt.tz)
        ctx = rt.context(ms, at, default_scope=policy.default_scope)
        sections = [Section(kind="come_back", explanation=revival_check(policy, ctx))]
        notes: list[Note] = []
        if deadline is not None:
            notes.append(Note(kind="window", values={"deadline": deadline.isoformat()}))
        notes.append(Note(kind="revivals", values={"used": str(ms.revivals), "max": str(policy.max)}))
        return sections, notes

    def strategy(self, ctx: StrategyContext) -> Any:
        from hypothesis import strategies as st

        return st.builds(
            Revival,
            id=st.just("revival"),
            groups=ctx.some_groups,
            within=ctx.durations(("h", "d", "w"), 21),
            max=st.integers(min_value=0, max_value=3),
            when=ctx.when,
        )


KIND = RevivalKind()
