"""Batch writes on SQLite: a run records its decisions, membership changes and messages
in one statement per table, and still all or nothing; ingest inserts its events with
one statement."""

from __future__ import annotations

import gc
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import groupops as go

TZ = ZoneInfo("Asia/Shanghai")
FRIDAY = datetime(2026, 11, 20, 20, tzinfo=TZ)  # the notice of the period ending Sunday 20:00
BOOK = """
timezone: Asia/Shanghai
groups: [{id: camp, name: Camp}]
policies:
  - id: weekly
    type: eviction
    groups: [camp]
    schedule: "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20"
    notice: 2d
    when: {days_since: checkin, at_least: 7}
"""
MEMBERS = 30


class Counting:
    """The store's connection, counting the statements sent to it by table written."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.writes: list[str] = []

    def _note(self, sql: str) -> None:
        words = sql.split()
        if words and words[0] == "INSERT":
            self.writes.append(words[2])

    def execute(self, sql: str, *args: Any) -> Any:
        self._note(sql)
        return self._conn.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        self._note(sql)
        return self._conn.executemany(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _engine(tmp_path: Path) -> go.Engine:
    (tmp_path / "book.yaml").write_text(BOOK, encoding="utf-8")
    engine = go.Engine(go.load_rule_book(tmp_path / "book.yaml"), store=go.SQLiteStore(tmp_path / "g.db"))
    joined = FRIDAY - timedelta(days=20)
    engine.ingest(
        [go.Event(id=f"j{i}", kind="joined", member=f"m{i}", group="camp", at=joined) for i in range(MEMBERS)]
    )
    return engine


def test_a_run_writes_each_table_in_one_statement(tmp_path: Path):
    with _engine(tmp_path) as engine:
        store = engine.store
        assert isinstance(store, go.SQLiteStore)
        counting = store._conn = Counting(store._conn)  # type: ignore[assignment]
        report = engine.run(FRIDAY)
        assert [d.action for d in report.decisions] == ["notice"] * MEMBERS
        per_decision = ["decisions", "membership_history", "memberships", "outbox"]
        assert sorted(w for w in counting.writes if w in per_decision) == per_decision
        # the rest is the run's own (groups seeded, cursors), whatever the number decided;
        # the subjects of a condition answered in SQL go in temporary tables (one write
        # per batch question, nothing stored)
        stored = [w for w in counting.writes if not w.startswith("temp.")]
        assert len(stored) < 10
        # and it is all there, as one by one
        assert len(engine.decisions(action="notice")) == MEMBERS
        assert {ms.status for ms in store.memberships(group="camp")} == {"notified"}
        assert len(store.messages()) == MEMBERS
        assert len(store.membership_history("m0", "camp")) == 2  # joined, then notified


def test_a_batch_that_fails_to_write_leaves_nothing_and_the_next_run_decides_again(tmp_path: Path):
    with _engine(tmp_path) as engine:
        with sqlite3.connect(tmp_path / "g.db") as conn:
            conn.execute(
                "CREATE TRIGGER full BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        conn.close()
        with pytest.raises(go.StoreError, match="disk full"):
            engine.run(FRIDAY)
        assert engine.decisions() == []
        assert {ms.status for ms in engine.store.memberships(group="camp")} == {"active"}
        with sqlite3.connect(tmp_path / "g.db") as conn:
            conn.execute("DROP TRIGGER full")
        conn.close()
        assert len(engine.run(FRIDAY).decisions) == MEMBERS
        assert len(engine.store.messages()) == MEMBERS


def test_queued_writes_are_read_back_inside_the_transaction(tmp_path: Path):
    store = go.SQLiteStore(tmp_path / "g.db")
    try:
        ms = go.Membership(member="m1", group="camp", joined_at=FRIDAY)
        d = go.Decision.make(
            policy="weekly",
            action="notice",
            member="m1",
            group="camp",
            period="p",
            at=FRIDAY,
            explanation=None,
        )
        with store.transaction():
            store.record_membership(go.MembershipChange(at=FRIDAY, membership=ms))
            assert store.add_decision(d) is True
            assert store.add_decision(d) is False  # queued already
            assert store.get_decision(d.id) == d
            assert store.get_membership("m1", "camp") == ms
            assert store.decisions(member="m1") == [d] and store.decisions(member="m2") == []
            assert store.memberships(group="camp") == [ms]
        assert store.add_decision(d) is False  # written
    finally:
        store.close()


def test_ingest_inserts_its_events_in_one_statement(tmp_path: Path):
    store = go.SQLiteStore(tmp_path / "g.db")
    try:
        counting = store._conn = Counting(store._conn)  # type: ignore[assignment]
        events = [go.Event(id=f"e{i}", kind="checkin", member="m1", at=FRIDAY) for i in range(50)]
        assert store.add_events([*events, events[0]]) == [True] * 50 + [False]
        assert counting.writes == ["events"]
        assert store.add_events(events[:3]) == [False] * 3
    finally:
        store.close()


def test_a_run_reads_a_groups_memberships_a_few_times_whatever_it_decides(tmp_path: Path):
    """Finding a group's operators reads all its memberships: only for messages that go to
    operators, never once per decision (which made a run quadratic in the group's size)."""
    with _engine(tmp_path) as engine:
        store = engine.store
        reads: list[str | None] = []
        listed = store.memberships

        def counted(**filters: Any) -> list[go.Membership]:
            reads.append(filters.get("group"))
            return listed(**filters)

        store.memberships = counted  # type: ignore[method-assign]
        assert len(engine.run(FRIDAY).decisions) == MEMBERS
        assert len(reads) < MEMBERS // 3


def test_a_long_run_writes_its_records_in_batches_and_still_all_or_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A run does not hold every record it made until the commit: once enough are queued
    they are written, inside the run's transaction; a run that fails after that still
    leaves nothing, and the next run decides the same as a run written at the end."""
    import groupops.plugins.sqlite as sqlite_store

    (tmp_path / "whole").mkdir()
    with _engine(tmp_path / "whole") as whole:
        expected = [d.model_dump_json() for d in whole.run(FRIDAY).decisions]
        expected_messages = sorted(m.model_dump_json() for m in whole.store.messages())
    monkeypatch.setattr(sqlite_store, "_FLUSH_AT", 7)
    with _engine(tmp_path) as engine:
        store = engine.store
        assert isinstance(store, go.SQLiteStore)
        counting = store._conn = Counting(store._conn)  # type: ignore[assignment]
        queued: list[int] = []
        flush = store._flush

        def measured() -> None:
            queued.append(len(store._pending))
            flush()

        store._flush = measured  # type: ignore[method-assign]
        set_state = store.set_state

        def failing(key: str, value: str) -> None:
            if key == "last_run_at":  # after every decision of the run was made
                raise RuntimeError("power cut")
            set_state(key, value)

        store.set_state = failing  # type: ignore[method-assign]
        with pytest.raises(RuntimeError, match="power cut"):
            engine.run(FRIDAY)
        assert counting.writes.count("decisions") > 3  # written in batches before the end
        assert max(queued) <= 7 + 3  # never more queued than a batch and one decision's records
        assert engine.decisions() == [] and store.messages() == []
        assert {ms.status for ms in store.memberships(group="camp")} == {"active"}
        assert [len(store.membership_history(f"m{i}", "camp")) for i in range(MEMBERS)] == [1] * MEMBERS
        store.set_state = set_state  # type: ignore[method-assign]
        assert [d.model_dump_json() for d in engine.run(FRIDAY).decisions] == expected
        assert sorted(m.model_dump_json() for m in store.messages()) == expected_messages
        assert {ms.status for ms in store.memberships(group="camp")} == {"notified"}


def test_the_histories_kept_between_runs_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A store keeps members' histories between reads up to a number of events; beyond
    it the oldest are dropped and read again when asked for, with the same answers."""
    import groupops.plugins._sqlfacts as sqlfacts

    monkeypatch.setattr(sqlfacts, "_CACHED_EVENTS", 12)
    monkeypatch.setattr(sqlfacts, "_IN_LIST", 4)
    with _engine(tmp_path) as engine:
        engine.ingest(
            [
                go.Event(
                    id=f"c{i}-{k}",
                    kind="checkin",
                    member=f"m{i}",
                    group="camp",
                    at=FRIDAY - timedelta(days=k),
                )
                for i in range(MEMBERS)
                for k in range(i % 3)
            ]
        )
        store = engine.store
        assert isinstance(store, go.SQLiteStore)
        facts = store.facts(tz=TZ)
        members = [f"m{i}" for i in range(MEMBERS)]
        facts.prefetch(members)
        cache = facts._cache
        assert cache.histories == {}  # announced, read on first use
        counts = []
        for m in members:
            counts.append(facts.history(m).count("checkin", "camp", None, FRIDAY))
            assert cache.held == sum(cache.sizes.values()) <= 12 + 4 * 3  # the limit, and one slice
            assert m in cache.histories
        assert counts == [i % 3 for i in range(MEMBERS)]
        assert len(cache.histories) < MEMBERS
        assert facts.history("m2").count("checkin", "camp", None, FRIDAY) == 2  # read again
        assert engine.run(FRIDAY).decisions  # a run still decides with a small cache


class _CollectorSeen:
    """A veto hook noting whether the garbage collector was on when it was asked."""

    def __init__(self, interrupt: bool = False) -> None:
        self.seen: list[bool] = []
        self.interrupt = interrupt

    @go.hookimpl
    def groupops_veto_action(self, decision: go.Decision) -> None:
        self.seen.append(gc.isenabled())
        if self.interrupt:
            raise KeyboardInterrupt


def test_a_run_and_an_ingest_pause_the_garbage_collector_and_put_it_back_as_it_was(tmp_path: Path):
    (tmp_path / "book.yaml").write_text(BOOK, encoding="utf-8")
    book = go.load_rule_book(tmp_path / "book.yaml")
    joined = FRIDAY - timedelta(days=20)
    joins = [go.Event(id=f"j{i}", kind="joined", member=f"m{i}", group="camp", at=joined) for i in range(3)]
    assert gc.isenabled()
    seen = _CollectorSeen()
    with go.Engine(
        book, store=go.SQLiteStore(tmp_path / "a.db"), plugins=[seen], entry_points=False
    ) as engine:
        engine.ingest(joins)
        assert gc.isenabled()
        assert len(engine.run(FRIDAY).decisions) == 3
        assert seen.seen == [False] * 3 and gc.isenabled()
    # a run that fails puts it back too
    stopping = _CollectorSeen(interrupt=True)
    with go.Engine(
        book, store=go.SQLiteStore(tmp_path / "b.db"), plugins=[stopping], entry_points=False
    ) as engine:
        engine.ingest(joins)
        with pytest.raises(KeyboardInterrupt):
            engine.run(FRIDAY)
        assert stopping.seen == [False] and gc.isenabled()
    # a host that runs with it off keeps it off
    gc.disable()
    try:
        with go.Engine(book, store=go.SQLiteStore(tmp_path / "c.db"), entry_points=False) as engine:
            engine.ingest(joins)
            assert len(engine.run(FRIDAY).decisions) == 3
            assert not gc.isenabled()
    finally:
        gc.enable()


def test_memberships_changed_by_another_connection_are_read_as_they_are_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The store keeps memberships it has validated by their stored text: another
    writer's change is new text, and a cache that is full starts over."""
    import groupops.plugins.sqlite as sqlite_store

    monkeypatch.setitem(sqlite_store._READ_CACHE, go.Membership, 2)
    reader, writer = go.SQLiteStore(tmp_path / "g.db"), go.SQLiteStore(tmp_path / "g.db")
    try:
        members = [go.Membership(member=f"m{i}", group="camp", joined_at=FRIDAY) for i in range(5)]
        for ms in members:
            writer.put_membership(ms)
        assert reader.memberships(group="camp") == members
        assert reader.get_membership("m1", "camp") == members[1]
        promoted = members[1].model_copy(update={"role": "core"})
        writer.put_membership(promoted)
        assert reader.get_membership("m1", "camp") == promoted
        assert reader.memberships(group="camp") == [members[0], promoted, *members[2:]]
        assert reader.get_memberships([("m1", "camp"), ("m4", "camp")]) == {
            ("m1", "camp"): promoted,
            ("m4", "camp"): members[4],
        }
    finally:
        reader.close()
        writer.close()


def test_decision_heads_are_the_decisions_without_their_explanations_written_or_queued(tmp_path: Path):
    def made(policy: str, action: str, member: str | None, group: str | None, period: str) -> go.Decision:
        return go.Decision.make(
            policy=policy,
            action=action,
            member=member,
            group=group,
            period=period,
            at=FRIDAY + timedelta(minutes=len(period)),
            explanation=None,
        )

    stored = [
        made("weekly", "notice", "m1", "camp", "p1"),
        made("vip", "invite", "m1", None, "invite-1"),  # a member alone
        made("weekly", "post", None, "camp", "p22"),  # a group alone
        made("vip", "invite", "m2", None, "invite-1").model_copy(update={"status": "vetoed"}),
    ]
    queued = [made("vip", "invite", "m1", None, "invite-2"), made("weekly", "notice", "m2", "camp", "p1")]
    filters: list[dict[str, str]] = [
        {},
        {"policy": "vip"},
        {"policy": "vip", "action": "invite", "member": "m1"},
        {"group": "camp"},
        {"member": "m2"},
        {"action": "post"},
    ]
    store = go.SQLiteStore(tmp_path / "g.db")
    try:
        for d in stored:
            assert store.add_decision(d)
        with store.transaction():
            for d in queued:
                assert store.add_decision(d)
            for f in filters:  # the queued ones last, as they will be written
                assert store.decision_heads(**f) == [go.DecisionHead.of(d) for d in store.decisions(**f)]
        heads = store.decision_heads()
        assert heads == [go.DecisionHead.of(d) for d in [*stored, *queued]]
        assert (heads[2].member, heads[1].group, heads[3].status) == (None, None, "vetoed")
        assert heads[0].at == FRIDAY + timedelta(minutes=2)
    finally:
        store.close()


def test_a_group_is_read_as_it_stands_inside_and_after_a_transaction(tmp_path: Path):
    """Inside a transaction the store may keep the groups it read (no other writer can
    change them then): its own changes are read at once, another writer's after."""
    store, other = go.SQLiteStore(tmp_path / "g.db"), go.SQLiteStore(tmp_path / "g.db")
    try:
        camp = go.Group(id="camp", name="Camp")
        store.put_group(camp)
        with store.transaction():
            assert store.get_group("camp") == camp and store.get_group("nope") is None
            renamed = camp.model_copy(update={"name": "Camp 2"})
            store.record_group(go.GroupChange(at=FRIDAY, group=renamed))
            assert store.get_group("camp") == renamed
            store.put_group(go.Group(id="nope"))
            assert store.get_group("nope") == go.Group(id="nope")
        closed = renamed.model_copy(update={"status": "closed"})
        other.put_group(closed)
        assert store.get_group("camp") == closed
        with store.transaction():
            assert store.get_group("camp") == closed
    finally:
        store.close()
        other.close()


def test_a_run_leaves_no_garbage_cycle_per_decision(tmp_path: Path):
    """A run pauses the garbage collector, so a reference cycle made per decision would
    hold a million members' contexts until the run ends: the cyclic garbage a run leaves
    must not grow with the members it decides about."""

    def garbage_after_a_run(members: int, name: str) -> int:
        (tmp_path / name).mkdir()
        (tmp_path / name / "book.yaml").write_text(BOOK, encoding="utf-8")
        book = go.load_rule_book(tmp_path / name / "book.yaml")
        joined = FRIDAY - timedelta(days=20)
        with go.Engine(book, store=go.SQLiteStore(tmp_path / name / "g.db"), entry_points=False) as engine:
            engine.ingest(
                [
                    go.Event(id=f"j{i}", kind="joined", member=f"m{i}", group="camp", at=joined)
                    for i in range(members)
                ]
            )
            gc.collect()
            gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds goes to gc.garbage
            try:
                assert len(engine.run(FRIDAY).decisions) == members
                gc.collect()
                return len(gc.garbage)
            finally:
                gc.set_debug(0)
                gc.garbage.clear()

    few, many = garbage_after_a_run(20, "few"), garbage_after_a_run(120, "many")
    assert many - few < 100, (few, many)
