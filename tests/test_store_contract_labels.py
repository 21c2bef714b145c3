"""The Store contract for label history and per-action delivery times (issue 13): both
built-in stores pass the same tests; a file of the previous schema migrates."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from groupops import LabelChange, Member
from groupops.plugins import sqlite as sqlite_module
from groupops.plugins._store import Store
from groupops.plugins.memory import MemoryStore
from groupops.plugins.sqlite import SQLiteStore
from groupops.testing._store_contract import T0, message


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "store.db")
    try:
        yield s
    finally:
        s.close()


def test_record_labels_sets_the_profile_and_keeps_history_oldest_first(store: Store) -> None:
    store.put_member(Member(id="m1", name="Ann", labels=("B",), source="sdr"))
    later = LabelChange(at=T0 + timedelta(days=2), member="m1", labels=("A", "premium"), decision="d2")
    first = LabelChange(at=T0, member="m1", labels=("B+",), source="host")
    store.record_labels(later)
    store.record_labels(first)  # recorded out of order: history is by ``at``
    assert store.get_member("m1") == Member(id="m1", name="Ann", labels=("B+",), source="sdr")
    assert store.label_history("m1") == [first, later]
    assert store.label_history("nobody") == []
    store.record_labels(LabelChange(at=T0, member="new", labels=("x",)))
    assert store.get_member("new") == Member(id="new", labels=("x",))


def test_a_rolled_back_transaction_keeps_no_label_change(store: Store) -> None:
    store.put_member(Member(id="m1", labels=("B",)))
    with pytest.raises(RuntimeError), store.transaction():
        store.record_labels(LabelChange(at=T0, member="m1", labels=("A",)))
        raise RuntimeError("crash")
    assert store.get_member("m1") == Member(id="m1", labels=("B",))
    assert store.label_history("m1") == []


def test_action_delivery_times_answer_a_rate(store: Store) -> None:
    def sent(key: str, hours: int, **kw):
        return message(key, status="delivered", delivered_at=T0 + timedelta(hours=hours), **kw)

    store.add_messages(
        [
            sent("k1", 1, action="broadcast"),
            sent("k2", 2, action="broadcast", recipient="m2"),
            sent("k3", 3, action="notice"),
            sent("k4", 4, action="broadcast", messenger="wecom"),
            message("k5", action="broadcast"),  # pending
        ]
    )
    hours = [T0 + timedelta(hours=h) for h in (1, 2)]
    assert store.action_delivery_times(messenger="console", action="broadcast", since=T0) == hours
    assert (
        store.action_delivery_times(messenger="console", action="broadcast", since=T0, recipient="m2")
        == hours[1:]
    )
    assert store.action_delivery_times(messenger="console", action="broadcast", since=hours[1]) == []


def test_a_file_of_the_previous_schema_migrates_keeping_its_messages(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "old.db"
    with monkeypatch.context() as m:
        m.setattr(sqlite_module, "MIGRATIONS", sqlite_module.MIGRATIONS[:4])
        m.setattr(sqlite_module, "SCHEMA_VERSION", 4)
        old = SQLiteStore(path)
        old.put_member(Member(id="m1", labels=("B",)))
        old.add_messages([message("k1", action="broadcast", status="delivered", delivered_at=T0)])
        old.close()
    store = SQLiteStore(path)
    try:
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == sqlite_module.SCHEMA_VERSION
        assert store.action_delivery_times(
            messenger="console", action="broadcast", since=T0 - timedelta(1)
        ) == [T0]
        assert store.label_history("m1") == []  # no history before the table existed
        store.record_labels(LabelChange(at=T0, member="m1", labels=("A",)))
        assert store.get_member("m1").labels == ("A",)
    finally:
        store.close()
