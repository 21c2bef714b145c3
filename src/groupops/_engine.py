"""The engine: ingest events, decide on schedule, record, and deliver through plugins.

One :class:`Engine` ties a rule book, a store and plugins together. ``ingest`` takes
events and member profiles in; ``run(at)`` makes every decision due at ``at`` and
records each with its membership change and outgoing messages in one transaction;
``deliver(at)`` hands queued messages to messengers, with retries. Decisions never
read the clock: every call says what time it is. Only delivery leases, which must
exclude other deliverers for a span of real time whatever ``at`` each passes, are
measured on a clock the host supplies (``Engine(clock=...)``, ``time.time`` by default).
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from ._errors import InputError, PluginError, Problem, RuleError, UnknownGroupError, UnknownMemberError
from ._groups import current_group, seed_groups
from ._messaging import Messenger, Quota, can_carry_out
from ._model import (
    MAX_DATA_DEPTH,
    MAX_RECORD_SIZE,
    Decision,
    Event,
    Member,
    Membership,
    MembershipChange,
    decision_id,
)
from ._outbox import OutboxMessage
from ._reports import (
    DeliveryReport,
    ExplainReport,
    IngestReport,
    Note,
    PluginFailure,
    Rejected,
    RunReport,
    Section,
)
from ._validation import problems_from
from .plugins._manager import Plugins
from .plugins._store import Store
from .rules._book import RuleBook
from .rules._evaluate import Context, evaluate, holds
from .rules._explain import Explanation
from .rules._facts import Community
from .rules._policies import Admission, Eviction, Ladder, Revival, Welcome
from .rules._semantics import (
    Period,
    admission_check,
    eviction_check,
    eviction_period,
    eviction_periods,
    ladder_move,
    revival_check,
    revival_deadline,
    revival_open,
    welcome_due,
)
from .rules._templates import DEFAULT_TEMPLATES, invitation_phrase, render_template
from .rules._time import to_zone

__all__ = ["Engine"]

log = logging.getLogger("groupops.engine")

_ONE_TICK = timedelta(microseconds=1)


class _Rollback(Exception):
    """Raised inside a dry run's transaction so that nothing it wrote is kept."""


@dataclass
class _Pending:
    decision: Decision
    before: Membership | None
    after: Membership | None
    context: dict[str, str]


class Engine:
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
    :param delivery_timeout: seconds a messenger may take before the attempt counts as
        failed (the messenger's thread is abandoned, not killed).
    :param lease: how long a delivery pass holds the messages it claimed, on ``clock``;
        no other deliverer takes them meanwhile. Must exceed ``delivery_timeout``.
    :param workers: at most this many messenger calls run at once in a delivery pass
        (8 by default); a call abandoned after ``delivery_timeout`` frees its place.
    :param clock: seconds since the Unix epoch, for delivery leases only (decisions never
        read it). Every process delivering from one store must share it: ``time.time``
        (the default) on hosts whose clocks are kept in step.
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
        # every problem at once, every group with it: an operator fixes them in one pass
        problems = [
            Problem("", f"metric {m!r} is not registered by any plugin")
            for m in sorted(book.metrics_used() - set(self.metrics))
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

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ingest ----------------------------------------------------------------------

    def ingest(
        self, records: Iterable[Event | Member | Mapping[str, Any] | str], *, check_groups: bool = True
    ) -> IngestReport:
        """Take in events and member profiles: models, dicts, or JSON text lines.

        A mapping with a ``kind`` key is an event, any other a member profile.
        Re-ingesting an event id is a no-op (counted in ``duplicates``). A bad record is
        set aside in ``rejected`` with its problems; the rest goes through. ``joined``
        and ``left`` events open and close memberships (``data.role`` sets the role).

        An event naming a group the rule book does not know is a bad record (most often
        a typo, which no policy would ever see), rejected with a problem naming the group
        and the known ones. With ``check_groups=False`` it is stored, and the report's
        ``unknown_groups`` lists the groups the book does not know (for a host that
        ingests before it has a rule book, like ``groupops ingest`` without ``--rules``).
        """
        events: list[Event] = []
        members: list[Member] = []
        rejected: list[Rejected] = []
        known = {g.id for g in self.book.groups}
        unknown: set[str] = set()
        for index, record in enumerate(records):
            try:
                parsed = _parse_record(record)
            except InputError as exc:
                rejected.append(Rejected(index=index, record=record, problems=tuple(map(str, exc.problems))))
                continue
            if isinstance(parsed, Event):
                if parsed.group is not None and parsed.group not in known:
                    if check_groups:
                        problem = _unknown_group(parsed.group, known)
                        rejected.append(Rejected(index=index, record=record, problems=(str(problem),)))
                        continue
                    unknown.add(parsed.group)
                events.append(parsed)
            else:
                members.append(parsed)
        with self.store.transaction():
            for m in members:
                self.store.put_member(m)
            fresh = self.store.add_events(events)
            new_events = [e for e, is_new in zip(events, fresh, strict=True) if is_new]
            for e in sorted(new_events, key=lambda e: e.at):
                if e.kind in ("joined", "left") and e.group is not None:
                    self._presence(e)
        self._sync()
        return IngestReport(
            events=len(new_events),
            members=len(members),
            duplicates=tuple(e.id for e, is_new in zip(events, fresh, strict=True) if not is_new),
            rejected=tuple(rejected),
            unknown_groups=tuple(sorted(unknown)),
        )

    def _presence(self, event: Event) -> None:
        """Open or close a membership from a joined/left event, by event time."""
        assert event.group is not None
        ms = self.store.get_membership(event.member, event.group)
        role = event.data.get("role")
        if event.kind == "joined":
            if ms is None:
                ms = Membership(
                    member=event.member,
                    group=event.group,
                    joined_at=event.at,
                    role=role if isinstance(role, str) and role else "member",
                )
            elif ms.present and event.at < ms.joined_at:
                ms = ms.model_copy(update={"joined_at": event.at})
            elif not ms.present and event.at >= _latest(ms.left_at, ms.evicted_at, ms.joined_at):
                ms = ms.model_copy(update={"status": "active", "joined_at": event.at, "left_at": None})
            else:
                return
        else:
            if ms is None or not ms.present or event.at < ms.joined_at:
                return
            ms = ms.model_copy(update={"status": "left", "left_at": event.at})
        self._record_membership(ms, event.at)

    def put_membership(self, membership: Membership, *, at: datetime | None = None) -> None:
        """Insert or replace a membership directly (set a role, lock it, import state).

        The change is kept in the membership's history as taking effect at ``at``
        (default: the latest moment the membership names, such as its ``joined_at``)."""
        self.book.group(membership.group)
        self._record_membership(membership, at if at is not None else _latest_moment(membership))

    def _record_membership(self, membership: Membership, at: datetime, decision: str | None = None) -> None:
        """Put the membership, keeping the change in its history (if the store keeps one)."""
        change = MembershipChange(at=at, membership=membership, decision=decision)
        record = getattr(self.store, "record_membership", None)
        if record is None:  # a store written before membership history
            self.store.put_membership(membership)
        else:
            record(change)

    def _sync(self) -> None:
        """Bring the in-memory facts up to date with events stored since the last sync
        (by this or any other process)."""
        with self._sync_lock:
            for seq, event in self.store.events_after(self._seq):
                self._community.add(event)
                self._seq = seq

    # -- run -------------------------------------------------------------------------

    def run(self, at: datetime, *, dry_run: bool = False) -> RunReport:
        """Make every decision due at ``at``; record them with their membership changes
        and messages in one transaction, then tell observers.

        Eviction periods whose notice time or end fell since the last run are caught up
        in time order, each end decided at its own time; a notice is decided at ``at``
        (when it is actually given), for the latest period only, and an end that would
        come less than ``notice`` after it waits until the whole notice has passed.
        Welcome, admission, revival and ladder decisions are made at ``at``, to a fixed
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
            with self.store.transaction():
                self._failures = []
                self._sync()
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

    @contextmanager
    def _isolated(self, policy: str, ms: Membership, at: datetime) -> Iterator[None]:
        """Decide about one membership under one policy. A plugin that fails meanwhile
        (a veto hook, a metric) is reported in the run's failures and affects nothing
        else: nothing about this membership under this policy is recorded, and the next
        run asks again."""
        try:
            yield
        except PluginError as exc:
            if exc.plugin is None:
                raise
            log.error("%s", exc)
            self._failures.append(
                (policy, at, _failure(exc, policy=policy, member=ms.member, group=ms.group))
            )

    def _decide_all(self, at: datetime) -> list[Decision]:
        made: list[Decision] = []
        profiles = {m.id: m for m in self.store.members()}
        # (when, policy order, what: 0 notice / 1 end, tie-breaker, policy, period)
        points: list[tuple[datetime, int, int, int, Eviction, Period]] = []
        deferred: dict[str, dict[str, str]] = {}
        tick = itertools.count()
        for order, policy in enumerate(self.book.policies_of(Eviction)):
            cursor_key = f"eviction:{policy.id}:cursor"
            raw = self.store.get_state(cursor_key)
            if raw is not None:
                after = datetime.fromisoformat(raw)
            elif policy.start is not None:
                after = policy.start - _ONE_TICK
            else:
                after = at - _ONE_TICK
            pending = deferred[policy.id] = self._deferred_ends(policy)
            for key, due_text in pending.items():
                due = datetime.fromisoformat(due_text)
                period = eviction_period(policy, self.book.tz, datetime.fromisoformat(key))
                if due <= at and period is not None:
                    points.append((due, order, 1, next(tick), policy, period))
            if after < at:
                periods = eviction_periods(policy, self.book.tz, after, at)
                # Of the notices this run owes, only the latest period's is given: a member
                # told late of several periods at once would get one notice per period,
                # each too late to act on; the earlier periods pass without eviction.
                noticed = [p for p in periods if after < p.notice_at <= at]
                if noticed:
                    latest = noticed[-1]
                    points.append((latest.notice_at, order, 0, next(tick), policy, latest))
                for p in periods:
                    if after < p.end <= at:
                        points.append((p.end, order, 1, next(tick), policy, p))
                self.store.set_state(cursor_key, at.isoformat())
        heapq.heapify(points)
        retry_notices: dict[str, datetime] = {}  # policy -> the earliest notice a plugin failed at
        while points:
            when, order, what, _, policy, period = heapq.heappop(points)
            pending = deferred[policy.id]
            failed_before = len(self._failures)
            if what == 0:
                # A notice is decided when the run actually makes it: a late run's notice
                # gives the member the whole ``notice`` from now, so the period's end waits
                due = policy.notice.after(at, self.book.tz)
                deadline = max(period.end, due)
                if due > period.end:
                    pending[period.key] = due.isoformat()
                    if due <= at:  # a zero notice: the deferred end is due in this run
                        heapq.heappush(points, (due, order, 1, next(tick), policy, period))
                for group in policy.groups:
                    made += self._notices(policy, period, group, at, profiles, deadline=deadline)
                if len(self._failures) > failed_before:
                    first = retry_notices.get(policy.id, period.notice_at)
                    retry_notices[policy.id] = min(first, period.notice_at)
                continue
            waits = pending.get(period.key)
            if waits is not None and datetime.fromisoformat(waits) > when:
                continue  # deferred: a late notice; its end comes at ``due``
            pending.pop(period.key, None)
            for group in policy.groups:
                made += self._period_end(policy, period, group, when, profiles)
            if len(self._failures) > failed_before:
                # a plugin failed for a member at this end: the next run decides it again,
                # at this end's time (what was decided here is kept, by decision id)
                pending[period.key] = when.isoformat()
        for policy_id, notice_at in retry_notices.items():
            # a plugin failed at a notice: the next run gives that period's notices again
            # (to those who have none; a late notice, so the period's end waits for it)
            self.store.set_state(f"eviction:{policy_id}:cursor", (notice_at - _ONE_TICK).isoformat())
        for policy in self.book.policies_of(Eviction):
            key = f"eviction:{policy.id}:deferred"
            if deferred[policy.id] or self.store.get_state(key) not in (None, "{}"):
                self.store.set_state(key, json.dumps(deferred[policy.id], sort_keys=True))
        made += self._decide_at(at, profiles)
        self.store.set_state("last_run_at", at.isoformat())
        return made

    def _deferred_ends(self, policy: Eviction) -> dict[str, str]:
        """Periods of ``policy`` whose end waits for a late notice: period key -> when."""
        raw = self.store.get_state(f"eviction:{policy.id}:deferred")
        loaded = json.loads(raw) if raw else {}
        return {str(k): str(v) for k, v in loaded.items()}

    def _decide_at(self, at: datetime, profiles: Mapping[str, Member]) -> list[Decision]:
        """Welcome, revival, admission and ladder decisions at ``at``, to a fixed point.

        A decision can make another one due at the same instant (a promotion to
        ``active`` qualifies the member for an admission whose ``when`` is ``{role:
        active}``; a revival makes a member present again). Each round after the first
        looks again at the members decided on in the round before, until a round decides
        nothing, so a rerun at the same ``at`` finds nothing left to do. Every decision
        id names a step that can be taken once (``step-3``, ``revival-1``, ``invite-2``)
        and a member moves at most one ladder step per instant, so chains are short; a
        run still deciding after as many rounds as there are policies is caught in a
        cycle, reported as a :class:`RuleError` naming the policies."""
        book = self.book
        rounds = 1 + sum(1 for p in book.policies if isinstance(p, Welcome | Revival | Admission | Ladder))
        made: list[Decision] = []
        members: set[str] | None = None  # the first round looks at everyone
        for _ in range(rounds):
            fresh: list[Decision] = []
            for welcome in book.policies_of(Welcome):
                fresh += self._welcomes(welcome, at, profiles, members)
            for revival in book.policies_of(Revival):
                fresh += self._revivals(revival, at, profiles, members)
            for admission in book.policies_of(Admission):
                fresh += self._admissions(admission, at, profiles, members)
            for ladder in book.policies_of(Ladder):
                fresh += self._ladder(ladder, at, profiles, members)
            made += fresh
            if not fresh:
                return made
            members = {d.member for d in fresh}
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
    ) -> Context:
        return Context(
            at=at,
            tz=self.book.tz,
            history=self._community.history(ms.member),
            group=group or ms.group,
            member=profiles.get(ms.member),
            membership=ms,
            default_scope=default_scope,  # type: ignore[arg-type]
            period_start=period_start,
            metrics=self.metrics,
        )

    def _notices(
        self,
        policy: Eviction,
        period: Period,
        group: str,
        at: datetime,
        profiles: Mapping[str, Member],
        *,
        deadline: datetime,
    ) -> list[Decision]:
        made: list[Decision] = []
        for ms in self.store.memberships(group=group):
            with self._isolated(policy.id, ms, at):
                # who joined after the notice time waits for the next period, late run or not
                if not ms.present or ms.joined_at > min(at, period.notice_at):
                    continue
                ctx = self._context(
                    ms, at, profiles, default_scope=policy.default_scope, period_start=period.start
                )
                if not holds(policy.when, ctx):
                    continue  # a verdict first: explanations only for the notices given
                check = eviction_check(policy, ctx, period)
                if not check.at_risk:
                    continue
                d = self._decision(policy.id, "notice", ms, period.key, at, check.failing)
                after = ms.model_copy(update={"status": "notified"})
                self._apply(made, d, ms, after, profiles, deadline=deadline)
        return made

    def _period_end(
        self, policy: Eviction, period: Period, group: str, at: datetime, profiles: Mapping[str, Member]
    ) -> list[Decision]:
        made: list[Decision] = []
        for ms in self.store.memberships(group=group):
            with self._isolated(policy.id, ms, at):
                if not ms.present:
                    continue
                noticed = decision_id(policy.id, "notice", ms.member, ms.group, period.key)
                notice = self.store.get_decision(noticed)
                if notice is None or notice.status != "applied":
                    continue
                ctx = self._context(
                    ms, at, profiles, default_scope=policy.default_scope, period_start=period.start
                )
                check = eviction_check(policy, ctx, period)
                if check.at_risk:
                    d = self._decision(policy.id, "evict", ms, period.key, at, check.failing)
                    after = ms.model_copy(update={"status": "evicted", "evicted_at": at})
                else:
                    d = self._decision(policy.id, "spare", ms, period.key, at, check.failing)
                    after = ms.model_copy(update={"status": "active"})
                self._apply(made, d, ms, after, profiles, deadline=max(period.end, at))
        return made

    def _welcomes(
        self, policy: Welcome, at: datetime, profiles: Mapping[str, Member], members: set[str] | None = None
    ) -> list[Decision]:
        made: list[Decision] = []
        for group in policy.groups:
            for ms in self._memberships(group, members):
                with self._isolated(policy.id, ms, at):
                    if not welcome_due(policy, ms, at, self.book.tz):
                        continue
                    period = f"joined-{ms.joined_at.isoformat()}"
                    d = self._decision(policy.id, "welcome", ms, period, at, None)
                    self._apply(made, d, ms, None, profiles)
        return made

    def _revivals(
        self, policy: Revival, at: datetime, profiles: Mapping[str, Member], members: set[str] | None = None
    ) -> list[Decision]:
        made: list[Decision] = []
        for group in policy.groups:
            for ms in self._memberships(group, members):
                with self._isolated(policy.id, ms, at):
                    deadline = revival_deadline(policy, ms, self.book.tz)
                    if deadline is None:
                        continue
                    when = min(at, deadline)
                    if not revival_open(policy, ms, when, self.book.tz):
                        continue
                    ctx = self._context(ms, when, profiles, default_scope=policy.default_scope)
                    if not holds(policy.when, ctx):
                        continue
                    exp = revival_check(policy, ctx)
                    d = self._decision(policy.id, "revive", ms, f"revival-{ms.revivals + 1}", when, exp)
                    after = ms.model_copy(
                        update={"status": "active", "revived_at": when, "revivals": ms.revivals + 1}
                    )
                    self._apply(made, d, ms, after, profiles)
        return made

    def _admissions(
        self, policy: Admission, at: datetime, profiles: Mapping[str, Member], members: set[str] | None = None
    ) -> list[Decision]:
        made: list[Decision] = []
        seen: set[str] = set()
        for group in policy.from_:
            for ms in self._memberships(group, members):
                with self._isolated(policy.id, ms, at):
                    if not ms.present or ms.member in seen:
                        continue
                    seen.add(ms.member)
                    target = self.store.get_membership(ms.member, policy.to)
                    if target is not None and target.present:
                        continue
                    invites = [
                        d
                        for d in self.store.decisions(policy=policy.id, member=ms.member, action="invite")
                        if d.status == "applied"
                    ]
                    if len(invites) >= policy.max_invitations:
                        continue  # invited as often as the policy allows
                    if invites and at < policy.expires.after(max(d.at for d in invites), self.book.tz):
                        continue  # an invitation is still open
                    ctx = self._context(ms, at, profiles, default_scope=policy.default_scope)
                    if not holds(policy.when, ctx):
                        continue
                    exp = admission_check(policy, ctx)
                    d = Decision.make(
                        policy=policy.id,
                        action="invite",
                        member=ms.member,
                        group=policy.to,
                        period=f"invite-{len(invites) + 1}",
                        at=at,
                        explanation=exp,
                        revision=self.book.revision,
                        target_group=policy.to,
                    )
                    self._apply(made, d, target, None, profiles, about=ms)
        return made

    def _ladder(
        self, policy: Ladder, at: datetime, profiles: Mapping[str, Member], members: set[str] | None = None
    ) -> list[Decision]:
        made: list[Decision] = []
        for group in policy.groups:
            for ms in self._memberships(group, members):
                with self._isolated(policy.id, ms, at):
                    if not ms.present or (ms.promoted_at is not None and ms.promoted_at >= at):
                        continue
                    ctx = self._context(ms, at, profiles, default_scope=policy.default_scope)
                    move = ladder_move(policy, ctx)
                    if move is None:
                        continue
                    d = self._decision(
                        policy.id,
                        move.action,
                        ms,
                        f"step-{ms.role_changes + 1}",
                        at,
                        move.explanation,
                        from_role=move.from_role,
                        to_role=move.to_role,
                    )
                    after = ms.model_copy(
                        update={"role": move.to_role, "promoted_at": at, "role_changes": ms.role_changes + 1}
                    )
                    self._apply(made, d, ms, after, profiles)
        return made

    def _memberships(self, group: str, members: set[str] | None) -> list[Membership]:
        """The memberships of ``group``: all of them, or only those of ``members``."""
        if members is None:
            return self.store.memberships(group=group)
        found = (self.store.get_membership(m, group) for m in sorted(members))
        return [ms for ms in found if ms is not None]

    def _decision(
        self,
        policy: str,
        action: str,
        ms: Membership,
        period: str,
        at: datetime,
        explanation: Explanation | None,
        **extra: Any,
    ) -> Decision:
        return Decision.make(
            policy=policy,
            action=action,
            member=ms.member,
            group=ms.group,
            period=period,
            at=at,
            explanation=explanation,
            revision=self.book.revision,
            **extra,
        )

    def _apply(
        self,
        made: list[Decision],
        decision: Decision,
        before: Membership | None,
        after: Membership | None,
        profiles: Mapping[str, Member],
        *,
        about: Membership | None = None,
        deadline: datetime | None = None,
    ) -> None:
        """Record one decision, its membership change and its messages, and add it to
        ``made``, unless a plugin vetoes it (then only the vetoed decision is recorded).
        Nothing happens if it was recorded before (a rerun), so nothing is done twice.

        Messages speak of ``about`` (the source membership of an invitation), else of the
        membership as it is after the decision."""
        if self.store.get_decision(decision.id) is not None:
            return
        reason = self.plugins.veto(decision, before)
        if reason is not None:
            vetoed = decision.model_copy(update={"status": "vetoed", "veto_reason": reason})
            if self.store.add_decision(vetoed):
                made.append(vetoed)
            return
        if not self.store.add_decision(decision):
            return
        if after is not None:
            self._record_membership(after, decision.at, decision.id)
        subject = about or after or before
        assert subject is not None, "a decision is about a membership"
        context = self._message_context(decision, subject, profiles, deadline=deadline)
        self.store.add_messages(self._messages_for(decision, context))
        made.append(decision)

    # -- messages --------------------------------------------------------------------

    def _message_context(
        self,
        d: Decision,
        ms: Membership,
        profiles: Mapping[str, Member],
        *,
        deadline: datetime | None = None,
    ) -> dict[str, str]:
        locale = self.book.locale
        member = profiles.get(d.member)
        # names as the store has them now: a group renamed by a decision shows its new name
        group = current_group(self.store, self.book.group(d.group))
        target = current_group(self.store, self.book.group(d.target_group)) if d.target_group else None
        return {
            "member.id": d.member,
            "member.name": (member.name if member and member.name else d.member),
            "group.id": group.id,
            "group.name": group.name or group.id,
            "target.id": target.id if target else "",
            "target.name": (target.name or target.id) if target else "",
            "policy": d.policy,
            "action": d.action,
            "period": d.period,
            "reasons": d.reasons(locale),
            "deadline": deadline.astimezone(self.book.tz).strftime("%Y-%m-%d %H:%M") if deadline else "",
            "role": ms.role,
            "at": d.at.astimezone(self.book.tz).strftime("%Y-%m-%d %H:%M"),
            **self._invitation_context(d),
        }

    def _invitation_context(self, d: Decision) -> dict[str, str]:
        """``{invitation}``, ``{invitation.number}`` and ``{invitation.max}`` for an invitation."""
        policy = self.book.policy(d.policy)
        if d.action != "invite" or not isinstance(policy, Admission) or not d.period.startswith("invite-"):
            return {}
        number = int(d.period.removeprefix("invite-"))
        of = policy.max_invitations
        return {
            "invitation": invitation_phrase(number, of, self.book.locale),
            "invitation.number": str(number),
            "invitation.max": str(of),
        }

    def _render(self, action: str, policy_id: str, context: Mapping[str, str]) -> str:
        policy = self.book.policy(policy_id)
        text = self.book.template(action, policy)
        if text is None:
            text = DEFAULT_TEMPLATES[self.book.locale].get(action) or DEFAULT_TEMPLATES["en"]["task"]
        return render_template(text, context)

    def _messages_for(self, d: Decision, context: Mapping[str, str]) -> list[OutboxMessage]:
        group = self.book.group(d.group)
        name = group.messenger or self.default_messenger
        messenger = self.messengers.get(name)
        out: list[OutboxMessage] = []

        def message(action: str, recipient: str, via: str, text: str) -> OutboxMessage:
            return OutboxMessage(
                key=f"{d.id}:{action}:{recipient}",
                decision=d.id,
                messenger=via,
                action=action,
                member=d.member,
                group=d.group,
                recipient=recipient,
                text=text,
                created_at=d.at,
                next_at=d.at,
            )

        member_text = self._render(d.action, d.policy, context)
        if messenger is not None and can_carry_out(messenger, d.action):
            out.append(message(d.action, d.member, name, member_text))
            return out
        # The platform cannot do this itself: tell the member what we can, and hand the
        # action to the group's operators as a task.
        if messenger is not None and can_carry_out(messenger, "message"):
            out.append(message("message", d.member, name, member_text))
        task_via = (
            name
            if messenger is not None and can_carry_out(messenger, "task")
            else next((n for n, m in self.messengers.items() if can_carry_out(m, "task")), name)
        )
        task_text = self._render("task", d.policy, context)
        for operator in self._operators(d.group):
            out.append(message("task", operator, task_via, task_text))
        return out

    def _operators(self, group: str) -> list[str]:
        g = self.book.group(group)
        if g.operators:
            return list(g.operators)
        owners = [ms.member for ms in self.store.memberships(group=group) if ms.role in ("owner", "admin")]
        return owners or ["operators"]

    # -- delivery --------------------------------------------------------------------

    def deliver(self, at: datetime, *, limit: int = 1000) -> DeliveryReport:
        """Hand due messages to their messengers, at most ``workers`` calls at a time,
        each with a timeout, and record each outcome as soon as it is known.

        Messages are claimed in batches under a lease owned by this pass (a fresh token)
        that runs for ``lease`` on ``clock``: no other deliverer takes them meanwhile,
        whatever ``at`` it passes, and an outcome is recorded only while this pass still
        owns the message. Messages to one recipient go one after another, in the order
        of their decisions; a later one waits while an earlier one is not delivered
        (pending, retrying, held or in flight), and goes ahead once the earlier one is
        delivered or ``dead``. Each message ends the pass ``delivered``; failed and
        retried after a doubling backoff; ``dead`` after ``max_attempts``; or ``held``
        when the messenger's per-recipient quota is used up (retried when it frees).
        A messenger that raises or hangs affects only its own message and the later
        messages to the same recipient. See docs/engine.md for the exact guarantee.

        :param at: the time of this pass: what is due, and the time recorded.
        :param limit: at most this many messages are claimed in this pass.
        """
        at = to_zone(at, self.book.tz)
        owner = uuid.uuid4().hex
        outcome = _Outcome()
        taken = 0
        batch_size = self.workers * 4
        while taken < limit:
            now = self._now()
            batch = self.store.claim_messages(
                at, owner=owner, now=now, lease_until=now + self.lease, limit=min(batch_size, limit - taken)
            )
            if not batch:
                break
            taken += len(batch)
            self._deliver_batch(at, owner, batch, outcome)
        return DeliveryReport(
            delivered=tuple(outcome.delivered),
            retrying=tuple(outcome.retrying),
            held=tuple(outcome.held),
            dead=tuple(outcome.dead),
        )

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _deliver_batch(self, at: datetime, owner: str, batch: list[OutboxMessage], outcome: _Outcome) -> None:
        """Deliver one claimed batch: one chain per recipient, in order; at most
        ``workers`` messenger calls at once."""
        chains: dict[str, deque[OutboxMessage]] = {}
        for msg in batch:  # claimed in delivery order
            chains.setdefault(msg.recipient, deque()).append(msg)
        ready: deque[deque[OutboxMessage]] = deque(chains.values())
        results: queue.Queue[tuple[str, BaseException | None]] = queue.Queue()
        active: dict[str, tuple[OutboxMessage, deque[OutboxMessage], float]] = {}
        while ready or active:
            while ready and len(active) < self.workers:
                chain = ready.popleft()
                msg = chain.popleft()
                started = self._start(at, owner, msg, results, outcome)
                if started:
                    active[msg.key] = (msg, chain, time.monotonic() + self.delivery_timeout)
                else:
                    self._release(owner, chain)
            if not active:
                continue
            wait = min(deadline for _, _, deadline in active.values()) - time.monotonic()
            try:
                key, error = results.get(timeout=max(0.0, wait))
            except queue.Empty:
                now = time.monotonic()
                for key in [k for k, (_, _, deadline) in active.items() if deadline <= now]:
                    msg, chain, _ = active.pop(key)
                    # the messenger's thread is abandoned: its late answer is ignored
                    timeout = TimeoutError(f"no answer within {self.delivery_timeout:g} s")
                    self._record(at, owner, msg, timeout, outcome)
                    self._release(owner, chain)
                continue
            if key not in active:
                continue  # the late answer of an attempt that timed out
            msg, chain, _ = active.pop(key)
            self._record(at, owner, msg, error, outcome)
            if error is None and chain:
                ready.append(chain)
            else:
                self._release(owner, chain)

    def _start(
        self,
        at: datetime,
        owner: str,
        msg: OutboxMessage,
        results: queue.Queue[tuple[str, BaseException | None]],
        outcome: _Outcome,
    ) -> bool:
        """Start delivering ``msg`` in a thread of its own; False if it was not started
        (no time left on the lease, no such messenger, or its quota is used up)."""
        assert msg.lease_until is not None
        if self._now() + timedelta(seconds=self.delivery_timeout) > msg.lease_until:
            # the lease could run out while the messenger works: leave it to a fresh claim
            self._release(owner, [msg])
            return False
        messenger = self.messengers.get(msg.messenger)
        if messenger is None:
            missing = LookupError(f"no messenger named {msg.messenger!r} is registered")
            self._record(at, owner, msg, missing, outcome)
            return False
        quota = messenger.quota
        if quota is not None:
            free_at = self._quota_free_at(msg, quota, at)
            if free_at is not None:
                held = msg.model_copy(
                    update={
                        "status": "held",
                        "next_at": free_at,
                        "lease_until": None,
                        "lease_owner": None,
                        "last_error": f"quota: {quota.limit} per {quota.per} to {msg.recipient!r} used up",
                    }
                )
                if self.store.update_message(held, owner=owner):
                    outcome.held.append(msg.key)
                return False
        threading.Thread(
            target=_deliver_into,
            args=(messenger, msg, results),
            daemon=True,
            name=f"groupops-deliver-{msg.key[:12]}",
        ).start()
        return True

    def _record(
        self, at: datetime, owner: str, msg: OutboxMessage, error: BaseException | None, outcome: _Outcome
    ) -> None:
        """Record one attempt's outcome at once, if this pass still owns the message."""
        attempts = msg.attempts + 1
        update: dict[str, Any] = {"attempts": attempts, "lease_until": None, "lease_owner": None}
        if error is None:
            update.update(status="delivered", delivered_at=at, last_error=None)
            bucket = outcome.delivered
        elif attempts >= self.max_attempts:
            update.update(status="dead", last_error=_describe(error))
            bucket = outcome.dead
        else:
            wait = min(self.backoff * (2 ** (attempts - 1)), self.max_backoff)
            update.update(status="pending", next_at=at + wait, last_error=_describe(error))
            bucket = outcome.retrying
        if self.store.update_message(msg.model_copy(update=update), owner=owner):
            bucket.append(msg.key)
        else:
            log.warning("message %s: another deliverer took it over; this outcome is not recorded", msg.key)

    def _release(self, owner: str, messages: Iterable[OutboxMessage]) -> None:
        """Give claimed messages back untouched (no attempt made), for a later pass."""
        for msg in messages:
            released = msg.model_copy(update={"lease_until": None, "lease_owner": None})
            self.store.update_message(released, owner=owner)

    def _quota_free_at(self, msg: OutboxMessage, quota: Quota, at: datetime) -> datetime | None:
        """None if the recipient's quota allows one more message now; else when it will.

        Messages to one recipient are delivered one at a time and each outcome is
        recorded at once, so the store's delivery times are the whole count."""
        window_start = quota.per.before(at, self.book.tz)
        sent = self.store.delivery_times(messenger=msg.messenger, recipient=msg.recipient, since=window_start)
        if len(sent) < quota.limit:
            return None
        return quota.per.after(sent[len(sent) - quota.limit], self.book.tz)

    # -- explain ---------------------------------------------------------------------

    def explain(self, member: str, group: str, policy: str, at: datetime) -> ExplainReport:
        """The requirement table for one member under one policy at ``at``: each
        requirement, the observed value, met or not, and notes (grace, the period's end,
        the revival window), each in English or Chinese (:meth:`ExplainReport.render`).

        Events count up to ``at``, and the membership (role, status, join and eviction
        times) is the one in effect at ``at`` as the policy saw it then, read from the
        store's membership history: at the instant of a recorded decision, the report
        gives that decision's verdict. Where the store keeps no history that far back (a
        database older than the history), the current membership is used and a
        ``no_history`` note says so. Nothing is recorded."""
        at = to_zone(at, self.book.tz)
        self.book.group(group)
        p = self.book.policy(policy)
        self._sync()
        ms, known = self._membership_then(member, group, p.id, at)
        profile = self.store.get_member(member)
        if ms is None and profile is None and not self._community.history(member).kinds():
            raise UnknownMemberError(member)
        if ms is None:
            ms = Membership(member=member, group=group, joined_at=at, status="left")
        profiles = {member: profile} if profile is not None else {}
        sections: list[Section] = []
        notes: list[Note] = []
        if not known:
            notes.append(Note(kind="no_history", values={"at": at.isoformat()}))
        if isinstance(p, Eviction):
            period = eviction_period(p, self.book.tz, at)
            ctx = self._context(
                ms, at, profiles, default_scope=p.default_scope, period_start=period.start if period else None
            )
            if period is not None:
                check = eviction_check(p, ctx, period)
                sections.append(Section(kind="stay", explanation=check.failing.negate()))
                if check.exempt is not None:
                    sections.append(Section(kind="exempt", explanation=check.exempt))
                if check.grace:
                    notes.append(Note(kind="grace"))
                notes.append(
                    Note(
                        kind="period",
                        values={"end": period.end.isoformat(), "notice_at": period.notice_at.isoformat()},
                    )
                )
            else:
                sections.append(Section(kind="stay", explanation=evaluate(p.when, ctx).negate()))
        elif isinstance(p, Ladder):
            ctx = self._context(ms, at, profiles, default_scope=p.default_scope)
            roles = p.roles()
            if ms.role in roles:
                i = roles.index(ms.role)
                up = p.steps[i + 1] if i + 1 < len(roles) else None
                if up is not None and up.promote is not None:
                    promote = evaluate(up.promote, ctx)
                    sections.append(Section(kind="promote", values={"role": up.role}, explanation=promote))
                keep = p.steps[i].keep if i > 0 else None
                if keep is not None:
                    kept = evaluate(keep, ctx)
                    sections.append(Section(kind="keep", values={"role": ms.role}, explanation=kept))
                if up is None:  # the top rung: say so, and what keeps it, not just a header
                    top = "top" if keep is not None else "top_unguarded"
                    notes.append(Note(kind=top, values={"role": ms.role}))
            else:
                notes.append(Note(kind="off_ladder", values={"role": ms.role}))
            if ms.locked:
                notes.append(Note(kind="locked"))
        elif isinstance(p, Admission):
            ctx = self._context(ms, at, profiles, default_scope=p.default_scope)
            invited = admission_check(p, ctx)
            sections.append(Section(kind="invited", values={"group": p.to}, explanation=invited))
        elif isinstance(p, Revival):
            deadline = revival_deadline(p, ms, self.book.tz)
            ctx = self._context(ms, at, profiles, default_scope=p.default_scope)
            sections.append(Section(kind="come_back", explanation=revival_check(p, ctx)))
            if deadline is not None:
                notes.append(Note(kind="window", values={"deadline": deadline.isoformat()}))
            notes.append(Note(kind="revivals", values={"used": str(ms.revivals), "max": str(p.max)}))
        elif isinstance(p, Welcome):
            notes.append(Note(kind="welcome", values={"within": str(p.within)}))
        return ExplainReport(
            member=member,
            group=group,
            policy=p.id,
            policy_type=p.type,
            at=at,
            sections=tuple(sections),
            notes=tuple(notes),
        )

    def _membership_then(
        self, member: str, group: str, policy: str, at: datetime
    ) -> tuple[Membership | None, bool]:
        """The membership as ``policy`` saw it at ``at``, and whether the store's history
        says so (False: the current membership stands in for a past it did not keep).

        In effect at ``at``: the last change before ``at``, or at ``at`` itself unless a
        decision of ``policy`` made it (a decision is explained on the membership it was
        made on). From the last recorded change on, the current membership holds."""
        current = self.store.get_membership(member, group)
        history = getattr(self.store, "membership_history", None)
        changes: list[MembershipChange] = history(member, group) if history is not None else []
        if not changes:
            return current, current is None
        if at >= changes[-1].at and not self._made_by(changes[-1], policy, at):
            return current, True
        then = [c for c in changes if c.at < at or (c.at == at and not self._made_by(c, policy, at))]
        if then:
            return then[-1].membership, True
        # before the first recorded change: not a member yet, unless the membership is
        # older than the history (a database that kept none before)
        first = changes[0]
        if first.decision is None and first.membership.joined_at >= first.at:
            return None, True
        return current, False

    def _made_by(self, change: MembershipChange, policy: str, at: datetime) -> bool:
        if change.decision is None or change.at != at:
            return False
        d = self.store.get_decision(change.decision)
        return d is not None and d.policy == policy

    # -- queries ---------------------------------------------------------------------

    def decisions(self, **filters: str) -> list[Decision]:
        """Recorded decisions (filters: policy, member, group, action)."""
        return self.store.decisions(**filters)

    def membership(self, member: str, group: str) -> Membership | None:
        """The current membership of ``member`` in ``group``, or None."""
        if group not in {g.id for g in self.book.groups}:
            raise UnknownGroupError(group, known=[g.id for g in self.book.groups])
        return self.store.get_membership(member, group)


@dataclass
class _Outcome:
    """The keys a delivery pass recorded, by outcome."""

    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)


def _deliver_into(
    messenger: Messenger, msg: OutboxMessage, results: queue.Queue[tuple[str, BaseException | None]]
) -> None:
    try:
        messenger.deliver(msg)
    except BaseException as exc:  # a messenger's failure is recorded, never raised
        results.put((msg.key, exc))
    else:
        results.put((msg.key, None))


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


def _latest(*moments: datetime | None) -> datetime:
    return max(m for m in moments if m is not None)


def parse_json_record(text: str | bytes) -> Any:
    """One record's JSON text as data; :class:`InputError` saying what is wrong with it
    (too long, not JSON, nested deeper than Python can read)."""
    if len(text) > MAX_RECORD_SIZE:
        unit = "bytes" if isinstance(text, bytes) else "characters"
        raise InputError(
            [Problem("", f"is {len(text):,} {unit} long; a record is at most {MAX_RECORD_SIZE:,}")]
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError([Problem("", f"not valid JSON: {exc.msg} at column {exc.colno}")]) from None
    except RecursionError:
        raise InputError(
            [Problem("", f"JSON nested too deeply to read (data may nest at most {MAX_DATA_DEPTH} levels)")]
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError([Problem("", f"not UTF-8 text: {exc.reason} at byte {exc.start + 1}")]) from None


def _unknown_group(group: str, known: set[str]) -> Problem:
    return Problem(
        "group",
        f"{group!r} is not a group of the rule book (known groups: {', '.join(map(repr, sorted(known)))})",
    )


def _latest_moment(ms: Membership) -> datetime:
    return _latest(ms.joined_at, ms.left_at, ms.evicted_at, ms.revived_at, ms.promoted_at)


def _parse_record(record: Event | Member | Mapping[str, Any] | str) -> Event | Member:
    if isinstance(record, Event | Member):
        return record
    data: Any = record
    if isinstance(record, str | bytes):
        data = parse_json_record(record)
    if not isinstance(data, Mapping):
        raise InputError([Problem("", f"expected an event or member object, got {type(data).__name__}")])
    model: type[Event] | type[Member] = Event if "kind" in data else Member
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise InputError(problems_from(exc)) from None
