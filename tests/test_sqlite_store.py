"""What only the SQLite store promises: WAL, schema versions, exclusion across processes,
crash safety, and the store URLs."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from groupops import Event, StoreError
from groupops.plugins import sqlite as sqlite_module
from groupops.plugins._urls import open_store
from groupops.plugins.memory import MemoryStore
from groupops.plugins.sqlite import SCHEMA_VERSION, SQLiteStore

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "groupops.db"


@pytest.fixture
def store(path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(path)
    try:
        yield s
    finally:
        s.close()


def raw(path: Path) -> sqlite3.Connection:
    """A connection of our own, beside the store's (autocommit)."""
    return sqlite3.connect(path, isolation_level=None, timeout=5)


def event(id: str) -> Event:
    return Event(id=id, kind="checkin", member="m1", group="g1", at=T0)


# file format -------------------------------------------------------------------------
def test_wal_mode_and_connection_settings(path: Path) -> None:
    s = SQLiteStore(path, timeout=2.5)
    try:
        s.set_state("k", "v")
        with raw(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert Path(f"{path}-wal").exists()
        pragmas = {p: s._conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("synchronous", "foreign_keys")}
        assert pragmas == {"synchronous": 1, "foreign_keys": 1}  # 1: NORMAL, ON
        assert s._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
    finally:
        s.close()


def test_schema_version_is_recorded(store: SQLiteStore, path: Path) -> None:
    assert SCHEMA_VERSION == len(sqlite_module.MIGRATIONS) == 7
    conn = raw(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {
            "events",
            "members",
            "memberships",
            "membership_history",
            "decisions",
            "outbox",
            "state",
            "ledger",
        } <= names
        indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {
            "decisions_policy_member",
            "decisions_member_grp",
            "decisions_action",
            "outbox_status_next",
            "outbox_decision",
            "outbox_member",
            "outbox_recipient_order",
            "outbox_delivered",
            "memberships_grp",
            "membership_history_key",
        } <= indexes
    finally:
        conn.close()


def test_a_version_1_file_gains_an_empty_membership_history(path: Path) -> None:
    conn = raw(path)
    for statement in sqlite_module.MIGRATIONS[0].split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    store = SQLiteStore(path)
    try:
        assert store.membership_history("m1", "g1") == []
    finally:
        store.close()
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_reopening_does_not_touch_the_schema(path: Path) -> None:
    SQLiteStore(path).close()
    with raw(path) as conn:
        before = conn.execute("SELECT * FROM sqlite_master ORDER BY name").fetchall()
    for _ in range(3):
        SQLiteStore(path).close()
    with raw(path) as conn:
        assert conn.execute("SELECT * FROM sqlite_master ORDER BY name").fetchall() == before


def test_a_newer_schema_is_refused(path: Path) -> None:
    SQLiteStore(path).close()
    conn = raw(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError) as info:
        SQLiteStore(path)
    message = str(info.value)
    assert str(path) in message
    assert f"schema version {SCHEMA_VERSION + 1}" in message
    assert f"version {SCHEMA_VERSION} this groupops supports" in message
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1


def test_migrations_run_in_order_in_one_transaction(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    current = SCHEMA_VERSION
    v1 = SQLiteStore(path)
    v1.set_state("cursor", "1")
    v1.close()
    # a broken next migration leaves the file as it was
    broken = "CREATE TABLE extra (x TEXT);\nTHIS IS NOT SQL;"
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", (*sqlite_module.MIGRATIONS, broken))
    monkeypatch.setattr(sqlite_module, "SCHEMA_VERSION", current + 1)
    with pytest.raises(StoreError, match="migrate"):
        SQLiteStore(path)
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == current
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'extra'").fetchone()[0] == 0
    # a good one is applied once, and the data survives it
    good = "CREATE TABLE extra (x TEXT);\nINSERT INTO extra VALUES ('migrated');"
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", (*sqlite_module.MIGRATIONS[:current], good))
    for _ in range(2):
        SQLiteStore(path).close()
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == current + 1
        assert conn.execute("SELECT x FROM extra").fetchall() == [("migrated",)]
    v2 = SQLiteStore(path)
    assert v2.get_state("cursor") == "1"
    v2.close()


def test_a_version_1_outbox_is_upgraded_with_its_order_and_delivery_times(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groupops import OutboxMessage

    with monkeypatch.context() as m:  # a file written by the first schema
        m.setattr(sqlite_module, "MIGRATIONS", sqlite_module.MIGRATIONS[:1])
        m.setattr(sqlite_module, "SCHEMA_VERSION", 1)
        SQLiteStore(path).close()

    def old_row(key: str, created: datetime, **kw: object) -> tuple[object, ...]:
        msg = OutboxMessage(
            key=key,
            decision="d",
            messenger="console",
            action="notice",
            member="m1",
            group="g1",
            recipient="m1",
            text=key,
            created_at=created,
            next_at=created,
            **kw,
        )  # type: ignore[arg-type]
        lease = None if msg.lease_until is None else 1  # leases were kept in ``at`` time
        return (key, msg.status, 0, lease, "m1", "console", "d", msg.model_dump_json())

    later = datetime(2024, 3, 2, 9, 0, 0, 123000, tzinfo=UTC)
    with raw(path) as conn:
        conn.executemany(
            "INSERT INTO outbox (key, status, next_at_us, lease_until_us, member, messenger, decision, payload)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                old_row("evict", later, lease_until=later),  # queued first, decided later
                old_row("notice", T0),
                old_row("sent", T0, status="delivered", delivered_at=later),
            ],
        )
    store = SQLiteStore(path)
    try:
        now = datetime(2030, 1, 1, tzinfo=UTC)
        claimed = store.claim_messages(later, owner="o", now=now, lease_until=now, limit=10)
        assert [msg.key for msg in claimed] == ["notice", "evict"]  # the old lease was dropped
        assert store.delivery_times(messenger="console", recipient="m1", since=T0) == [later]
    finally:
        store.close()


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("these are not the pages you are looking for\n" * 100)
    with pytest.raises(StoreError, match=r"notes\.db"):
        SQLiteStore(bogus)


def test_a_closed_store_says_so(path: Path) -> None:
    s = SQLiteStore(path)
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.get_state("k")
    with pytest.raises(StoreError, match="closed"), s.transaction():
        pass


def test_closing_inside_a_transaction_writes_nothing(path: Path) -> None:
    s = SQLiteStore(path)
    with pytest.raises(StoreError, match="closed inside a transaction"), s.transaction():
        s.set_state("k", "v")
        s.close()
    again = SQLiteStore(path)
    assert again.get_state("k") is None
    again.close()


def test_an_in_memory_database_works() -> None:
    s = SQLiteStore(":memory:")
    try:
        with s.transaction():
            s.set_state("k", "v")
        assert s.get_state("k") == "v"
    finally:
        s.close()


# transactions within one process -----------------------------------------------------
def test_nothing_is_visible_to_other_connections_before_the_outer_commit(
    store: SQLiteStore, path: Path
) -> None:
    other = SQLiteStore(path)
    try:
        with store.transaction():
            with store.transaction():
                store.set_state("k", "v")
                store.add_events([event("e1")])
            assert other.get_state("k") is None  # the inner block ended; nothing committed yet
            assert list(other.events_after(0)) == []
        assert other.get_state("k") == "v"
        assert [e.id for _, e in other.events_after(0)] == ["e1"]
    finally:
        other.close()


def test_a_writer_elsewhere_makes_the_transaction_wait_then_time_out(path: Path) -> None:
    s = SQLiteStore(path, timeout=0.3)
    s.set_state("k", "before")
    holder = raw(path)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO state VALUES ('k2', 'held')")
        started = time.monotonic()
        with pytest.raises(StoreError, match="write lock") as info, s.transaction():
            pass
        assert time.monotonic() - started >= 0.25
        assert str(path) in str(info.value)
        with pytest.raises(StoreError):
            s.set_state("k", "blocked")
        # readers are never blocked by the writer in WAL mode, and see only committed data
        assert s.get_state("k") == "before"
        assert s.get_state("k2") is None
        holder.execute("COMMIT")
        s.set_state("k", "after")
        assert (s.get_state("k"), s.get_state("k2")) == ("after", "held")
    finally:
        holder.close()
        s.close()


def test_other_threads_wait_for_a_transaction_even_to_read(store: SQLiteStore) -> None:
    store.set_state("k", "old")
    inside = threading.Event()
    seen: list[str | None] = []

    def reader() -> None:
        inside.wait()
        seen.append(store.get_state("k"))

    t = threading.Thread(target=reader)
    t.start()
    with store.transaction():
        store.set_state("k", "uncommitted")
        inside.set()
        time.sleep(0.2)
        store.set_state("k", "new")
    t.join()
    assert seen == ["new"]  # never the uncommitted value


def test_a_thread_gives_up_after_the_timeout(path: Path) -> None:
    s = SQLiteStore(path, timeout=0.2)
    release = threading.Event()
    inside = threading.Event()

    def holder() -> None:
        with s.transaction():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    try:
        inside.wait(5)
        with pytest.raises(StoreError, match="another thread"):
            s.get_state("k")
    finally:
        release.set()
        t.join()
        s.close()


def test_events_after_streams_in_chunks_and_allows_writes(store: SQLiteStore) -> None:
    n = 2500
    store.add_events([event(f"e{i:05}") for i in range(n)])
    selects: list[str] = []
    store._conn.set_trace_callback(
        lambda sql: selects.append(sql) if "SELECT seq, payload FROM events" in sql else None
    )
    it = store.events_after(0)
    assert not isinstance(it, list | tuple)
    first_seq, first = next(it)
    assert first.id == "e00000" and len(selects) == 1  # one chunk read, not everything
    count = 1
    # the engine's pattern: decide while reading, with writes in between reads
    for seq, _ in it:
        count += 1
        if seq % 500 == 0:
            with store.transaction():
                store.set_state("cursor", str(seq))
                store.add_events([event(f"new-{seq}")])
    assert count == n
    assert len(selects) == 3  # 1000 + 1000 + 500
    assert len(list(store.events_after(first_seq))) == n - 1 + 5


# processes ---------------------------------------------------------------------------
SRC = str(Path(__file__).resolve().parents[1] / "src")

PRELUDE = """
import sys, time
from datetime import datetime, timezone
from groupops import Decision, Event
from groupops._outbox import OutboxMessage
from groupops.plugins.sqlite import SQLiteStore
path = sys.argv[1]
print("ready", flush=True)
sys.stdin.readline()  # wait for the others, so that they start together
"""


def spawn(script: str, *args: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = PRELUDE + textwrap.dedent(script)
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    got = proc.stdout.readline().strip()
    if not got:
        proc.wait(10)
        assert proc.stderr is not None
        pytest.fail(f"child exited with {proc.returncode}: {proc.stderr.read()}")
    return got


def run_together(script: str, path: Path, *args: object, processes: int = 2) -> list[str]:
    """Run ``script`` in several processes at once; their last output lines."""
    procs = [spawn(script, path, *args) for _ in range(processes)]
    try:
        for p in procs:
            assert line(p) == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            results.append(out.strip().splitlines()[-1])
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


COUNTER = """
    n = int(sys.argv[2])
    store = SQLiteStore(path)  # all processes open the fresh file at once: one creates the schema
    for _ in range(n):
        with store.transaction():
            value = int(store.get_state("counter") or "0")
            time.sleep(0.002)  # widen the window a lost update would need
            store.set_state("counter", str(value + 1))
        time.sleep(0.001)
    store.close()
    print("done")
"""


def test_processes_never_lose_an_update(path: Path) -> None:
    n, processes = 40, 3
    assert run_together(COUNTER, path, n, processes=processes) == ["done"] * processes
    s = SQLiteStore(path)
    try:
        assert s.get_state("counter") == str(n * processes)
    finally:
        s.close()


DECIDE = """
    n = int(sys.argv[2])
    me = sys.argv[3] if len(sys.argv) > 3 else str(time.monotonic_ns())
    store = SQLiteStore(path)
    at = datetime(2024, 3, 1, tzinfo=timezone.utc)
    added = raced = 0
    for i in range(n):
        d = Decision.make(policy="weekly", action="evict", member=f"m{i}", group="g", period="w9", at=at)
        with store.transaction():
            if store.get_decision(d.id) is None:
                time.sleep(0.001)
                if store.add_decision(d):
                    added += 1
                else:
                    raced += 1  # someone decided between our check and our write
                # the message a second application would send twice
                store.add_messages([OutboxMessage(
                    key=f"{d.id}:{me}", decision=d.id, messenger="console", action="evict",
                    member=d.member, group="g", recipient=d.member, text="bye", created_at=at, next_at=at,
                )])
    store.close()
    print(added, raced)
"""


def test_processes_apply_each_decision_once(path: Path) -> None:
    n = 60
    results = run_together(DECIDE, path, n)
    added = [tuple(map(int, r.split())) for r in results]
    assert sum(a for a, _ in added) == n
    assert all(raced == 0 for _, raced in added)
    s = SQLiteStore(path)
    try:
        decisions = s.decisions()
        assert len(decisions) == n and len({d.id for d in decisions}) == n
        messages = s.messages()
        assert len(messages) == n  # one message per decision: no decision was applied twice
        assert {m.decision for m in messages} == {d.id for d in decisions}
    finally:
        s.close()


CRASH = """
    store = SQLiteStore(path)
    store.set_state("committed", "yes")
    at = datetime(2024, 3, 1, tzinfo=timezone.utc)
    store.add_events([Event(id="kept", kind="checkin", member="m1", at=at)])
    # a tiny page cache makes SQLite spill uncommitted pages into the WAL before commit
    store._conn.execute("PRAGMA cache_size = 8")
    with store.transaction():
        store.set_state("committed", "overwritten")
        store.set_state("partial", "yes")
        store.add_events([
            Event(id=f"lost{i}", kind="checkin", member="m1", at=at, data={"pad": "x" * 200})
            for i in range(3000)
        ])
        decided = Decision.make(policy="p", action="evict", member="m1", group="g", period="w", at=at)
        store.add_decision(decided)
        print("inside", flush=True)
        time.sleep(60)
"""


def test_a_process_killed_mid_transaction_leaves_nothing_behind(path: Path) -> None:
    proc = spawn(CRASH, path)
    try:
        assert line(proc) == "ready"
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert line(proc) == "inside"
        assert Path(f"{path}-wal").stat().st_size > 100_000  # uncommitted pages are on disk
        # while it holds the write lock: writers time out, readers see committed data only
        s = SQLiteStore(path, timeout=0.2)
        with pytest.raises(StoreError, match="write lock"):
            s.set_state("x", "y")
        assert s.get_state("partial") is None
        s.close()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    s = SQLiteStore(path, timeout=2)
    try:
        with raw(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert s.get_state("committed") == "yes"
        assert s.get_state("partial") is None
        assert [e.id for _, e in s.events_after(0)] == ["kept"]
        assert s.decisions() == []
        # the lock died with the process: writing works at once
        with s.transaction():
            s.set_state("after", "crash")
        assert s.add_events([event("lost0")]) == [True]
    finally:
        s.close()


# URLs --------------------------------------------------------------------------------
def test_open_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    memory = open_store("memory:")
    assert isinstance(memory, MemoryStore)
    opened: list[tuple[str, str]] = [
        ("sqlite:///relative.db", str(tmp_path / "relative.db")),
        (f"sqlite:///{tmp_path}/absolute.db", str(tmp_path / "absolute.db")),  # four slashes
        ("plain.db", str(tmp_path / "plain.db")),
        ("sub/x.sqlite", str(tmp_path / "sub" / "x.sqlite")),
        (str(tmp_path / "y.SQLITE3"), str(tmp_path / "y.SQLITE3")),
        ("sqlite:///noext", str(tmp_path / "noext")),
    ]
    (tmp_path / "sub").mkdir()
    for url, file in opened:
        s = open_store(url)
        try:
            assert isinstance(s, SQLiteStore), url
            s.set_state("k", url)
        finally:
            assert s is not None
            s.close()
        assert Path(file).is_file(), url
    for url in ("postgres://h/db", "memory", "notes.txt", "sqlite:///", "https://x/y.db", "", "sqlite://h/x"):
        assert open_store(url) is None, url


def test_a_version_3_file_migrates_to_groups_and_keeps_its_data(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groupops import Group, GroupChange, Member, Membership, MembershipChange

    with monkeypatch.context() as m:  # a file written by the previous schema (membership history)
        m.setattr(sqlite_module, "MIGRATIONS", sqlite_module.MIGRATIONS[:3])
        m.setattr(sqlite_module, "SCHEMA_VERSION", 3)
        old = SQLiteStore(path)
        old.put_member(Member(id="m1", name="Ann"))
        joined = MembershipChange(at=T0, membership=Membership(member="m1", group="g1", joined_at=T0))
        old.record_membership(joined)
        old.set_state("cursor", "5")
        old.close()
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'groups'").fetchone() is None

    store = SQLiteStore(path)
    try:
        with raw(path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
        assert store.get_member("m1") == Member(id="m1", name="Ann")
        assert store.membership_history("m1", "g1") == [joined] and store.get_state("cursor") == "5"
        assert store.groups() == []  # nothing seeded yet: an engine seeds from its book
        store.record_group(GroupChange(at=T0, group=Group(id="g1", name="one")))
        assert [g.id for g in store.groups(status="open")] == ["g1"]
    finally:
        store.close()


def test_a_version_4_file_migrates_to_the_points_ledger_and_keeps_its_data(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groupops import Decision, LedgerEntry, Member

    decided = Decision.make(policy="p", action="reward", member="m1", group=None, period="once", at=T0)
    with monkeypatch.context() as m:  # a file written by the previous schema (groups)
        m.setattr(sqlite_module, "MIGRATIONS", sqlite_module.MIGRATIONS[:4])
        m.setattr(sqlite_module, "SCHEMA_VERSION", 4)
        old = SQLiteStore(path)
        old.put_member(Member(id="m1", name="Ann"))
        old.add_decision(decided)
        old.close()
    with raw(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'ledger'").fetchone() is None

    store = SQLiteStore(path)
    try:
        with raw(path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
        assert store.get_member("m1") == Member(id="m1", name="Ann") and store.decisions() == [decided]
        assert store.entries() == []
        entry = LedgerEntry.make(
            member="m1", at=T0, points=100, kind="earn", cause=decided.id, cause_type="decision", policy="p"
        )
        assert store.add_entries([entry]) == [True]
        assert store.entries(member="m1") == [entry]
    finally:
        store.close()
