"""The store interface: what the engine needs from wherever a host keeps its data.

A store keeps events, members, memberships, groups, decisions, the outbox and run state.
Writes made inside :meth:`Store.transaction` commit together or not at all, and a
transaction excludes every other writer on the same data (other threads, other
processes): the engine runs a whole evaluation inside one, so two processes running
the same rule book against one database never apply a decision twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

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

__all__ = ["Store", "joined"]


@contextmanager
def joined(store: Any) -> Iterator[None]:
    """A nested ``transaction()`` of a built-in store: it joins the outer one, counted in
    the store's ``_depth`` (the outer block alone commits or rolls back)."""
    store._depth += 1
    try:
        yield
    finally:
        store._depth -= 1


@runtime_checkable
class Store(Protocol):
    """Where groupops keeps its data. Built in: ``MemoryStore`` and ``SQLiteStore``.

    Every method may be called inside or outside :meth:`transaction`; outside, each
    write commits on its own.

    Optional: a store that can answer the facts interface where its events are has a
    method ``facts(*, tz, profiles, metrics, world, presence) -> StoreFacts``
    (:class:`~groupops.StoreFacts`: the :class:`~groupops.Facts` questions plus each
    member's ``history`` and the events of a kind; ``world`` and ``presence`` are to be
    handed to the conditions' contexts, as :class:`~groupops.MemoryFacts` does), as
    ``SQLiteStore`` has. The engine calls it at each run (and explanation) and then never
    reads every stored event into memory; without it, the engine indexes the events in
    memory, catching up through :meth:`events_after`.

    Optional: a store that keeps events as rows of a table may take them as rows, with
    a method ``add_event_rows(rows) -> list[bool]`` (as :meth:`add_events`, per row True
    if new), each row a :data:`~groupops.plugins._event_rows.EventRow` (id, member,
    group, kind, time as ISO 8601 text, microseconds since the epoch, value, data as
    JSON or None, and the event's JSON); ``SQLiteStore`` has it. Ingest then hands it
    each event as its row and, for a record of the common shape, never builds the
    :class:`~groupops.Event`; any other store gets :meth:`add_events` as before, and so
    does a store whose ``add_events`` overrides the one written with ``add_event_rows``
    (a subclass of ``SQLiteStore`` that overrides ``add_events`` alone).
    """

    def transaction(self) -> AbstractContextManager[None]:
        """An exclusive write transaction; nested calls join the outer one."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...

    # events --------------------------------------------------------------------------
    def add_events(self, events: Sequence[Event]) -> list[bool]:
        """Store events; per event, True if new, False if its id was already stored."""
        ...

    def events_after(self, seq: int) -> Iterator[tuple[int, Event]]:
        """Events stored after sequence number ``seq`` (0: all), with their numbers,
        in storage order. Sequence numbers only grow."""
        ...

    # members -------------------------------------------------------------------------
    def put_member(self, member: Member) -> None:
        """Insert or replace a member profile."""
        ...

    def get_member(self, member: str) -> Member | None:
        """A member profile, or None."""
        ...

    def members(self) -> list[Member]:
        """Every member profile, by id."""
        ...

    def record_labels(self, change: LabelChange) -> None:
        """Set the member's labels to ``change.labels`` (the profile is replaced with
        them; a member with no profile gets one with only the id and labels) and add the
        change to the member's label history."""
        ...

    def label_history(self, member: str) -> list[LabelChange]:
        """Every change :meth:`record_labels` kept for ``member``: oldest first (by
        ``at``, then in the order recorded). Empty if none was kept."""
        ...

    # memberships ---------------------------------------------------------------------
    def get_membership(self, member: str, group: str) -> Membership | None:
        """The membership of ``member`` in ``group``, or None."""
        ...

    def put_membership(self, membership: Membership) -> None:
        """Insert or replace the membership (keyed by member and group)."""
        ...

    def memberships(self, *, group: str | None = None, member: str | None = None) -> list[Membership]:
        """Memberships, optionally of one group and/or one member, by (group, member)."""
        ...

    def record_membership(self, change: MembershipChange) -> None:
        """Insert or replace ``change.membership``, as :meth:`put_membership` does, and add
        the change to that membership's history."""
        ...

    def membership_history(self, member: str, group: str) -> list[MembershipChange]:
        """Every change :meth:`record_membership` kept for ``member`` in ``group``: oldest
        first (by ``at``, then in the order recorded). Empty if none was kept (a
        membership only ever put, or one older than the store's history)."""
        ...

    # groups --------------------------------------------------------------------------
    def put_group(self, group: Group) -> None:
        """Insert or replace a group (keyed by id), keeping no history."""
        ...

    def record_group(self, change: GroupChange) -> None:
        """Insert or replace ``change.group``, as :meth:`put_group` does, and add the
        change to that group's history."""
        ...

    def get_group(self, group: str) -> Group | None:
        """The group ``group`` as it stands now, or None."""
        ...

    def groups(self, *, status: GroupStatus | None = None, family: str | None = None) -> list[Group]:
        """Groups, optionally only those with ``status`` and/or of ``family``, by id."""
        ...

    def group_history(self, group: str) -> list[GroupChange]:
        """Every change :meth:`record_group` kept for ``group``: oldest first (by ``at``,
        then in the order recorded). Empty if none was kept."""
        ...

    # decisions -----------------------------------------------------------------------
    def add_decision(self, decision: Decision) -> bool:
        """Record a decision; False (and nothing written) if its id exists already."""
        ...

    def get_decision(self, decision_id: str) -> Decision | None:
        """A decision by id, or None."""
        ...

    def decisions(
        self,
        *,
        policy: str | None = None,
        member: str | None = None,
        group: str | None = None,
        action: str | None = None,
    ) -> list[Decision]:
        """Decisions matching every filter given, in the order they were recorded."""
        ...

    # points ledger -------------------------------------------------------------------
    def add_entries(self, entries: Sequence[LedgerEntry]) -> list[bool]:
        """Record points entries; per entry, True if new, False if its id (its cause)
        was recorded already (and nothing is written for it). Written inside the
        transaction of the decision or run that causes them."""
        ...

    def entries(self, *, member: str | None = None, policy: str | None = None) -> list[LedgerEntry]:
        """Points entries matching every filter given, by ``at`` then in the order
        recorded."""
        ...

    # outbox --------------------------------------------------------------------------
    def add_messages(self, messages: Sequence[OutboxMessage]) -> None:
        """Queue messages; a key that exists already is left as it is."""
        ...

    def claim_messages(
        self, at: datetime, *, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxMessage]:
        """Atomically take up to ``limit`` messages that may be delivered at ``at``, set
        their ``lease_owner`` to ``owner`` and ``lease_until`` to ``lease_until``, and
        return them in delivery order (by ``created_at``, then queue order).

        A message may be delivered when it is ``pending`` or ``held``, due
        (``next_at <= at``), not leased at ``now`` (``lease_until`` None or ``<= now``),
        and every earlier open (pending or held) message to the same ``recipient`` may be
        delivered too: a later message to a recipient waits while an earlier one is not
        due, retrying, held or in flight. ``delivered`` and ``dead`` messages block
        nothing. ``now`` and ``lease_until`` are on the deliverers' clock; ``at`` is the
        time the engine delivers at.
        """
        ...

    def update_message(self, message: OutboxMessage, *, owner: str | None = None) -> bool:
        """Replace a message (by key) with its new delivery state; it keeps its place.

        With ``owner``, replace it only if its stored ``lease_owner`` is still ``owner``
        (nobody claimed it since), so a deliverer that lost its lease cannot overwrite
        another's outcome. Returns whether the message was replaced.
        """
        ...

    def delivery_times(self, *, messenger: str, recipient: str, since: datetime) -> list[datetime]:
        """``delivered_at`` of the messages delivered through ``messenger`` to
        ``recipient`` after ``since``, oldest first: what a quota counts."""
        ...

    def action_delivery_times(
        self, *, messenger: str, action: str, since: datetime, recipient: str | None = None
    ) -> list[datetime]:
        """``delivered_at`` of the ``action`` messages delivered through ``messenger``
        after ``since`` (to ``recipient`` only, if given), oldest first: what a
        messenger's per-action :class:`~groupops.Rate` counts."""
        ...

    def messages(
        self,
        *,
        status: MessageStatus | None = None,
        decision: str | None = None,
        member: str | None = None,
        messenger: str | None = None,
    ) -> list[OutboxMessage]:
        """Messages matching every filter given, in the order they were queued."""
        ...

    # run state -----------------------------------------------------------------------
    def get_state(self, key: str) -> str | None:
        """A run-state value (cursors, last run time), or None."""
        ...

    def set_state(self, key: str, value: str) -> None:
        """Set a run-state value."""
        ...
