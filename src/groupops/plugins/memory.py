"""An in-memory store: for tests, previews and short-lived processes."""

from __future__ import annotations

import copy
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from .._decision import Decision
from .._model import (
    Event,
    Group,
    GroupChange,
    GroupStatus,
    LabelChange,
    LedgerEntry,
    Member,
    Membership,
    MembershipChange,
)
from .._outbox import MessageStatus, OutboxMessage
from ._store import joined

__all__ = ["MemoryStore"]


class MemoryStore:
    """Everything in dictionaries; a transaction that raises rolls back.

    Safe across threads of one process (one lock); nothing is shared between processes.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._events: dict[str, tuple[int, Event]] = {}
        self._seq = 0
        self._members: dict[str, Member] = {}
        self._memberships: dict[tuple[str, str], Membership] = {}
        self._history: dict[tuple[str, str], list[MembershipChange]] = {}
        self._groups: dict[str, Group] = {}
        self._group_history: dict[str, list[GroupChange]] = {}
        self._label_history: dict[str, list[LabelChange]] = {}
        self._decisions: dict[str, Decision] = {}
        self._messages: dict[str, OutboxMessage] = {}
        self._state: dict[str, str] = {}
        self._entries: dict[str, LedgerEntry] = {}

    _TABLES = (
        "_events",
        "_seq",
        "_members",
        "_memberships",
        "_history",
        "_groups",
        "_group_history",
        "_label_history",
        "_decisions",
        "_messages",
        "_state",
        "_entries",
    )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                with joined(self):
                    yield
                return
            saved = {name: copy.copy(getattr(self, name)) for name in self._TABLES}
            self._depth = 1
            try:
                yield
            except BaseException:
                for name, value in saved.items():
                    setattr(self, name, value)
                raise
            finally:
                self._depth = 0

    def close(self) -> None:
        return None

    def add_events(self, events: Sequence[Event]) -> list[bool]:
        with self._lock:
            out: list[bool] = []
            for e in events:
                if e.id in self._events:
                    out.append(False)
                    continue
                self._seq += 1
                self._events[e.id] = (self._seq, e)
                out.append(True)
            return out

    def events_after(self, seq: int) -> Iterator[tuple[int, Event]]:
        with self._lock:
            rows = sorted(v for v in self._events.values() if v[0] > seq)
        return iter([(s, e) for s, e in rows])

    def put_member(self, member: Member) -> None:
        with self._lock:
            self._members[member.id] = member

    def get_member(self, member: str) -> Member | None:
        with self._lock:
            return self._members.get(member)

    def members(self) -> list[Member]:
        with self._lock:
            return [self._members[k] for k in sorted(self._members)]

    def record_labels(self, change: LabelChange) -> None:
        with self._lock:
            profile = self._members.get(change.member) or Member(id=change.member)
            self._members[change.member] = profile.model_copy(update={"labels": change.labels})
            # a new list, not an append: a transaction's saved copy is shallow
            self._label_history[change.member] = [*self._label_history.get(change.member, []), change]

    def label_history(self, member: str) -> list[LabelChange]:
        with self._lock:
            rows = self._label_history.get(member, [])
        order = sorted(range(len(rows)), key=lambda i: (rows[i].at, i))
        return [rows[i] for i in order]

    def get_membership(self, member: str, group: str) -> Membership | None:
        with self._lock:
            return self._memberships.get((member, group))

    def put_membership(self, membership: Membership) -> None:
        with self._lock:
            self._memberships[(membership.member, membership.group)] = membership

    def record_membership(self, change: MembershipChange) -> None:
        with self._lock:
            key = (change.membership.member, change.membership.group)
            self._memberships[key] = change.membership
            # a new list, not an append: a transaction's saved copy is shallow
            self._history[key] = [*self._history.get(key, []), change]

    def membership_history(self, member: str, group: str) -> list[MembershipChange]:
        with self._lock:
            rows = self._history.get((member, group), [])
        order = sorted(range(len(rows)), key=lambda i: (rows[i].at, i))
        return [rows[i] for i in order]

    def memberships(self, *, group: str | None = None, member: str | None = None) -> list[Membership]:
        with self._lock:
            rows = _matching(self._memberships.values(), group=group, member=member)
        return sorted(rows, key=lambda ms: (ms.group, ms.member))

    def memberships_with_status(self, group: str, statuses: Collection[str]) -> list[Membership]:
        """The memberships of ``group`` whose status is one of ``statuses``, by member."""
        return [ms for ms in self.memberships(group=group) if ms.status in statuses]

    def put_group(self, group: Group) -> None:
        with self._lock:
            self._groups[group.id] = group

    def record_group(self, change: GroupChange) -> None:
        with self._lock:
            self._groups[change.group.id] = change.group
            # a new list, not an append: a transaction's saved copy is shallow
            self._group_history[change.group.id] = [*self._group_history.get(change.group.id, []), change]

    def get_group(self, group: str) -> Group | None:
        with self._lock:
            return self._groups.get(group)

    def groups(self, *, status: GroupStatus | None = None, family: str | None = None) -> list[Group]:
        with self._lock:
            rows = _matching(self._groups.values(), status=status, family=family)
        return sorted(rows, key=lambda g: g.id)

    def group_history(self, group: str) -> list[GroupChange]:
        with self._lock:
            rows = self._group_history.get(group, [])
        order = sorted(range(len(rows)), key=lambda i: (rows[i].at, i))
        return [rows[i] for i in order]

    def add_decision(self, decision: Decision) -> bool:
        with self._lock:
            if decision.id in self._decisions:
                return False
            self._decisions[decision.id] = decision
            return True

    def add_entries(self, entries: Sequence[LedgerEntry]) -> list[bool]:
        with self._lock:
            out: list[bool] = []
            for entry in entries:
                fresh = entry.id not in self._entries
                if fresh:
                    self._entries[entry.id] = entry
                out.append(fresh)
            return out

    def entries(self, *, member: str | None = None, policy: str | None = None) -> list[LedgerEntry]:
        with self._lock:
            found = _matching(self._entries.values(), member=member, policy=policy)
        return sorted(found, key=lambda e: e.at)  # stable: recording order within one instant

    def get_decision(self, decision_id: str) -> Decision | None:
        with self._lock:
            return self._decisions.get(decision_id)

    def decisions(
        self,
        *,
        policy: str | None = None,
        member: str | None = None,
        group: str | None = None,
        action: str | None = None,
    ) -> list[Decision]:
        with self._lock:
            return _matching(
                self._decisions.values(), policy=policy, member=member, group=group, action=action
            )

    def add_messages(self, messages: Sequence[OutboxMessage]) -> None:
        with self._lock:
            for m in messages:
                self._messages.setdefault(m.key, m)

    def claim_messages(
        self, at: datetime, *, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxMessage]:
        with self._lock:
            queued = list(self._messages.values())  # queue order
            order = sorted(range(len(queued)), key=lambda i: (queued[i].created_at, i))
            blocked: set[str] = set()  # recipients with an earlier open message not claimable
            claimed: list[OutboxMessage] = []
            for i in order:
                m = queued[i]
                if m.status not in ("pending", "held"):
                    continue
                free = m.next_at <= at and (m.lease_until is None or m.lease_until <= now)
                if m.recipient in blocked or not free or len(claimed) >= limit:
                    blocked.add(m.recipient)
                    continue
                claimed.append(m.model_copy(update={"lease_until": lease_until, "lease_owner": owner}))
            for m in claimed:
                self._messages[m.key] = m
            return claimed

    def update_message(self, message: OutboxMessage, *, owner: str | None = None) -> bool:
        with self._lock:
            if owner is not None:
                stored = self._messages.get(message.key)
                if stored is None or stored.lease_owner != owner:
                    return False
            self._messages[message.key] = message
            return True

    def delivery_times(self, *, messenger: str, recipient: str, since: datetime) -> list[datetime]:
        with self._lock:
            return sorted(
                m.delivered_at
                for m in self._messages.values()
                if m.status == "delivered"
                and m.messenger == messenger
                and m.recipient == recipient
                and m.delivered_at is not None
                and m.delivered_at > since
            )

    def action_delivery_times(
        self, *, messenger: str, action: str, since: datetime, recipient: str | None = None
    ) -> list[datetime]:
        with self._lock:
            return sorted(
                m.delivered_at
                for m in self._messages.values()
                if m.status == "delivered"
                and m.messenger == messenger
                and m.action == action
                and (recipient is None or m.recipient == recipient)
                and m.delivered_at is not None
                and m.delivered_at > since
            )

    def messages(
        self,
        *,
        status: MessageStatus | None = None,
        decision: str | None = None,
        member: str | None = None,
        messenger: str | None = None,
    ) -> list[OutboxMessage]:
        with self._lock:
            return _matching(
                self._messages.values(), status=status, decision=decision, member=member, messenger=messenger
            )

    def get_state(self, key: str) -> str | None:
        with self._lock:
            return self._state.get(key)

    def set_state(self, key: str, value: str) -> None:
        with self._lock:
            self._state[key] = value


_T = TypeVar("_T")


def _matching(rows: Iterable[_T], **wanted: object) -> list[_T]:
    """The rows whose fields equal every ``wanted`` value that is not None (a filter a
    caller left out matches everything), in their order."""
    asked = [(name, value) for name, value in wanted.items() if value is not None]
    return [row for row in rows if all(getattr(row, name) == value for name, value in asked)]
