"""The engine on a real SQLite file: crashes in the middle of run and deliver, and two
processes running at once. Child processes are real (subprocess) and are SIGKILLed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from _engine_proc import EVICTION_ONLY
from _season import events, run_times

import groupops as go
from groupops.testing import RecordingMessenger

PROC = Path(__file__).parent / "_engine_proc.py"
AT = run_times()[-1]
# members who join with the season and never check in: with b and e, six members whom one
# late run at AT notices (a late run notices for the latest period only, and evicts later)
SILENT = [go.Event(id=f"join-{m}", kind="joined", member=m, group="camp", at=run_times()[0]) for m in "ghij"]


def _child(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROC), *args], capture_output=True, text=True, timeout=120, check=check
    )


def _prepared(db: Path, *, default_messenger: str | None = None) -> go.Engine:
    book = go.RuleBook.load(EVICTION_ONLY)
    plugins = []
    if default_messenger:

        class Mine:
            @go.hookimpl
            def groupops_register_messengers(self, register):
                register(RecordingMessenger(name=default_messenger))

        plugins.append(Mine())
    engine = go.Engine(
        book, store=str(db), plugins=plugins, entry_points=False, default_messenger=default_messenger
    )
    engine.ingest(events() + SILENT)
    return engine


def _reference_ids() -> list[str]:
    ref = go.Engine(go.RuleBook.load(EVICTION_ONLY), store=go.MemoryStore(), entry_points=False)
    ref.ingest(events() + SILENT)
    return [d.id for d in ref.run(AT).decisions]


def test_the_reference_season_has_several_decisions():
    assert len(_reference_ids()) == 6


def test_a_crash_in_the_middle_of_run_loses_nothing_and_doubles_nothing(tmp_path):
    db = tmp_path / "camp.db"
    _prepared(db).close()
    crashed = _child("run", str(db), AT.isoformat(), "--kill-at", "3", check=False)
    assert crashed.returncode == -signal.SIGKILL
    engine = _prepared(db)  # reopen: what the crashed run wrote was rolled back
    assert engine.store.decisions() == []
    redo = [d.id for d in engine.run(AT).decisions]
    assert redo == _reference_ids()
    assert [d.id for d in engine.store.decisions()] == redo
    per_decision = Counter(m.decision for m in engine.store.messages())
    assert set(per_decision) == set(redo) and set(per_decision.values()) == {1}


def test_a_crash_in_the_middle_of_delivery_redelivers_under_the_same_key(tmp_path):
    db = tmp_path / "camp.db"
    keys_file = tmp_path / "keys.jsonl"
    engine = _prepared(db, default_messenger="file")
    engine.run(AT)
    queued = {m.key: m.decision for m in engine.store.messages()}
    assert len(queued) == 6
    engine.close()
    # one messenger call at a time, killed right after the 4th message was handed over
    crashed = _child(
        "deliver", str(db), AT.isoformat(), str(keys_file), "--kill-at", "4", "--workers", "1", check=False
    )
    assert crashed.returncode == -signal.SIGKILL
    # outcomes are recorded as they happen: the 3 sent before are known as delivered, the
    # one in flight at the kill is not, and it stays leased
    reopened = go.SQLiteStore(db)
    recorded = {m.key for m in reopened.messages(status="delivered")}
    reopened.close()
    sent_before = [json.loads(x)["key"] for x in keys_file.read_text().splitlines()]
    assert len(recorded) == 3 and set(sent_before[:3]) == recorded
    in_flight = {sent_before[3]}
    # a restart at once delivers what the crashed pass had not sent, but not what is leased
    restart = set(json.loads(_child("deliver", str(db), AT.isoformat(), str(keys_file)).stdout))
    assert not restart & (in_flight | recorded)
    # after the lease runs out (on the clock, not in ``at``), a new process delivers the rest
    again = _child("deliver", str(db), AT.isoformat(), str(keys_file), "--clock-offset", "301")
    assert set(json.loads(again.stdout)) == set(queued) - recorded - restart
    assert in_flight <= set(json.loads(again.stdout))
    lines = [json.loads(x) for x in keys_file.read_text().splitlines()]
    delivered_keys = Counter(x["key"] for x in lines)
    assert set(delivered_keys) == set(queued)  # every message at least once
    twice = {k for k, n in delivered_keys.items() if n > 1}
    assert twice == in_flight and max(delivered_keys.values()) <= 2  # only those in flight, once more
    for line in lines:  # and always under its own key
        assert queued[line["key"]] == line["decision"]
    reopened = go.SQLiteStore(db)
    assert {m.status for m in reopened.messages()} == {"delivered"}
    reopened.close()


def test_two_processes_running_at_once_apply_each_decision_once(tmp_path):
    db = tmp_path / "camp.db"
    _prepared(db).close()
    cmd = [sys.executable, str(PROC), "run", str(db), AT.isoformat(), "--sleep", "0.05"]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    made = [json.loads(o[0]) for o in outs]
    assert sorted(made[0] + made[1]) == sorted(_reference_ids())
    store = go.SQLiteStore(db)
    assert len(store.decisions()) == 6
    assert Counter(m.decision for m in store.messages()).most_common(1)[0][1] == 1
    store.close()


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
def test_the_season_is_the_same_on_every_store(tmp_path, store_kind):
    def season(store: go.Store) -> list[str]:
        engine = go.Engine(go.RuleBook.load(EVICTION_ONLY), store=store, entry_points=False)
        engine.ingest(events())
        return [d.id for at in run_times() for d in engine.run(at).decisions]

    store = go.MemoryStore() if store_kind == "memory" else go.SQLiteStore(tmp_path / "s.db")
    made = season(store)
    assert len(made) == 6 and made == season(go.MemoryStore())
