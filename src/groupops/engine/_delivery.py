"""Delivery: claimed messages handed to messengers, at most ``workers`` at once."""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .._messaging import Messenger, Quota, Rate
from .._model import Member
from .._outbox import OutboxMessage
from .._reports import DeliveryReport, Waiting
from .._time import to_zone
from ..rules.kinds import Kind
from ._base import EngineBase
from ._deciding import _describe
from ._runtime import _Runtime

log = logging.getLogger("groupops.engine")


class Delivering(EngineBase):
    """Delivery: threads, leases, quotas, backoff."""

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
            cancelled=tuple(outcome.cancelled),
        )

    def waiting(self) -> tuple[Waiting, ...]:
        """What the outbox still has to deliver, by messenger, action and status
        (``pending``: due or retrying; ``held``: a quota or rate holds it): how many
        messages, the earliest and latest ``next_at``, and the last reason one was held or
        failed. By messenger, then action, then status."""
        rows: dict[tuple[str, str, str], list[OutboxMessage]] = defaultdict(list)
        for status in ("pending", "held"):
            for msg in self.store.messages(status=status):
                rows[(msg.messenger, msg.action, status)].append(msg)
        out = []
        for (messenger, action, status), msgs in sorted(rows.items()):
            reasons = [m.last_error for m in msgs if m.last_error]
            out.append(
                Waiting(
                    messenger=messenger,
                    action=action,
                    status=status,
                    count=len(msgs),
                    first_at=min(m.next_at for m in msgs),
                    last_at=max(m.next_at for m in msgs),
                    reason=reasons[-1] if reasons else None,
                )
            )
        return tuple(out)

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
        reason = self._stale(msg, at)
        if reason is not None:
            cancelled = msg.model_copy(
                update={"status": "cancelled", "lease_until": None, "lease_owner": None, "last_error": reason}
            )
            if self.store.update_message(cancelled, owner=owner):
                outcome.cancelled.append(msg.key)
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
                why = f"quota: {quota.limit} per {quota.per} to {msg.recipient!r} used up"
                self._hold(owner, msg, free_at, why, outcome)
                return False
        rate = (getattr(messenger, "rates", None) or {}).get(msg.action)
        if rate is not None:
            free_at = self._rate_free_at(msg, rate, at, outcome)
            if free_at is not None:
                scope = f" to {msg.recipient!r}" if rate.per_recipient else ""
                why = f"rate: {rate.limit} {msg.action!r} per {rate.per}{scope} used up"
                self._hold(owner, msg, free_at, why, outcome)
                return False
            outcome.in_flight[(msg.messenger, msg.action)].append(msg.recipient)
        threading.Thread(
            target=_deliver_into,
            args=(messenger, msg, results),
            daemon=True,
            name=f"groupops-deliver-{msg.key[:12]}",
        ).start()
        return True

    def _stale(self, msg: OutboxMessage, at: datetime) -> str | None:
        """Why ``msg`` is no longer wanted (its kind says, e.g. the member joined the group
        an invitation is for), or None. Asked only of kinds that can say so."""
        if not any(type(k).stale is not Kind.stale for k in self.kinds):
            return None
        decision = self.store.get_decision(msg.decision)
        if decision is None:
            return None
        policy = next((p for p in self.book.policies if p.id == decision.policy), None)
        if policy is None:
            return None
        kind = self._kind(policy)
        if type(kind).stale is Kind.stale:
            return None
        return kind.stale(policy, decision, _Runtime(self, _StoredProfiles(self)), at)

    def _hold(self, owner: str, msg: OutboxMessage, until: datetime, why: str, outcome: _Outcome) -> None:
        """Put ``msg`` back, held until ``until`` (a quota or rate is used up), unleased."""
        held = msg.model_copy(
            update={
                "status": "held",
                "next_at": until,
                "lease_until": None,
                "lease_owner": None,
                "last_error": why,
            }
        )
        if self.store.update_message(held, owner=owner):
            outcome.held.append(msg.key)

    def _rate_free_at(
        self, msg: OutboxMessage, rate: Rate, at: datetime, outcome: _Outcome
    ) -> datetime | None:
        """None if ``rate`` allows one more ``msg.action`` message now; else when it will.

        Counts what the store records as delivered in the trailing window and what this
        pass has in flight (each will be recorded as delivered at ``at``, if at all)."""
        recipient = msg.recipient if rate.per_recipient else None
        window_start = rate.per.before(at, self.book.tz)
        sent = self.store.action_delivery_times(
            messenger=msg.messenger, action=msg.action, since=window_start, recipient=recipient
        )
        flying = outcome.in_flight[(msg.messenger, msg.action)]
        sent = sorted(sent + [at] * sum(1 for r in flying if recipient is None or r == recipient))
        if len(sent) < rate.limit:
            return None
        return rate.per.after(sent[len(sent) - rate.limit], self.book.tz)

    def _record(
        self, at: datetime, owner: str, msg: OutboxMessage, error: BaseException | None, outcome: _Outcome
    ) -> None:
        """Record one attempt's outcome at once, if this pass still owns the message."""
        flying = outcome.in_flight.get((msg.messenger, msg.action))
        if flying and msg.recipient in flying:
            flying.remove(msg.recipient)
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


@dataclass
class _Outcome:
    """The keys a delivery pass recorded, by outcome."""

    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    # (messenger, action) -> recipients of the rate-limited messages started, not recorded
    in_flight: defaultdict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))


class _StoredProfiles(Mapping[str, Member]):
    """Member profiles read from the store on demand (delivery loads none up front)."""

    def __init__(self, engine: EngineBase) -> None:
        self._store = engine.store

    def __getitem__(self, key: str) -> Member:
        found = self._store.get_member(key)
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter([m.id for m in self._store.members()])

    def __len__(self) -> int:
        return len(self._store.members())


def _deliver_into(
    messenger: Messenger, msg: OutboxMessage, results: queue.Queue[tuple[str, BaseException | None]]
) -> None:
    try:
        messenger.deliver(msg)
    except BaseException as exc:  # a messenger's failure is recorded, never raised
        results.put((msg.key, exc))
    else:
        results.put((msg.key, None))
