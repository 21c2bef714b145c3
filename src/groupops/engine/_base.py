"""What every engine job sees of the engine: its parts and the methods one job calls on
another. :class:`~groupops.Engine` is the facade that puts the jobs together."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._decision import Decision
    from .._messaging import Messenger
    from .._model import Member, Membership
    from .._outbox import OutboxMessage
    from .._reports import PluginFailure, StandingReport
    from ..plugins._manager import Plugins
    from ..plugins._store import Store
    from ..rules._book import RuleBook
    from ..rules._evaluate import Context, MetricFunction
    from ..rules._facts import Community, History
    from ..rules._facts_api import StoreFacts
    from ..rules.kinds import Kind, KindRegistry, Verdict
    from ._world import StoreWorld

__all__ = ["EngineBase"]


class EngineBase:
    """The engine's state, declared once for every job (set by ``Engine.__init__``)."""

    book: RuleBook
    plugins: Plugins
    store: Store
    messengers: dict[str, Messenger]
    metrics: dict[str, MetricFunction]
    kinds: KindRegistry
    default_messenger: str
    max_attempts: int
    backoff: timedelta
    max_backoff: timedelta
    delivery_timeout: float
    lease: timedelta
    workers: int
    clock: Callable[[], float]
    _failures: list[tuple[str, datetime, PluginFailure]]
    _community: Community
    _seq: int
    _sync_lock: threading.Lock
    _batch_facts: Any  # a DuckDBEvents the run's facts come from (Engine(facts="duckdb")), or None

    if TYPE_CHECKING:  # one job calling another: implemented by the job named

        def _facts_for(self, profiles: Mapping[str, Member]) -> StoreFacts: ...  # ingest

        def _facts_and_world(
            self, profiles: Mapping[str, Member]
        ) -> tuple[StoreFacts, StoreWorld]: ...  # ingest

        def _known_groups(self) -> set[str]: ...  # ingest

        def _memberships_of(
            self, keys: set[tuple[str, str]]
        ) -> dict[tuple[str, str], Membership | None]: ...  # ingest

        def _record_membership(
            self,
            membership: Membership,
            at: datetime,
            decision: str | None = None,
            *,
            trusted_at: bool = False,
        ) -> None: ...  # ingest

        def _kind(self, policy: Any) -> Kind: ...  # deciding

        def _present_groups(self, member: str) -> Mapping[str, str]: ...  # deciding

        def _standing(self, member: str, at: datetime, rt: Any) -> StandingReport: ...  # segments

        def member_context(
            self,
            member: str,
            at: datetime,
            profiles: Mapping[str, Member],
            *,
            read: tuple[StoreFacts, StoreWorld] | None = None,
        ) -> Context: ...

        def _isolated(
            self,
            policy: str,
            ms: Membership | None,
            at: datetime,
            *,
            member: str | None = None,
            group: str | None = None,
        ) -> AbstractContextManager[None]: ...

        def _message_context(
            self,
            d: Decision,
            ms: Membership | None,
            profiles: Mapping[str, Member],
            *,
            deadline: datetime | None = None,
        ) -> dict[str, object]: ...  # messages

        def _messages_for(
            self, d: Decision, context: Mapping[str, object], *, recipients: tuple[str, ...] | None = None
        ) -> list[OutboxMessage]: ...

        def _decide_all(self, at: datetime) -> list[Decision]: ...  # deciding

        def _memberships(
            self, group: str, members: set[str] | None, status: Collection[str] | None = None
        ) -> list[Membership]: ...

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
            world: Any = None,
        ) -> Context: ...

        def _apply(self, verdict: Verdict, profiles: Mapping[str, Member]) -> Decision | None: ...
