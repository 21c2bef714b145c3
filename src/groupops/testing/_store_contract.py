"""The Store contract, for anyone who writes a store: every method of the
:class:`~groupops.Store` protocol, ordering, history, transactions, threads, and the
outbox leases that keep delivery crash-safe.

Subclass :class:`StoreContract` in a test module (its name must start with ``Test``) and
say how to make your store; pytest runs every test of the contract against it::

    class TestMyStore(StoreContract):
        def make_store(self, path):
            return MyStore(path / "store.db")

A store that keeps its data across a close (a file, a server) subclasses
:class:`DurableStoreContract` instead, which adds a test that closes the store, makes it
again on the same ``path`` and reads everything back, leases included.

groupops runs this contract against :class:`~groupops.MemoryStore` and
:class:`~groupops.SQLiteStore` (``tests/test_store_contract.py``).

Why it is this long: it is one test suite, a test per behaviour of every
:class:`~groupops.Store` method, kept together so a store's author subclasses one class
and runs all of it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from .._decision import Decision
from .._model import (
    Event,
    Group,
    GroupChange,
    LedgerEntry,
    Member,
    Membership,
    MembershipChange,
    change_group,
)
from .._outbox import OutboxMessage
from ..plugins._store import Store
from ..rules._explain import Explanation

__all__ = ["DurableStoreContract", "StoreContract"]

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


SHANGHAI = timezone(timedelta(hours=8))


NEW_YORK = timezone(timedelta(hours=-5))


# builders ----------------------------------------------------------------------------
def event(id: str, *, member: str = "m1", group: str | None = "g1", at: datetime = T0, **kw: Any) -> Event:
    return Event(id=id, kind=kw.pop("kind", "checkin"), member=member, group=group, at=at, **kw)


def entry(cause: str, points: float, *, member: str = "m1", at: datetime = T0, **kw: Any) -> LedgerEntry:
    return LedgerEntry.make(
        member=member,
        at=at,
        points=points,
        kind="earn" if points >= 0 else "redeem",
        cause=cause,
        cause_type=kw.pop("cause_type", "event"),
        policy=kw.pop("policy", "points"),
    )


def membership(member: str, group: str, **kw: Any) -> Membership:
    return Membership(member=member, group=group, joined_at=kw.pop("joined_at", T0), **kw)


def decision(
    policy: str = "p1",
    action: str = "evict",
    member: str = "m1",
    group: str = "g1",
    period: str = "w1",
    **kw: Any,
) -> Decision:
    return Decision.make(
        policy=policy, action=action, member=member, group=group, period=period, at=kw.pop("at", T0), **kw
    )


def message(key: str, *, next_at: datetime = T0, **kw: Any) -> OutboxMessage:
    fields: dict[str, Any] = {
        "decision": "d1",
        "messenger": "console",
        "action": "notice",
        "member": "m1",
        "group": "g1",
        "recipient": "m1",
        "text": f"hello {key}",
        "created_at": T0,
    }
    fields.update(kw)
    return OutboxMessage(key=key, next_at=next_at, **fields)


def _checkins_counted() -> Explanation:
    """A passed ``count`` leaf with its window start in +08:00: what a stored decision's
    explanation must give back as it was."""
    return Explanation(
        test="count",
        passed=True,
        subject="checkin",
        observed=3.0,
        expect={"at_least": 2},
        window="7d",
        window_start=datetime(2024, 2, 23, 9, 0, tzinfo=SHANGHAI),
    )


# Leases are read on the deliverers' clock (``now``), due times on the engine's ``at``:
# here the clock starts at CLOCK, far from T0, so a test that mixed them up would fail.
CLOCK = datetime(2030, 1, 1, tzinfo=UTC)


def claim(
    store: Store,
    at: datetime,
    *,
    owner: str = "pass-1",
    now: datetime = CLOCK,
    lease: timedelta = timedelta(minutes=5),
    limit: int = 100,
) -> list[OutboxMessage]:
    return store.claim_messages(at, owner=owner, now=now, lease_until=now + lease, limit=limit)


# transactions ------------------------------------------------------------------------
def write_one_of_everything(store: Store, tag: str) -> None:
    store.add_events([event(f"e-{tag}")])
    store.put_member(Member(id=f"m-{tag}"))
    store.put_membership(membership(f"m-{tag}", "g1"))
    store.add_decision(decision(member=f"m-{tag}"))
    store.add_messages([message(f"k-{tag}")])
    store.set_state(f"s-{tag}", tag)
    store.record_group(GroupChange(at=T0, group=Group(id=f"g-{tag}", family="welfare")))


def snapshot(store: Store) -> dict[str, Any]:
    return {
        "events": list(store.events_after(0)),
        "members": store.members(),
        "memberships": store.memberships(),
        "decisions": store.decisions(),
        "messages": store.messages(),
        "state": {k: store.get_state(k) for k in ("s-a", "s-b", "s-c", "cursor")},
        "groups": [(g, store.group_history(g.id)) for g in store.groups()],
    }


class StoreContract:
    """The tests every :class:`~groupops.Store` must pass; subclass it and define
    :meth:`make_store`.

    Each test gets a fresh store from :meth:`make_store` (through the ``store`` fixture,
    which closes it afterwards). Some tests use the store from several threads at once,
    as the engine and deliverers do. Times are written in several UTC offsets and must
    come back in the offset they were written with.
    """

    def make_store(self, path: Path) -> Store:
        """A new, empty store. ``path`` is an empty directory, the test's own, where the
        store may keep its files; a :class:`DurableStoreContract` calls this again with
        the same directory to reopen what was written there."""
        raise NotImplementedError(f"{type(self).__name__} must define make_store(self, path)")

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        """A store from :meth:`make_store`, closed after the test."""
        s = self.make_store(tmp_path)
        try:
            yield s
        finally:
            s.close()

    def test_implements_the_protocol(self, store: Store) -> None:
        assert isinstance(store, Store)

    def test_close_is_idempotent(self, tmp_path: Path) -> None:
        s = self.make_store(tmp_path)
        s.close()
        s.close()

    # events ------------------------------------------------------------------------------
    def test_add_events_reports_new_and_duplicate(self, store: Store) -> None:
        assert store.add_events([]) == []
        assert store.add_events([event("e1"), event("e2")]) == [True, True]
        # e2 again (stored), e3 new, e3 again in the same batch, e1 again with other content
        assert store.add_events([event("e2"), event("e3"), event("e3"), event("e1", kind="other")]) == [
            False,
            True,
            False,
            False,
        ]
        stored = {e.id: e for _, e in store.events_after(0)}
        assert sorted(stored) == ["e1", "e2", "e3"]
        assert stored["e1"].kind == "checkin"  # a duplicate id never overwrites

    def test_events_after_in_storage_order(self, store: Store) -> None:
        # ids and times out of order: storage order is arrival order, not id or time order
        batch = [
            event("z", at=T0 + timedelta(days=2)),
            event("a", at=T0),
            event("m", at=T0 - timedelta(days=5)),
        ]
        store.add_events(batch)
        store.add_events([event("b")])
        rows = list(store.events_after(0))
        assert [e.id for _, e in rows] == ["z", "a", "m", "b"]
        seqs = [s for s, _ in rows]
        assert seqs == sorted(seqs) and len(set(seqs)) == 4 and seqs[0] > 0
        assert [e.id for _, e in store.events_after(seqs[1])] == ["m", "b"]
        assert list(store.events_after(seqs[-1])) == []
        store.add_events([event("c")])
        [(new_seq, new)] = list(store.events_after(seqs[-1]))
        assert new.id == "c" and new_seq > seqs[-1]

    def test_events_after_is_an_iterator_of_what_was_stored_when_called(self, store: Store) -> None:
        store.add_events([event(f"e{i}") for i in range(3)])
        it = store.events_after(0)
        store.add_events([event("late")])
        assert [e.id for _, e in it] == ["e0", "e1", "e2"]

    def test_events_round_trip_exactly(self, store: Store) -> None:
        e = Event(
            id="e1",
            kind="purchase",
            member="m1",
            group=None,
            at=datetime(2024, 3, 1, 23, 30, 15, 123456, tzinfo=SHANGHAI),
            value=19.9,
            data={"sku": "会员卡", "items": [1, 2], "nested": {"ok": True, "none": None}},
        )
        store.add_events([e])
        [(_, back)] = list(store.events_after(0))
        assert back == e
        assert back.at.utcoffset() == timedelta(hours=8)
        assert back.at.isoformat() == e.at.isoformat()

    # members -----------------------------------------------------------------------------
    def test_members(self, store: Store) -> None:
        assert store.get_member("m1") is None
        assert store.members() == []
        bob = Member(id="bob", name="Bob", labels=("premium", "A"), attributes={"city": "杭州", "orders": 3})
        store.put_member(bob)
        store.put_member(Member(id="alice"))
        store.put_member(Member(id="张三"))
        assert store.get_member("bob") == bob
        assert [m.id for m in store.members()] == ["alice", "bob", "张三"]
        bob2 = bob.model_copy(update={"name": "Robert", "attributes": {"orders": 4.5, "vip": True}})
        store.put_member(bob2)
        assert store.get_member("bob") == bob2
        assert len(store.members()) == 3

    # memberships -------------------------------------------------------------------------
    def test_memberships(self, store: Store) -> None:
        assert store.get_membership("m1", "g1") is None
        rows = [
            membership("m2", "g1"),
            membership("m1", "g2"),
            membership("m1", "g1"),
            membership("m3", "g2"),
        ]
        for ms in rows:
            store.put_membership(ms)
        assert store.get_membership("m1", "g1") == membership("m1", "g1")
        assert store.get_membership("m1", "g3") is None
        by = [(ms.group, ms.member) for ms in store.memberships()]
        assert by == [("g1", "m1"), ("g1", "m2"), ("g2", "m1"), ("g2", "m3")]
        assert [ms.member for ms in store.memberships(group="g2")] == ["m1", "m3"]
        assert [ms.group for ms in store.memberships(member="m1")] == ["g1", "g2"]
        assert [(ms.group, ms.member) for ms in store.memberships(group="g2", member="m1")] == [("g2", "m1")]
        assert store.memberships(group="nope") == []

    def test_memberships_with_status_if_offered_are_the_groups_memberships_of_those_statuses(
        self, store: Store
    ) -> None:
        with_status = getattr(store, "memberships_with_status", None)
        if with_status is None:
            pytest.skip("the store offers no memberships_with_status (optional: the engine filters itself)")
        rows = [
            membership("m3", "g1", status="evicted", evicted_at=T0 + timedelta(days=7)),
            membership("m1", "g1"),
            membership("m2", "g1", status="notified"),
            membership("m4", "g2", status="evicted", evicted_at=T0 + timedelta(days=7)),
        ]
        for ms in rows:
            store.put_membership(ms)
        for statuses in (("evicted",), ("active", "notified"), ("left",), ()):
            expected = [ms for ms in store.memberships(group="g1") if ms.status in statuses]
            assert list(with_status("g1", statuses)) == expected, statuses
        assert [ms.member for ms in with_status("g1", ("notified", "active"))] == ["m1", "m2"]

    def test_membership_history_keeps_every_recorded_change_oldest_first(self, store: Store) -> None:
        assert store.membership_history("m1", "g1") == []
        joined = membership("m1", "g1")
        evicted = membership("m1", "g1", status="evicted", evicted_at=T0 + timedelta(days=7))
        revived = membership("m1", "g1", revived_at=T0 + timedelta(days=9), revivals=1)
        changes = [
            MembershipChange(at=T0 + timedelta(days=9), membership=revived, decision="d2"),
            MembershipChange(at=T0, membership=joined),
            # the same instant written in another offset: ordered by instant, then as recorded
            MembershipChange(
                at=(T0 + timedelta(days=7)).astimezone(NEW_YORK), membership=evicted, decision="d1"
            ),
            MembershipChange(at=T0 + timedelta(days=7), membership=evicted, decision="d1b"),
        ]
        for change in changes:
            store.record_membership(change)
        assert store.get_membership("m1", "g1") == evicted  # the last recorded is the current one
        history = store.membership_history("m1", "g1")
        assert [c.decision for c in history] == [None, "d1", "d1b", "d2"]
        assert history[1] == changes[2] and history[1].at.utcoffset() == timedelta(hours=-5)
        assert store.membership_history("m1", "g2") == []
        # put_membership replaces the membership without touching its history
        store.put_membership(joined)
        assert store.get_membership("m1", "g1") == joined and len(store.membership_history("m1", "g1")) == 4

    def test_groups_are_kept_with_their_history_oldest_first(self, store: Store) -> None:
        assert store.get_group("w1") is None and store.groups() == [] and store.group_history("w1") == []
        w1 = Group(id="w1", name="杭州·福利社 1群", family="welfare", capacity=200, kind="general")
        w2 = Group(id="w2", name="杭州·福利社 2群", family="welfare", kind="flash")
        c7 = Group(id="c7", name="营 第7期", term={"start": T0, "length": "1y"})
        seeded = GroupChange(at=T0, group=w1, fields=("name",), source="book")
        renamed = change_group(
            w1, (T0 + timedelta(days=2)).astimezone(SHANGHAI), decision="d-rename", name="MarTech"
        )
        closed = change_group(renamed.group, T0 + timedelta(days=9), decision="d-close", status="closed")
        # recorded out of order: the history is by instant, the current state the last recorded
        for change in (seeded, closed, renamed):
            store.record_group(change)
        store.put_group(c7)
        store.record_group(GroupChange(at=T0, group=w2))
        assert store.get_group("w1") == renamed.group  # the last recorded is the current one
        history = store.group_history("w1")
        assert [c.decision for c in history] == [None, "d-rename", "d-close"]
        assert history[1] == renamed and history[1].at.utcoffset() == timedelta(hours=8)
        assert history[0].source == "book" and history[2].group.status == "closed"
        assert store.group_history("c7") == []  # put_group keeps no history
        assert [g.id for g in store.groups()] == ["c7", "w1", "w2"]
        assert [g.id for g in store.groups(family="welfare")] == ["w1", "w2"]
        assert [g.id for g in store.groups(status="open", family="welfare")] == ["w1", "w2"]
        store.record_group(closed)
        assert [g.id for g in store.groups(status="closed")] == ["w1"]
        assert [g.id for g in store.groups(status="open")] == ["c7", "w2"]
        assert store.groups(family="nope") == [] and store.groups(status="dissolved") == []
        back = store.get_group("c7")
        assert back == c7 and back is not None and back.term is not None and str(back.term.length) == "1y"

    def test_a_rolled_back_transaction_keeps_no_group_change(self, store: Store) -> None:
        g = Group(id="g1", name="one")
        store.record_group(GroupChange(at=T0, group=g))
        with pytest.raises(RuntimeError), store.transaction():
            store.record_group(change_group(g, T0 + timedelta(days=1), status="dissolved"))
            raise RuntimeError("boom")
        assert store.get_group("g1") == g and [c.at for c in store.group_history("g1")] == [T0]

    def test_a_rolled_back_transaction_keeps_no_membership_history(self, store: Store) -> None:
        store.record_membership(MembershipChange(at=T0, membership=membership("m1", "g1")))
        with pytest.raises(RuntimeError), store.transaction():
            store.record_membership(
                MembershipChange(at=T0 + timedelta(days=1), membership=membership("m1", "g1", status="left"))
            )
            raise RuntimeError("boom")
        assert [c.at for c in store.membership_history("m1", "g1")] == [T0]
        assert store.get_membership("m1", "g1") == membership("m1", "g1")

    # points ledger ---------------------------------------------------------------
    def test_ledger_entries_are_kept_once_per_cause_by_time_then_recording_order(self, store: Store) -> None:
        later = entry("e2", 5, at=T0 + timedelta(hours=1))
        first = entry("e1", 1)
        same_instant = entry("d1", 100, cause_type="decision", policy="invite")
        assert store.add_entries([later, first]) == [True, True]
        assert store.add_entries([same_instant, entry("e1", 7)]) == [True, False]  # e1 paid already
        assert store.entries() == [first, same_instant, later]
        assert store.entries(policy="invite") == [same_instant]
        assert store.entries(member="m2") == []
        assert sum(e.points for e in store.entries(member="m1")) == 106

    def test_a_rolled_back_transaction_keeps_no_ledger_entry(self, store: Store) -> None:
        with pytest.raises(RuntimeError), store.transaction():
            store.add_entries([entry("e1", 1)])
            raise RuntimeError("boom")
        assert store.entries() == []

    def test_put_membership_replaces_by_member_and_group(self, store: Store) -> None:
        store.put_membership(membership("m1", "g1"))
        evicted = membership(
            "m1",
            "g1",
            status="evicted",
            evicted_at=datetime(2024, 3, 8, 20, 0, tzinfo=NEW_YORK),
            role="lead",
            revivals=2,
            locked=True,
        )
        store.put_membership(evicted)
        assert store.memberships() == [evicted]
        back = store.get_membership("m1", "g1")
        assert back == evicted
        assert back is not None and back.evicted_at is not None
        assert back.evicted_at.utcoffset() == timedelta(hours=-5)

    # decisions ---------------------------------------------------------------------------
    def test_add_decision_is_idempotent(self, store: Store) -> None:
        d = decision()
        assert store.get_decision(d.id) is None
        assert store.add_decision(d) is True
        vetoed = d.model_copy(update={"status": "vetoed", "veto_reason": "locked"})
        assert store.add_decision(vetoed) is False
        assert store.get_decision(d.id) == d  # the first one stays, untouched
        assert store.decisions() == [d]

    def test_decisions_round_trip_with_explanation(self, store: Store) -> None:
        explanation = _checkins_counted()
        d = decision(explanation=explanation, revision="abc", at=datetime(2024, 3, 1, 17, 0, tzinfo=SHANGHAI))
        store.add_decision(d)
        back = store.get_decision(d.id)
        assert back == d
        assert back is not None and back.at.utcoffset() == timedelta(hours=8)
        assert back.explanation is not None and back.explanation.window_start == explanation.window_start

    def test_decisions_keep_never_in_explanations(self, store: Store) -> None:
        explanation = Explanation(
            test="all",
            passed=False,
            children=(
                Explanation(test="days_since", passed=False, subject="checkin", observed=math.inf),
                _checkins_counted(),
            ),
            decided_by=(0,),
        )
        d = decision(explanation=explanation, revision="abc", at=datetime(2024, 3, 1, 17, 0, tzinfo=SHANGHAI))
        store.add_decision(d)
        back = store.get_decision(d.id)
        assert back == d
        assert back is not None and back.at.utcoffset() == timedelta(hours=8)
        assert back.explanation is not None and back.explanation.children[0].observed == math.inf

    def test_decisions_filters_and_recording_order(self, store: Store) -> None:
        ds = [
            decision(policy="p2", action="evict", member="m2", group="g1"),
            decision(policy="p1", action="notice", member="m1", group="g1"),
            decision(policy="p1", action="evict", member="m1", group="g2"),
            decision(policy="p2", action="notice", member="m1", group="g1"),
            decision(policy="p1", action="evict", member="m1", group="g1"),
        ]
        assert sorted(d.id for d in ds) != [d.id for d in ds]  # so order by id would show
        for d in ds:
            store.add_decision(d)
        assert store.decisions() == ds
        assert store.decisions(policy="p1") == [ds[1], ds[2], ds[4]]
        assert store.decisions(member="m1") == ds[1:]
        assert store.decisions(group="g1") == [ds[0], ds[1], ds[3], ds[4]]
        assert store.decisions(action="notice") == [ds[1], ds[3]]
        assert store.decisions(policy="p1", member="m1", group="g1") == [ds[1], ds[4]]
        assert store.decisions(policy="p1", member="m1", group="g1", action="evict") == [ds[4]]
        assert store.decisions(policy="p9") == []

    # outbox ------------------------------------------------------------------------------
    def test_add_messages_leaves_existing_keys_alone(self, store: Store) -> None:
        store.add_messages([message("k2"), message("k1")])
        store.add_messages([message("k1", text="changed"), message("k3"), message("k3", text="twice")])
        assert [m.key for m in store.messages()] == ["k2", "k1", "k3"]
        texts = {m.key: m.text for m in store.messages()}
        assert texts == {"k2": "hello k2", "k1": "hello k1", "k3": "hello k3"}
        store.add_messages([])

    def test_messages_filters_in_queue_order(self, store: Store) -> None:
        ms = [
            message("c", member="m1", decision="d1", messenger="wecom"),
            message("a", member="m2", decision="d1", messenger="console", status="delivered"),
            message("b", member="m1", decision="d2", messenger="console"),
            message("d", member="m1", decision="d2", messenger="wecom", status="dead"),
        ]
        store.add_messages(ms)
        assert store.messages() == ms
        assert store.messages(status="pending") == [ms[0], ms[2]]
        assert store.messages(decision="d2") == [ms[2], ms[3]]
        assert store.messages(member="m1") == [ms[0], ms[2], ms[3]]
        assert store.messages(messenger="wecom") == [ms[0], ms[3]]
        assert store.messages(member="m1", messenger="wecom", status="dead", decision="d2") == [ms[3]]
        assert store.messages(status="held") == []

    def test_update_message_replaces_in_place(self, store: Store) -> None:
        store.add_messages([message("a"), message("b"), message("c")])
        done = message("b").model_copy(
            update={
                "status": "delivered",
                "attempts": 2,
                "delivered_at": datetime(2024, 3, 1, 18, 0, tzinfo=SHANGHAI),
                "last_error": "timeout",
            }
        )
        store.update_message(done)
        assert [m.key for m in store.messages()] == ["a", "b", "c"]
        assert store.messages(status="delivered") == [done]
        [back] = store.messages(status="delivered")
        assert back.delivered_at is not None and back.delivered_at.utcoffset() == timedelta(hours=8)

    def test_claim_takes_due_unleased_messages_in_decision_order(self, store: Store) -> None:
        at = T0 + timedelta(hours=1)

        def to(recipient: str, created: timedelta, **kw: Any) -> OutboxMessage:
            # one recipient each: order between recipients is by decision time, then queue
            return message(recipient, recipient=recipient, created_at=T0 + created, **kw)

        store.add_messages(
            [
                to("late", timedelta(minutes=3), next_at=at - timedelta(minutes=1)),
                to("future", timedelta(minutes=1), next_at=at + timedelta(seconds=1)),
                to("now", timedelta(minutes=3), next_at=at),  # due exactly at ``at``; queued after "late"
                to("early", timedelta(minutes=2), next_at=at - timedelta(minutes=30)),
                to("held", timedelta(minutes=4), next_at=at - timedelta(minutes=10), status="held"),
                to("delivered", timedelta(0), next_at=at - timedelta(hours=2), status="delivered"),
                to("dead", timedelta(0), next_at=at - timedelta(hours=2), status="dead"),
                to(
                    "leased",
                    timedelta(0),
                    next_at=at - timedelta(hours=2),
                    lease_until=CLOCK + timedelta(seconds=1),
                ),
                to("lapsed", timedelta(minutes=5), next_at=at, lease_until=CLOCK),  # lease over at ``now``
                # the same instant written in another offset: ordering is by instant
                to("offset", timedelta(minutes=2, seconds=30), next_at=at.astimezone(SHANGHAI)),
            ]
        )
        claimed = claim(store, at)
        assert [m.key for m in claimed] == ["early", "offset", "late", "now", "held", "lapsed"]
        assert all(
            m.lease_until == CLOCK + timedelta(minutes=5) and m.lease_owner == "pass-1" for m in claimed
        )
        # the lease is stored, and nothing else about the messages changed
        stored = {m.key: m for m in store.messages()}
        for m in claimed:
            assert stored[m.key] == m
        assert stored["future"].lease_until is None and stored["future"].lease_owner is None
        # what is claimed stays taken while its lease runs on the clock, whatever ``at`` a
        # deliverer passes: a day later on the timeline, but only 4 minutes later on the clock
        next_day = at + timedelta(days=1)
        four_minutes = CLOCK + timedelta(minutes=4)
        assert [m.key for m in claim(store, next_day, owner="pass-2", now=four_minutes)] == [
            "leased",
            "future",
        ]
        assert claim(store, next_day, owner="pass-3", now=four_minutes) == []
        # ... and is claimable again once the lease has run out on the clock
        again = claim(store, at, owner="pass-4", now=CLOCK + timedelta(minutes=5))
        assert [m.key for m in again] == ["early", "offset", "late", "now", "held", "lapsed"]
        assert {m.lease_owner for m in again} == {"pass-4"}

    def test_claim_delivers_one_recipients_messages_in_decision_order(self, store: Store) -> None:
        at = T0 + timedelta(hours=1)

        def msg(key: str, created: timedelta, **kw: Any) -> OutboxMessage:
            return message(key, created_at=T0 + created, next_at=kw.pop("next_at", at), **kw)

        # queued out of decision order: the eviction was queued before its notice
        store.add_messages([msg("evict", timedelta(days=2)), msg("notice", timedelta(0))])
        assert [m.key for m in claim(store, at)] == ["notice", "evict"]  # both, in order
        store.add_messages(
            [
                msg("a-gone", timedelta(days=3), status="dead"),  # dead: blocks nothing
                msg("b-sent", timedelta(days=3), status="delivered"),
                msg("c-retrying", timedelta(days=4), next_at=at + timedelta(minutes=4)),
                msg("d-waits", timedelta(days=5)),
                msg("other", timedelta(days=6), recipient="m2"),  # another recipient goes ahead
            ]
        )
        # notice and evict are leased to pass-1; everything later to m1 waits behind them
        assert [m.key for m in claim(store, at, owner="pass-2")] == ["other"]
        for done in ("notice", "evict"):
            store.update_message(msg(done, timedelta(0), status="delivered"))
        # c-retrying is not due yet: d-waits waits for it, retries included
        assert claim(store, at, owner="pass-3") == []
        later = at + timedelta(minutes=4)
        assert [m.key for m in claim(store, later, owner="pass-4")] == ["c-retrying", "d-waits"]
        # a held message holds back later ones too; once it is dead, they go ahead
        store.add_messages(
            [
                msg("e-held", timedelta(days=7), status="held", next_at=later + timedelta(days=1)),
                msg("f-after", timedelta(days=8)),
            ]
        )
        store.update_message(msg("c-retrying", timedelta(days=4), status="delivered"))
        store.update_message(msg("d-waits", timedelta(days=5), status="delivered"))
        assert claim(store, later, owner="pass-5") == []
        store.update_message(msg("e-held", timedelta(days=7), status="dead"))
        assert [m.key for m in claim(store, later, owner="pass-6")] == ["f-after"]

    def test_claim_respects_limit_and_ties_keep_queue_order(self, store: Store) -> None:
        store.add_messages([message(k, recipient=f"r-{k}") for k in "dbca"])  # all due and decided at T0
        first = claim(store, T0, limit=3)
        assert [m.key for m in first] == ["d", "b", "c"]
        second = claim(store, T0, owner="pass-2", limit=3)
        assert [m.key for m in second] == ["a"]
        assert claim(store, T0, owner="pass-3", limit=3) == []
        assert claim(store, T0, owner="pass-4", now=CLOCK + timedelta(hours=1), limit=0) == []
        # to one recipient, the limit cuts the queue in order: the rest waits for the first part
        store.add_messages([message(k) for k in "zyx"])
        assert [m.key for m in claim(store, T0, owner="pass-5", limit=2)] == ["z", "y"]
        assert claim(store, T0, owner="pass-6") == []

    def test_claim_from_many_threads_takes_each_message_once(self, store: Store) -> None:
        store.add_messages([message(f"k{i:03}", recipient=f"r{i}") for i in range(200)])
        taken: list[str] = []
        lock = threading.Lock()

        def worker(n: int) -> None:
            while batch := claim(store, T0, owner=f"worker-{n}", limit=7):
                with lock:
                    taken.extend(m.key for m in batch)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(taken) == [f"k{i:03}" for i in range(200)]

    def test_update_message_with_an_owner_needs_the_lease(self, store: Store) -> None:
        store.add_messages([message("k")])
        [mine] = claim(store, T0, owner="pass-1")
        # pass-1's lease runs out; pass-2 claims the message and delivers it
        [theirs] = claim(store, T0, owner="pass-2", now=CLOCK + timedelta(minutes=5))
        assert store.update_message(theirs.model_copy(update={"status": "delivered"}), owner="pass-2") is True
        # pass-1's late outcome does not overwrite pass-2's
        assert store.update_message(mine.model_copy(update={"status": "dead"}), owner="pass-1") is False
        assert [m.status for m in store.messages()] == ["delivered"]
        assert store.update_message(message("unknown"), owner="pass-1") is False
        assert [m.key for m in store.messages()] == ["k"]
        # without an owner, the replacement is unconditional (an operator requeues a message)
        assert store.update_message(message("k", status="pending"), owner=None) is True
        assert [m.status for m in store.messages()] == ["pending"]

    def test_delivery_times_answer_a_quota(self, store: Store) -> None:
        def sent(key: str, hours: int, **kw: Any) -> OutboxMessage:
            return message(key, status="delivered", delivered_at=T0 + timedelta(hours=hours), **kw)

        store.add_messages(
            [
                sent("k3", 3),
                sent("k1", 1),
                sent("k2", 2, recipient="m2"),
                sent("k4", 4, messenger="wecom"),
                message("k5", delivered_at=T0 + timedelta(hours=5)),  # pending: not delivered
                sent("k0", 0),
            ]
        )
        assert store.delivery_times(messenger="console", recipient="m1", since=T0) == [
            T0 + timedelta(hours=1),
            T0 + timedelta(hours=3),
        ]
        assert store.delivery_times(messenger="wecom", recipient="m1", since=T0 - timedelta(seconds=1)) == [
            T0 + timedelta(hours=4)
        ]
        assert store.delivery_times(messenger="console", recipient="m1", since=T0 + timedelta(hours=3)) == []

    # run state ---------------------------------------------------------------------------
    def test_state(self, store: Store) -> None:
        assert store.get_state("cursor") is None
        store.set_state("cursor", "42")
        store.set_state("last_run", T0.isoformat())
        store.set_state("cursor", "43")
        assert store.get_state("cursor") == "43"
        assert store.get_state("last_run") == T0.isoformat()
        store.set_state("empty", "")
        assert store.get_state("empty") == ""

    def test_transaction_commits(self, store: Store) -> None:
        with store.transaction():
            write_one_of_everything(store, "a")
            write_one_of_everything(store, "b")
        s = snapshot(store)
        assert [e.id for _, e in s["events"]] == ["e-a", "e-b"]
        assert [m.id for m in s["members"]] == ["m-a", "m-b"]
        assert len(s["decisions"]) == 2 and len(s["messages"]) == 2
        assert s["state"]["s-b"] == "b"

    def test_transaction_rolls_back_everything_on_exception(self, store: Store) -> None:
        write_one_of_everything(store, "a")
        store.set_state("cursor", "1")
        before = snapshot(store)
        with pytest.raises(RuntimeError, match="boom"), store.transaction():
            write_one_of_everything(store, "b")
            store.set_state("cursor", "2")
            claimed = claim(store, T0, limit=10)
            assert {m.key for m in claimed} == {"k-a", "k-b"}
            store.update_message(message("k-a", status="delivered"))
            store.put_member(Member(id="m-a", name="renamed"))
            raise RuntimeError("boom")
        assert snapshot(store) == before
        # the store stays usable, and the rolled-back ids are free again
        assert store.add_events([event("e-b")]) == [True]
        assert store.add_decision(decision(member="m-b")) is True
        assert [e.id for _, e in store.events_after(before["events"][-1][0])] == ["e-b"]

    def test_transaction_rolls_back_on_base_exception(self, store: Store) -> None:
        with pytest.raises(KeyboardInterrupt), store.transaction():
            store.set_state("cursor", "x")
            raise KeyboardInterrupt
        assert store.get_state("cursor") is None

    def test_nested_transactions_join_the_outer_one(self, store: Store) -> None:
        with store.transaction():
            store.set_state("s-a", "a")
            with store.transaction():
                store.set_state("s-b", "b")
                with store.transaction():
                    store.add_decision(decision())
            store.set_state("s-c", "c")
        assert [store.get_state(k) for k in ("s-a", "s-b", "s-c")] == ["a", "b", "c"]
        assert len(store.decisions()) == 1

        # an exception from an inner block that leaves the outer one undoes both
        with pytest.raises(ValueError), store.transaction():
            store.set_state("s-a", "outer")
            with store.transaction():
                store.set_state("s-b", "inner")
                raise ValueError("inner")
        assert [store.get_state(k) for k in ("s-a", "s-b")] == ["a", "b"]

        # the store works normally after nested use (depth back to zero)
        with pytest.raises(ValueError), store.transaction():
            store.set_state("s-c", "again")
            raise ValueError
        assert store.get_state("s-c") == "c"

    def test_transaction_excludes_writers_in_other_threads(self, store: Store) -> None:
        inside = threading.Event()
        order: list[str] = []

        def other_writer() -> None:
            inside.wait()
            store.set_state("cursor", "other")
            order.append("other wrote")

        t = threading.Thread(target=other_writer)
        t.start()
        with store.transaction():
            store.set_state("cursor", "1")
            inside.set()
            time.sleep(0.2)
            # still ours: the other thread waits for the transaction to end
            order.append("owner done")
            store.set_state("cursor", str(int(store.get_state("cursor") or "0") + 1))
        t.join()
        assert order == ["owner done", "other wrote"]
        assert store.get_state("cursor") == "other"

    def test_read_modify_write_from_threads_loses_no_update(self, store: Store) -> None:
        def bump(n: int) -> None:
            for _ in range(n):
                with store.transaction():
                    value = int(store.get_state("counter") or "0")
                    store.set_state("counter", str(value + 1))

        threads = [threading.Thread(target=bump, args=(50,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert store.get_state("counter") == "200"


class DurableStoreContract(StoreContract):
    """:class:`StoreContract`, plus: what is written survives closing the store and
    making it again on the same ``path`` (events with their sequence numbers and
    offsets, history, decisions, messages with their leases and queue order, state)."""

    # durability (SQLite) -----------------------------------------------------------------
    def test_reopening_preserves_everything(self, tmp_path: Path) -> None:
        first = self.make_store(tmp_path)
        try:
            write_one_of_everything(first, "a")
            with first.transaction():
                write_one_of_everything(first, "b")
            first.add_events([event("tz", at=datetime(2024, 3, 1, 8, 0, 0, 1, tzinfo=NEW_YORK))])
            first.put_membership(membership("m-a", "g2", joined_at=datetime(2024, 1, 1, tzinfo=SHANGHAI)))
            kept = MembershipChange(
                at=datetime(2024, 1, 1, tzinfo=SHANGHAI), membership=membership("m-h", "g2"), decision="d"
            )
            first.record_membership(kept)
            grp = GroupChange(
                at=datetime(2024, 1, 1, tzinfo=SHANGHAI), group=Group(id="g-h", kind="flash"), decision="d"
            )
            first.record_group(grp)
            claim(first, T0, owner="pass-1", limit=1)
            first.set_state("cursor", "7")
            before = snapshot(first)
        finally:
            first.close()

        second = self.make_store(tmp_path)
        try:
            assert snapshot(second) == before
            [(_, back)] = list(second.events_after(before["events"][-2][0]))
            assert back.at.utcoffset() == timedelta(hours=-5) and back.at.microsecond == 1
            assert second.membership_history("m-h", "g2") == [kept]
            assert second.membership_history("m-h", "g2")[0].at.utcoffset() == timedelta(hours=8)
            assert second.get_group("g-h") == grp.group and second.group_history("g-h") == [grp]
            ms = second.get_membership("m-a", "g2")
            assert ms is not None and ms.joined_at.utcoffset() == timedelta(hours=8)
            leased = second.messages()[0]
            assert leased.key == "k-a" and leased.lease_until == CLOCK + timedelta(minutes=5)
            assert leased.lease_owner == "pass-1"
            # the lease and its order survive the reopen: nobody else takes k-a or k-b meanwhile
            assert claim(second, T0, owner="pass-2", now=CLOCK + timedelta(minutes=4)) == []
            assert [m.key for m in claim(second, T0, owner="pass-2", now=CLOCK + timedelta(minutes=5))] == [
                "k-a",
                "k-b",
            ]
            # sequence numbers keep growing across a reopen
            second.add_events([event("after-reopen")])
            [(seq, _)] = list(second.events_after(before["events"][-1][0]))
            assert seq > before["events"][-1][0]
        finally:
            second.close()
