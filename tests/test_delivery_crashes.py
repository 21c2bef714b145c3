"""Delivery that survives crashes and concurrent deliverers, on a real SQLite file.

The crash campaign SIGKILLs a real host process at random moments while it ingests,
runs and delivers, day after day, through an eight-week season; the concurrent test
starts several real deliverer processes at once, each with its own ``at``. Both use a
messenger that appends each message it sends to a file and fsyncs it before returning.

The default profile makes a few kills; ``HYPOTHESIS_PROFILE=long`` (or
``GROUPOPS_CRASH_KILLS=N``) makes dozens, over a larger community.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

from _delivery_host import engine as host_engine
from _delivery_host import scaled_events
from _engine_proc import EVICTION_ONLY
from _season import BOOK, run_times

import groupops as go

HOST = Path(__file__).parent / "_delivery_host.py"
LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
# each round is a whole season on a fresh database, killed KILLS times on its way
ROUNDS = int(os.environ.get("GROUPOPS_CRASH_ROUNDS", "10" if LONG else "1"))
KILLS = int(os.environ.get("GROUPOPS_CRASH_KILLS", "5" if LONG else "4"))
SCALE = 25 if LONG else 10  # copies of the season's six members


def _host(*args: str, **kwargs) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HOST), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _sent(path: Path) -> list[dict]:
    return (
        [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    )


def _reference(scale: int) -> go.Engine:
    """The same season in memory, never killed: the decisions and messages to expect."""
    ref = go.Engine(go.RuleBook.load(BOOK), store=go.MemoryStore(), entry_points=False)
    everything = scaled_events(scale)
    previous = None
    for at in run_times():
        ref.ingest([e for e in everything if (previous is None or e.at > previous) and e.at <= at])
        ref.run(at)
        previous = at
    return ref


def _delivery_order(store: go.SQLiteStore) -> dict[str, list[str]]:
    """Each recipient's message keys in the order they must be delivered."""
    queued = store.messages()  # queue order
    order = sorted(range(len(queued)), key=lambda i: (queued[i].created_at, i))
    out: dict[str, list[str]] = defaultdict(list)
    for i in order:
        out[queued[i].recipient].append(queued[i].key)
    return out


def _first_sends(lines: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        if line["key"] not in out[line["recipient"]]:
            out[line["recipient"]].append(line["key"])
    return out


def test_crash_campaign_loses_and_doubles_nothing(tmp_path):
    ref = _reference(SCALE)
    totals: Counter[str] = Counter()
    for round in range(ROUNDS):
        where = tmp_path / f"round-{round}"
        where.mkdir()
        totals.update(_campaign(where, random.Random(20261201 + round), ref))
    print(
        f"\ncrash campaign: {ROUNDS} season(s), {totals['kills']} SIGKILLs in {totals['starts']} starts, "
        f"{totals['decisions']} decisions and {totals['messages']} messages; 0 decisions lost or doubled, "
        f"{totals['twice']} messages sent twice, all {totals['in_flight']} in flight at a kill; "
        "0 messages lost, 0 pending after the final pass"
    )


def _campaign(tmp_path: Path, rng: random.Random, ref: go.Engine) -> Counter[str]:
    """One season on a fresh database, killed ``KILLS`` times at random moments."""
    db, sent = tmp_path / "season.db", tmp_path / "sent.jsonl"
    in_flight: Counter[str] = Counter()  # per key: how many kills caught it sent but not recorded
    kills = attempts = 0
    while kills < KILLS and attempts < KILLS * 3:
        attempts += 1
        proc = _host("season", str(db), str(sent), "--scale", str(SCALE))
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.0, 1.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        _, err = proc.communicate(timeout=120)
        assert proc.returncode in (0, -signal.SIGKILL), err
        if proc.returncode == -signal.SIGKILL:
            store = go.SQLiteStore(db)
            recorded = {m.key for m in store.messages(status="delivered")}
            store.close()
            caught = {line["key"] for line in _sent(sent) if line["pid"] == proc.pid} - recorded
            assert len(caught) <= 8  # at most ``workers`` messages are in flight at once
            in_flight.update(caught)
    # the host finishes the season undisturbed, then one clean pass once every lease ran out
    finish = _host("season", str(db), str(sent), "--scale", str(SCALE))
    _, err = finish.communicate(timeout=300)
    assert finish.returncode == 0, err
    final = _host("season", str(db), str(sent), "--final")
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err

    store = go.SQLiteStore(db)
    try:
        # 0 decisions lost or doubled, and the same memberships
        made = [(d.id, d.action, d.member, d.at) for d in store.decisions()]
        expected = [(d.id, d.action, d.member, d.at) for d in ref.store.decisions()]
        assert sorted(made) == sorted(expected) and len(made) == len(set(made))
        assert sorted(store.memberships(), key=str) == sorted(ref.store.memberships(), key=str)
        assert sorted(m.key for m in store.messages()) == sorted(m.key for m in ref.store.messages())
        # 0 messages left pending after the clean final pass
        assert Counter(m.status for m in store.messages()) == {"delivered": len(expected)}
        order = _delivery_order(store)
    finally:
        store.close()
    lines = _sent(sent)
    sends = Counter(line["key"] for line in lines)
    # every message sent, and a message sent again only if a kill caught it in flight
    assert set(sends) == {key for keys in order.values() for key in keys}
    doubled = {key: n - 1 for key, n in sends.items() if n > 1}
    assert all(extra <= in_flight[key] for key, extra in doubled.items()), (doubled, in_flight)
    # each recipient's messages in the order of their decisions, retries and restarts included
    assert _first_sends(lines) == order
    return Counter(
        kills=kills,
        starts=attempts + 1,
        decisions=len(expected),
        messages=len(sends),
        twice=sum(doubled.values()),
        in_flight=sum(in_flight.values()),
    )


def test_concurrent_deliverers_with_different_ats_send_each_message_once(tmp_path):
    db, sent, go_file = tmp_path / "camp.db", tmp_path / "sent.jsonl", tmp_path / "go"
    book_file = tmp_path / "book.json"
    book_file.write_text(json.dumps(EVICTION_ONLY), encoding="utf-8")
    at = run_times()[0] + timedelta(days=13)  # after the first period's notice and end
    members = 150 if LONG else 60
    engine = host_engine(str(db), str(sent), lease=30.0, book=EVICTION_ONLY)  # queues for "file"
    engine.ingest(
        {
            "id": f"join-{i}",
            "kind": "joined",
            "member": f"m{i:03}",
            "group": "camp",
            "at": "2026-09-07T09:00:00+08:00",
        }
        for i in range(members)
    )
    made = [d for t in run_times() if t <= at for d in engine.run(t).decisions]  # the daily runs
    assert Counter(d.action for d in made) == {"notice": members, "evict": members}
    engine.close()
    # four hosts whose ``at`` differ by minutes to an hour, started at the same moment
    ats = [at, at + timedelta(minutes=5), at + timedelta(minutes=10), at + timedelta(hours=1)]
    procs = [
        _host(
            "deliver",
            str(db),
            str(sent),
            a.isoformat(),
            "--book",
            str(book_file),
            "--pause",
            "0.005",
            "--wait-for",
            str(go_file),
        )
        for a in ats
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    go_file.touch()
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
    assert sum(json.loads(out)["delivered"] > 0 for out, _ in outs) >= 2, outs  # they worked side by side
    final = _host("deliver", str(db), str(sent), "--final", "--book", str(book_file))
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err

    lines = _sent(sent)
    sends = Counter(line["key"] for line in lines)
    store = go.SQLiteStore(db)
    try:
        assert Counter(m.status for m in store.messages()) == {"delivered": 2 * members}  # 0 pending
        order = _delivery_order(store)
    finally:
        store.close()
    assert len(sends) == 2 * members and set(sends.values()) == {1}  # each exactly once
    assert _first_sends(lines) == order  # every notice before its eviction
