"""The engine: ingest events, decide on schedule, record, and deliver through plugins.

One :class:`Engine` ties a rule book, a store and plugins together. ``ingest`` takes
events and member profiles in; ``run(at)`` makes every decision due at ``at`` and
records each with its membership change and outgoing messages in one transaction;
``deliver(at)`` hands queued messages to messengers, with retries. Decisions never
read the clock: every call says what time it is. Only delivery leases, which must
exclude other deliverers for a span of real time whatever ``at`` each passes, are
measured on a clock the host supplies (``Engine(clock=...)``, ``time.time`` by default).

:class:`Engine` is the facade over one module per job in :mod:`groupops.engine`
(ingest, scheduling, deciding, message composition, delivery, explain).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from ._decision import Decision
from ._errors import Problem, RuleError, UnknownGroupError
from ._gc import collector_paused
from ._groups import Routing, route, seed_groups
from ._messaging import Messenger
from ._model import LedgerEntry, Membership
from ._referrals import ReferralTree, referral_tree
from ._reports import (
    PluginFailure,
    RunReport,
)
from ._time import to_zone
from .engine._deciding import Deciding, _failure
from .engine._delivery import Delivering
from .engine._explain import Explaining
from .engine._ingest import Ingesting, parse_json_record
from .engine._messages import Composing
from .engine._segments import Segments
from .engine._world import entries_of, referral_events
from .plugins._duckdb import DuckDBEvents
from .plugins._manager import Plugins
from .plugins._store import Store
from .rules._book import RuleBook
from .rules._facts import Community
from .rules.kinds import KindRegistry

__all__ = ["Engine", "parse_json_record"]


class _Rollback(Exception):
    """Raised inside a dry run's transaction so that nothing it wrote is kept."""


class Engine(Ingesting, Deciding, Composing, Delivering, Explaining, Segments):
    """Runs one rule book against one store.

    :param book: the rule book.
    :param store: a :class:`~groupops.Store`, or a URL that a plugin opens:
        ``"memory:"`` (default), ``"sqlite:///path.db"`` or a path ending in ``.db``.
    :param plugins: plugin objects to register by hand (besides entry points).
    :param entry_points: load plugins from the ``groupops`` entry-point group.
    :param default_messenger: the messenger for groups that name none (``console``,
        the built-in one that prints, unless given).
    :param max_attempts: delivery attempts before a message is given up as ``dead``.
    :param backoff: the wait after the first failed attempt; doubles after each, up to
        ``max_backoff``.
    :param max_backoff: the longest wait between two attempts (six hours by default).
    :param delivery_timeout: seconds a messenger may take before the attempt counts as
        failed (the messenger's thread is abandoned, not killed).
    :param lease: how long a delivery pass holds the messages it claimed, on ``clock``;
        no other deliverer takes them meanwhile. Must exceed ``delivery_timeout``.
    :param workers: at most this many messenger calls run at once in a delivery pass
        (8 by default); a call abandoned after ``delivery_timeout`` frees its place.
    :param clock: seconds since the Unix epoch, for delivery leases only (decisions never
        read it). Every process delivering from one store must share it: ``time.time``
        (the default) on hosts whose clocks are kept in step.
    :param facts: where a run's facts come from: ``"store"`` (the default: the store's
        own, SQL for :class:`~groupops.SQLiteStore`), ``"duckdb"`` (the SQLite store's
        events copied into embedded DuckDB, conditions answered there in one query per
        batch; needs ``groupops[duckdb]``), or a :class:`~groupops.DuckDBEvents` (events
        from Parquet or Arrow). Decisions are recorded in the store either way.
    """

    def __init__(
        self,
        book: RuleBook,
        *,
        store: Store | str = "memory:",
        plugins: Iterable[object] = (),
        entry_points: bool = True,
        default_messenger: str | None = None,
        max_attempts: int = 8,
        backoff: timedelta = timedelta(minutes=1),
        max_backoff: timedelta = timedelta(hours=6),
        delivery_timeout: float = 10.0,
        lease: timedelta = timedelta(minutes=5),
        workers: int = 8,
        clock: Callable[[], float] = time.time,
        facts: str | DuckDBEvents = "store",
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers: {workers!r} is not a positive whole number of threads")
        if not delivery_timeout > 0:
            raise ValueError(f"delivery_timeout: {delivery_timeout!r} is not a positive number of seconds")
        if lease.total_seconds() <= delivery_timeout:
            raise ValueError(
                f"lease: {lease!r} must be longer than delivery_timeout ({delivery_timeout!r} s), or a "
                "message could be handed to a messenger after its lease ran out"
            )
        self.book = book
        self.plugins = Plugins(plugins, entry_points=entry_points)
        self.store: Store = self.plugins.open_store(store, book) if isinstance(store, str) else store
        self.messengers: dict[str, Messenger] = self.plugins.messengers()
        self.metrics = self.plugins.metrics()
        self.kinds: KindRegistry = self.plugins.kinds()
        # every problem at once, every group with it: an operator fixes them in one pass
        problems = [
            Problem("", f"metric {m!r} is not registered by any plugin")
            for m in sorted(book.metrics_used() - set(self.metrics))
        ]
        problems += [
            Problem(
                f"policies[{i}].type",
                f"no policy kind {p.type!r} is registered (known kinds: {', '.join(self.kinds.names())})",
            )
            for i, p in enumerate(book.policies)
            if p.type not in self.kinds
        ]
        if default_messenger is not None and default_messenger not in self.messengers:
            problems.append(Problem("default_messenger", f"no messenger named {default_messenger!r}"))
        problems += [
            Problem(
                f"groups[{i}].messenger",
                f"no messenger named {g.messenger!r} (registered: {', '.join(sorted(self.messengers))})",
            )
            for i, g in enumerate(book.groups)
            if g.messenger is not None and g.messenger not in self.messengers
        ]
        if problems:
            raise RuleError(problems)
        self.default_messenger = default_messenger or "console"
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.delivery_timeout = delivery_timeout
        self.lease = lease
        self.workers = workers
        self.clock = clock
        self._failures: list[tuple[str, datetime, PluginFailure]] = []
        self._community = Community(book.tz)
        self._seq = 0
        self._sync_lock = threading.Lock()
        self._batch_facts = _batch_facts(facts, self.store)
        self._own_batch_facts = facts == "duckdb"

    def close(self) -> None:
        """Close the store (and the DuckDB events ``facts="duckdb"`` made)."""
        self.store.close()
        if self._own_batch_facts and self._batch_facts is not None:
            self._batch_facts.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- run -------------------------------------------------------------------------

    def run(self, at: datetime, *, dry_run: bool = False) -> RunReport:
        """Make every decision due at ``at``; record them with their membership changes
        and messages in one transaction, then tell observers.

        Every trigger since the last run is caught up in time order, each decided at its
        own moment: the points a periodic policy's kind lists as due (see each kind's
        module for what they are and when each is decided) and event triggers (a policy
        due ``on`` events: each event's time plus ``delay``). Policies with neither are
        decided at ``at``, to a fixed
        point: a decision that follows from one made at ``at`` (an invitation for a member
        just promoted) is made in the same run, so running again at the same ``at``
        changes nothing. A run that never settles raises :class:`RuleError` naming the
        policies, and records nothing.
        With ``dry_run`` nothing is recorded or delivered: the report shows what would be,
        each decision with status ``preview`` (or ``vetoed``, if a plugin would veto it).

        A plugin that fails (a veto hook or metric that raises, a veto that is neither None
        nor a non-empty string, an observer that raises) affects only what it was asked
        about: it is listed in the report's ``failures`` and the next run asks again.
        Observers are best effort: they are told after the commit, in memory.
        """
        at = to_zone(at, self.book.tz)
        made: list[Decision] = []
        failures: list[PluginFailure] = []
        try:
            with self.store.transaction(), collector_paused():
                self._failures = []
                seed_groups(self.store, self.book, at)
                made = self._decide_all(at)
                failures = [f for _, _, f in self._failures]
                if dry_run:
                    raise _Rollback
        except _Rollback:
            # nothing was applied: say so on each decision a plugin did not veto
            made = [d.model_copy(update={"status": "preview"}) if d.status == "applied" else d for d in made]
        if not dry_run:
            for d in made:
                failures += [
                    _failure(exc, policy=d.policy, member=d.member, group=d.group, decision=d.id)
                    for exc in self.plugins.observe(d, self)
                ]
        # reported in the book's zone itself (its name, e.g. CST, for display); the run
        # compared instants
        return RunReport(
            at=at.astimezone(self.book.tz),
            decisions=tuple(made),
            dry_run=dry_run,
            revision=self.book.revision,
            failures=tuple(failures),
        )

    def route(self, member: str, family: str, at: datetime) -> Routing:
        """The group of ``family`` a newcomer should join at ``at``, opening the family's
        next group when every one is full (see :func:`groupops.route`)."""
        return route(self, member, family, to_zone(at, self.book.tz))

    # -- queries ---------------------------------------------------------------------

    def decisions(self, **filters: str) -> list[Decision]:
        """Recorded decisions (filters: policy, member, group, action)."""
        return self.store.decisions(**filters)

    def ledger(self, member: str | None = None) -> list[LedgerEntry]:
        """The points ledger (of ``member``): every earning and redemption recorded, each
        with its cause, by time then recording order."""
        return entries_of(self.store, member=member)

    def referral_tree(self) -> ReferralTree:
        """The referral tree of the store's member profiles and ``referral`` events:
        sizes, referrers and conversion per generation, depth, beside the S = m·2ⁿ plan
        (see :func:`~groupops.referral_tree`)."""
        members = self.store.members()
        return referral_tree(members, referral_events(self._facts_for({m.id: m for m in members})))

    def balance(self, member: str, at: datetime | None = None) -> float:
        """The member's points: the sum of the member's ledger entries (at or before
        ``at``, when given)."""
        return sum(e.points for e in entries_of(self.store, member=member) if at is None or e.at <= at)

    def membership(self, member: str, group: str) -> Membership | None:
        """The current membership of ``member`` in ``group``, or None."""
        if group not in self._known_groups():
            raise UnknownGroupError(group, known=[g.id for g in self.book.groups])
        return self.store.get_membership(member, group)


def _batch_facts(facts: str | DuckDBEvents, store: Store) -> DuckDBEvents | None:
    """The DuckDB events ``Engine(facts=...)`` names, or None for the store's own facts."""
    if not isinstance(facts, str):
        return facts
    if facts == "store":
        return None
    if facts != "duckdb":
        raise ValueError(f"facts: {facts!r} is not 'store', 'duckdb' or a DuckDBEvents")
    from .plugins.sqlite import SQLiteStore

    if not isinstance(store, SQLiteStore):
        raise ValueError(f"facts: 'duckdb' copies the events of a SQLite store; this store is {store!r}")
    return DuckDBEvents.from_sqlite(store)
