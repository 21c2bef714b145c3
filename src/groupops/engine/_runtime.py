"""The Runtime a kind sees of the engine during one run (or one explanation): the
:class:`~groupops.rules.kinds.Runtime` protocol over the engine's store and facts, with
the member's present groups loaded on first use."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, tzinfo
from typing import Any

from .._decision import Decision, DecisionHead
from .._errors import PluginError
from .._model import Group, LabelChange, LedgerEntry, Member, Membership
from .._reports import StandingReport
from ..rules._compile import member_local
from ..rules._evaluate import Context
from ..rules._explain import Explanation
from ..rules._facts_api import StoreFacts, Subject
from ..rules.kinds import Kind, Verdict
from ._base import EngineBase
from ._world import StoreWorld, add_entries_to, entries_of

log = logging.getLogger("groupops.engine")


class _Presence(Mapping[str, str]):
    """A member's present groups (id -> kind), loaded from the store on first use."""

    def __init__(self, engine: EngineBase, member: str) -> None:
        self._engine = engine
        self._member = member
        self._loaded: dict[str, str] | None = None

    def _groups(self) -> dict[str, str]:
        if self._loaded is None:
            store = self._engine.store
            found: dict[str, str] = {}
            for ms in store.memberships(member=self._member):
                if ms.present:
                    group = store.get_group(ms.group)
                    found[ms.group] = group.kind if group is not None else ""
            self._loaded = found
        return self._loaded

    def __getitem__(self, key: str) -> str:
        return self._groups()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._groups())

    def __len__(self) -> int:
        return len(self._groups())


class _Runtime:
    """What a kind sees of the engine during one run (or one explanation): the
    :class:`~groupops.rules.kinds.Runtime` protocol over this engine's store and facts."""

    def __init__(self, engine: EngineBase, profiles: Mapping[str, Member]) -> None:
        self._engine = engine
        self._profiles = profiles
        self._scratch: dict[str, dict[str, Any]] = {}
        self._facts: StoreFacts | None = None
        self._world_: StoreWorld | None = None

    @property
    def tz(self) -> tzinfo:
        return self._engine.book.tz

    @property
    def locale(self) -> str:
        return self._engine.book.locale

    @property
    def revision(self) -> str:
        return self._engine.book.revision

    @property
    def profiles(self) -> Mapping[str, Member]:
        return self._profiles

    @property
    def facts(self) -> StoreFacts:
        if self._facts is None:
            self._facts, self._world_ = self._engine._facts_and_world(self._profiles)
        return self._facts

    @property
    def _world(self) -> StoreWorld:
        """The world the run's conditions see (other members read through its facts)."""
        if self._world_ is None:
            self._facts, self._world_ = self._engine._facts_and_world(self._profiles)
        return self._world_

    def get_state(self, key: str) -> str | None:
        return self._engine.store.get_state(key)

    def set_state(self, key: str, value: str) -> None:
        self._engine.store.set_state(key, value)

    def memberships(
        self, group: str, members: set[str] | None = None, *, status: Collection[str] | None = None
    ) -> list[Membership]:
        found = self._engine._memberships(group, members, status)
        self.facts.prefetch(ms.member for ms in found)  # one query for their histories
        return found

    def membership(self, member: str, group: str) -> Membership | None:
        return self._engine.store.get_membership(member, group)

    def decision(self, decision_id: str) -> Decision | None:
        return self._engine.store.get_decision(decision_id)

    def decisions(self, **filters: str) -> list[Decision]:
        return self._engine.store.decisions(**filters)

    def decided(self, **filters: str) -> list[DecisionHead]:
        store = self._engine.store
        heads = getattr(store, "decision_heads", None)  # a store that offers them
        if heads is not None:
            found: list[DecisionHead] = heads(**filters)
            return found
        return [DecisionHead.of(d) for d in store.decisions(**filters)]

    def context(
        self, ms: Membership, at: datetime, *, default_scope: str, period_start: datetime | None = None
    ) -> Context:
        engine = self._engine
        history = self.facts.history(ms.member)
        return engine._context(
            ms,
            at,
            self._profiles,
            default_scope=default_scope,
            period_start=period_start,
            history=history,
            world=self._world,
        )

    def holding(
        self,
        condition: Any,
        memberships: Sequence[Membership],
        at: datetime,
        *,
        default_scope: str,
        period_start: datetime | None = None,
    ) -> list[bool | None]:
        if not memberships or not member_local(condition):
            return [None] * len(memberships)
        subjects = [Subject(ms, period_start) for ms in memberships]
        try:
            return list(self.facts.holding(condition, subjects, at, default_scope=default_scope))
        except PluginError:
            pass  # a metric plugin failed for someone: find whom, one at a time
        found: list[bool | None] = []
        for subject in subjects:
            try:
                [verdict] = self.facts.holding(condition, [subject], at, default_scope=default_scope)
            except PluginError:
                found.append(None)  # decided alone by the kind, where the failure is this member's
            else:
                found.append(verdict)
        return found

    def member_context(
        self,
        member: str,
        at: datetime,
        *,
        group: str | None = None,
        default_scope: str = "member",
        period_start: datetime | None = None,
    ) -> Context:
        engine = self._engine
        return Context(
            at=at,
            tz=engine.book.tz,
            history=self.facts.history(member),
            group=group or "",
            member=self._profiles.get(member) or Member(id=member),
            membership=engine.store.get_membership(member, group) if group else None,
            default_scope=default_scope,  # type: ignore[arg-type]
            period_start=period_start,
            metrics=engine.metrics,
            world=self._world,
            present_in=engine._present_groups(member),
        )

    def entries(self, *, member: str | None = None) -> list[LedgerEntry]:
        return entries_of(self._engine.store, member=member)

    def add_entries(self, entries: list[LedgerEntry]) -> list[bool]:
        return add_entries_to(self._engine.store, entries)

    def label_history(self, member: str) -> list[LabelChange]:
        return self._engine.store.label_history(member)

    def standing(self, member: str, at: datetime) -> StandingReport:
        return self._engine._standing(member, at, self)

    def groups(self) -> list[Group]:
        return self._engine.store.groups()

    def group(self, group_id: str) -> Group | None:
        return self._engine.store.get_group(group_id)

    def isolated(
        self,
        policy: str,
        ms: Membership | None,
        at: datetime,
        *,
        member: str | None = None,
        group: str | None = None,
    ) -> AbstractContextManager[None]:
        return self._engine._isolated(policy, ms, at, member=member, group=group)

    def held_back(self, ms: Membership, role: str, at: datetime) -> str | None:
        engine = self._engine
        for policy in engine.book.policies:
            kind = engine.kinds.get(policy.type)
            if type(kind).holds_back is not Kind.holds_back and kind.holds_back(policy, self, ms, role, at):
                return str(policy.id)
        return None

    def failures(self) -> int:
        return len(self._engine._failures)

    def scratch(self, key: str) -> dict[str, Any]:
        return self._scratch.setdefault(key, {})

    def decide(
        self,
        policy: str,
        action: str,
        ms: Membership,
        period: str,
        at: datetime,
        explanation: Explanation | None,
        **extra: Any,
    ) -> Decision:
        member, group = ms.member, ms.group
        return self.decide_about(
            policy, action, member=member, group=group, period=period, at=at, explanation=explanation, **extra
        )

    def decide_about(
        self,
        policy: str,
        action: str,
        *,
        member: str | None = None,
        group: str | None = None,
        period: str,
        at: datetime,
        explanation: Explanation | None = None,
        **extra: Any,
    ) -> Decision:
        return Decision.make(
            policy=policy,
            action=action,
            member=member,
            group=group,
            period=period,
            at=at,
            explanation=explanation,
            revision=self._engine.book.revision,
            **extra,
        )

    def apply(self, verdict: Verdict) -> Decision | None:
        return self._engine._apply(verdict, self._profiles)

    def refusal(self, member: str, group: str, at: datetime, *, leaving: str | None = None) -> str | None:
        target = self.group(group)
        if target is None:
            return None
        for policy in self._engine.book.policies:
            reason = self._engine._kind(policy).refuses(policy, self, member, target, at, leaving=leaving)
            if reason is not None:
                return reason
        return None
