"""What an observer sees of the engine: the rule book, the decision log and the store,
for reading only (:class:`EngineView`, :class:`ReadOnlyStore`).

Observers are told after a run has committed; one that could call ``engine.run`` or
write to the store would re-enter the engine from inside its own run. The view offers
what an observer needs to look at and nothing that changes anything: a method it does
not offer is an ``AttributeError`` saying so.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, NoReturn

from .._decision import Decision
from .._model import Event, Group, GroupChange, GroupStatus, Member, Membership, MembershipChange
from .._outbox import MessageStatus, OutboxMessage
from ._store import Store

if TYPE_CHECKING:
    from .._engine import Engine
    from ..rules._book import RuleBook

__all__ = ["EngineView", "ReadOnlyStore"]


class ReadOnlyStore:
    """The reading half of a :class:`~groupops.Store`: every method that looks, none that
    writes (``add_*``, ``put_*``, ``record_*``, ``claim_messages``, ``update_message``,
    ``set_state``, ``transaction``, ``close``)."""

    __slots__ = ("_store",)

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> NoReturn:
        raise AttributeError(
            f"{name!r}: an observer's store is read-only (it may look at events, members, "
            "memberships, groups, decisions, messages and run state, and change none of them)"
        )

    def events_after(self, seq: int) -> Iterator[tuple[int, Event]]:
        """Events stored after sequence number ``seq`` (0: all), in storage order."""
        return self._store.events_after(seq)

    def get_member(self, member: str) -> Member | None:
        """A member's profile, or None."""
        return self._store.get_member(member)

    def members(self) -> list[Member]:
        """Every member profile."""
        return self._store.members()

    def get_membership(self, member: str, group: str) -> Membership | None:
        """The membership of ``member`` in ``group``, or None."""
        return self._store.get_membership(member, group)

    def memberships(self, *, group: str | None = None, member: str | None = None) -> list[Membership]:
        """Memberships matching every filter given."""
        return self._store.memberships(group=group, member=member)

    def membership_history(self, member: str, group: str) -> list[MembershipChange]:
        """Every recorded change of a membership, oldest first."""
        return self._store.membership_history(member, group)

    def get_group(self, group: str) -> Group | None:
        """A group by id, or None."""
        return self._store.get_group(group)

    def groups(self, *, status: GroupStatus | None = None, family: str | None = None) -> list[Group]:
        """Groups matching every filter given."""
        return self._store.groups(status=status, family=family)

    def group_history(self, group: str) -> list[GroupChange]:
        """Every recorded change of a group, oldest first."""
        return self._store.group_history(group)

    def get_decision(self, decision_id: str) -> Decision | None:
        """A decision by id, or None."""
        return self._store.get_decision(decision_id)

    def decisions(
        self,
        *,
        policy: str | None = None,
        member: str | None = None,
        group: str | None = None,
        action: str | None = None,
    ) -> list[Decision]:
        """Decisions matching every filter given, in the order they were recorded."""
        return self._store.decisions(policy=policy, member=member, group=group, action=action)

    def messages(
        self,
        *,
        status: MessageStatus | None = None,
        decision: str | None = None,
        member: str | None = None,
        messenger: str | None = None,
    ) -> list[OutboxMessage]:
        """Messages matching every filter given, in the order they were queued."""
        return self._store.messages(status=status, decision=decision, member=member, messenger=messenger)

    def delivery_times(self, *, messenger: str, recipient: str, since: datetime) -> list[datetime]:
        """When messages through ``messenger`` to ``recipient`` were delivered after ``since``."""
        return self._store.delivery_times(messenger=messenger, recipient=recipient, since=since)

    def get_state(self, key: str) -> str | None:
        """A run-state value, or None."""
        return self._store.get_state(key)


class EngineView:
    """The engine as an observer sees it: ``book``, ``decisions()``, ``membership()``
    and ``store`` (a :class:`ReadOnlyStore`). Nothing that runs, ingests, delivers or
    writes."""

    __slots__ = ("_engine",)

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> NoReturn:
        raise AttributeError(
            f"{name!r}: an observer sees the engine read-only (book, decisions(), membership(), "
            "store); it is told after the run and cannot run, ingest or deliver from inside it"
        )

    @property
    def book(self) -> RuleBook:
        """The rule book the engine runs."""
        return self._engine.book

    @property
    def store(self) -> ReadOnlyStore:
        """The engine's store, for reading."""
        return ReadOnlyStore(self._engine.store)

    def decisions(self, **filters: str) -> list[Decision]:
        """Recorded decisions (filters: policy, member, group, action)."""
        return self._engine.decisions(**filters)

    def membership(self, member: str, group: str) -> Membership | None:
        """The current membership of ``member`` in ``group``, or None."""
        return self._engine.membership(member, group)
