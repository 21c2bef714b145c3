"""Deciding: every trigger in time order, then the run's instant to a fixed point, and
recording verdicts; the Runtime kinds see is in ``_runtime.py``."""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from .._decision import Decision
from .._errors import PluginError, Problem, RuleError
from .._model import LabelChange, Member, Membership
from .._reports import PluginFailure
from ..rules._evaluate import Context
from ..rules._facts import History
from ..rules._facts_api import StoreFacts
from ..rules.kinds import Kind, Point, Verdict
from ._base import EngineBase
from ._runtime import _Presence, _Runtime
from ._schedule import _Triggers
from ._world import StoreWorld, add_entries_to

log = logging.getLogger("groupops.engine")


class Deciding(EngineBase):
    """Deciding: triggers in time order, then the run's instant to a fixed point;
    recording each verdict with its membership change and messages."""

    @contextmanager
    def _isolated(
        self,
        policy: str,
        ms: Membership | None,
        at: datetime,
        *,
        member: str | None = None,
        group: str | None = None,
    ) -> Iterator[None]:
        """Decide about one subject (a membership, else ``member`` and/or ``group``)
        under one policy. A plugin that fails meanwhile (a veto hook, a metric) is
        reported in the run's failures and affects nothing else: nothing about this
        subject under this policy is recorded, and the next run asks again."""
        if ms is not None:
            member, group = ms.member, ms.group
        try:
            yield
        except PluginError as exc:
            if exc.plugin is None:
                raise
            log.error("%s", exc)
            self._failures.append((policy, at, _failure(exc, policy=policy, member=member, group=group)))

    def _decide_all(self, at: datetime) -> list[Decision]:
        """Scheduled points of every policy since the last run, in time order (then book
        order, then the kind's own order), each decided at its own moment; then every
        decision due at ``at`` itself, to a fixed point."""
        made: list[Decision] = []
        rt = _Runtime(self, {m.id: m for m in self.store.members()})
        order = {p.id: i for i, p in enumerate(self.book.policies)}
        tick = itertools.count()
        points: list[tuple[datetime, int, int, int, Any, Point]] = []
        scheduled = [(p, self._kind(p)) for p in self.book.policies]
        for policy, kind in scheduled:
            for point in kind.due(policy, rt, at):
                points.append((point.when, order[policy.id], point.what, next(tick), policy, point))
        triggers = _Triggers(self, at)
        for policy in self.book.policies:
            for when, event in triggers.due(policy):
                points.append((when, order[policy.id], -1, next(tick), policy, Point(when, -1, event)))
        heapq.heapify(points)
        while points:
            _, _, what, _, policy, point = heapq.heappop(points)
            kind = self._kind(policy)
            if what == -1:  # an event trigger: decided at the event's time plus the delay
                failed_before = len(self._failures)
                made += kind.on_event(policy, point.payload, rt, point.when, at)
                if len(self._failures) > failed_before:
                    triggers.retry(policy, point.when, point.payload)
                continue
            decided, more = kind.decide_at_point(policy, point, rt, at)
            made += decided
            for p in more:
                heapq.heappush(points, (p.when, order[policy.id], p.what, next(tick), policy, p))
        for policy, kind in scheduled:
            kind.finish(policy, rt, at)
        triggers.save()
        made += self._decide_at(at, rt)
        self.store.set_state("last_run_at", at.isoformat())
        return made

    def _kind(self, policy: Any) -> Kind:
        return self.kinds.get(policy.type)

    def _decide_at(self, at: datetime, rt: _Runtime) -> list[Decision]:
        """Decisions due at ``at`` itself, to a fixed point.

        A decision can make another one due at the same instant (a role change that
        qualifies the member under another policy's ``{role: ...}`` condition; a member
        made present again). Each round after the first looks again at the members
        decided on in the round before, until a round decides nothing, so a rerun at the
        same ``at`` finds nothing left to do. Kinds name each decision after a step that
        can be taken once (``step-3``), so chains are short; a run still deciding after as
        many rounds as there are policies is caught in a cycle, reported as a
        :class:`RuleError` naming the policies. Kinds are asked in their ``order``, then
        in registration order, each kind's policies in book order."""
        book = self.book
        ranked = sorted(
            ((self._kind(p), i, p) for i, p in enumerate(book.policies) if not p.trigger_events()),
            key=lambda kp: (kp[0].order, self.kinds.names().index(kp[0].name), kp[1]),
        )
        rounds = 1 + sum(1 for k, _, _ in ranked if type(k).decide is not Kind.decide)
        made: list[Decision] = []
        members: set[str] | None = None  # the first round looks at everyone
        for _ in range(rounds):
            fresh: list[Decision] = []
            for kind, _, policy in ranked:
                fresh += kind.decide(policy, rt, at, members)
            made += fresh
            if not fresh:
                return made
            members = {d.member for d in fresh if d.member is not None}
        cycling = sorted({d.policy for d in fresh})
        raise RuleError(
            [
                Problem(
                    f"policies[{self._policy_index(pid)}]",
                    f"policy {pid!r} still decides at {at.isoformat()} after {rounds} rounds of one "
                    f"run: a cycle among {', '.join(map(repr, cycling))} (each undoes the other)",
                )
                for pid in cycling
            ]
        )

    def _policy_index(self, policy_id: str) -> int:
        return next(i for i, p in enumerate(self.book.policies) if p.id == policy_id)

    def _context(
        self,
        ms: Membership,
        at: datetime,
        profiles: Mapping[str, Member],
        *,
        default_scope: str,
        period_start: datetime | None = None,
        group: str | None = None,
        history: History | None = None,
        world: StoreWorld | None = None,
    ) -> Context:
        if history is None or world is None:
            facts, made = self._facts_and_world(profiles)
            history = history if history is not None else facts.history(ms.member)
            world = world if world is not None else made
        return Context(
            at=at,
            tz=self.book.tz,
            history=history,
            group=group or ms.group,
            member=profiles.get(ms.member),
            membership=ms,
            default_scope=default_scope,  # type: ignore[arg-type]
            period_start=period_start,
            metrics=self.metrics,
            world=world,
            present_in=self._present_groups(ms.member),
        )

    def _present_groups(self, member: str) -> Mapping[str, str]:
        """The groups ``member`` is present in (id -> kind), read from the store when a
        condition first asks (``member_of``)."""
        return _Presence(self, member)

    def member_context(
        self,
        member: str,
        at: datetime,
        profiles: Mapping[str, Member],
        *,
        read: tuple[StoreFacts, StoreWorld] | None = None,
    ) -> Context:
        """A context for ``member`` alone (also one in no group): member-wide scope.
        ``read``: the facts and world to read through (else made for ``profiles``)."""
        facts, world = read if read is not None else self._facts_and_world(profiles)
        return Context(
            at=at,
            tz=self.book.tz,
            history=facts.history(member),
            group="",
            member=profiles.get(member),
            membership=None,
            default_scope="member",
            metrics=self.metrics,
            world=world,
            present_in=self._present_groups(member),
        )

    def _memberships(
        self, group: str, members: set[str] | None, status: Collection[str] | None = None
    ) -> list[Membership]:
        """The memberships of ``group`` (all of them, or only those of ``members``) whose
        status is in ``status`` (None: any), by member. Without ``members``, a store that
        offers ``memberships_with_status`` reads only those."""
        if members is not None:
            found = self._memberships_of({(m, group) for m in members})
            held = [ms for ms in (found[(m, group)] for m in sorted(members)) if ms is not None]
        elif status is not None and (with_status := getattr(self.store, "memberships_with_status", None)):
            return list(with_status(group, status))
        else:
            held = self.store.memberships(group=group)
        return held if status is None else [ms for ms in held if ms.status in status]

    def _ended_by(self, group_id: str, at: datetime) -> bool:
        """Whether ``group_id`` was closed or dissolved at or before ``at`` (as the store
        keeps it; a store without groups: never)."""
        get = getattr(self.store, "get_group", None)
        group = get(group_id) if get is not None else None
        if group is None or group.status == "open":
            return False
        changes = [c for c in self.store.group_history(group_id) if "status" in c.fields]
        return not changes or changes[-1].at <= at

    def _apply(self, verdict: Verdict, profiles: Mapping[str, Member]) -> Decision | None:
        """Record one decision, its membership change and its messages, and return it,
        unless a plugin vetoes it (then only the vetoed decision is recorded, and
        returned). Nothing happens if it was recorded before (a rerun): None.

        Messages speak of ``verdict.about`` (the source membership of an invitation),
        else of the membership as it is after the decision.

        Nothing is decided on a group that was closed or dissolved at or before the
        decision's time, whatever the kind (built-in or plugin): such a verdict is
        dropped here and None returned, as for a rerun."""
        decision, before, after = verdict.decision, verdict.before, verdict.after
        if self.store.get_decision(decision.id) is not None:
            return None
        ended = decision.group is not None and self._ended_by(decision.group, decision.at)
        if ended and verdict.group is None:
            return None  # a closed or dissolved group: no policy decides on it any more
        reason = self.plugins.veto(decision, before)
        if reason is not None:
            vetoed = decision.model_copy(update={"status": "vetoed", "veto_reason": reason})
            return vetoed if self.store.add_decision(vetoed) else None
        if not self.store.add_decision(decision):
            return None
        if after is not None:
            self._record_membership(after, decision.at, decision.id, trusted_at=True)
        if verdict.entries:
            add_entries_to(self.store, verdict.entries)
        if verdict.group is not None:
            change = verdict.group.model_copy(update={"decision": decision.id, "source": "decision"})
            self.store.record_group(change)
        if verdict.labels is not None and decision.member is not None:
            held = self.store.get_member(decision.member)
            relabel = LabelChange(
                at=decision.at,
                member=decision.member,
                labels=verdict.labels,
                previous=held.labels if held is not None else (),
                decision=decision.id,
                source="decision",
            )
            self.store.record_labels(relabel)
            if isinstance(profiles, dict):  # later policies of this run see the new labels
                profile = self.store.get_member(decision.member)
                if profile is not None:
                    profiles[decision.member] = profile
        if verdict.silent:
            return decision
        subject = verdict.about or after or before
        context = self._message_context(decision, subject, profiles, deadline=verdict.deadline)
        context.update(verdict.values)
        self.store.add_messages(self._messages_for(decision, context, recipients=verdict.recipients))
        return decision


def _failure(
    exc: PluginError,
    *,
    policy: str | None = None,
    member: str | None = None,
    group: str | None = None,
    decision: str | None = None,
) -> PluginFailure:
    cause = exc.__cause__
    return PluginFailure(
        plugin=exc.plugin or "",
        hook=exc.hook or "",
        error=_describe(cause) if cause is not None else str(exc),
        policy=policy,
        member=member,
        group=group,
        decision=decision,
    )


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
