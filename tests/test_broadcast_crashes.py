"""A broadcast larger than its messenger's rate, delivered across minutes by real host
processes that are SIGKILLed mid-delivery, on a real SQLite file: every member gets the
broadcast, a message is sent again only if a kill caught it in flight (at-least-once,
same idempotency key), and no trailing minute ever holds more than the rate's 3.

The default run makes a few kills over 12 members; ``HYPOTHESIS_PROFILE=long`` (or
``GROUPOPS_BROADCAST_KILLS=N``) makes more over a larger segment.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from _broadcast_host import LEASE, START

import groupops as go

HOST = Path(__file__).parent / "_broadcast_host.py"
LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
KILLS = int(os.environ.get("GROUPOPS_BROADCAST_KILLS", "12" if LONG else "3"))
MEMBERS = 40 if LONG else 12


def _sent(path: Path) -> list[dict]:
    return (
        [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    )


def test_a_rate_limited_broadcast_survives_kills_mid_delivery_losing_and_doubling_nothing(tmp_path):
    rng = random.Random(20261202)
    db, sent = tmp_path / "b.db", tmp_path / "sent.jsonl"
    in_flight: Counter[str] = Counter()
    kills = passes = 0
    minute = 0
    while passes < MEMBERS * 3:
        passes += 1
        at = START + timedelta(minutes=minute, seconds=1)
        proc = subprocess.Popen(
            [
                sys.executable,
                str(HOST),
                str(db),
                str(sent),
                at.isoformat(),
                "--members",
                str(MEMBERS),
                "--pause",
                "0.1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        if kills < KILLS:
            time.sleep(rng.uniform(0.0, 0.3))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode in (0, -signal.SIGKILL), err
        if proc.returncode == -signal.SIGKILL:
            kills += 1
            store = go.SQLiteStore(db)
            recorded = {m.key for m in store.messages(status="delivered")}
            store.close()
            in_flight.update({line["key"] for line in _sent(sent) if line["pid"] == proc.pid} - recorded)
            time.sleep(LEASE + 0.1)  # the killed pass's leases run out; the same minute again
            continue
        store = go.SQLiteStore(db)
        statuses = Counter(m.status for m in store.messages())
        store.close()
        if statuses == {"delivered": MEMBERS}:
            break
        minute += 1
    store = go.SQLiteStore(db)
    try:
        delivered = store.messages(status="delivered")
        times = sorted(m.delivered_at for m in delivered)
    finally:
        store.close()
    assert len(delivered) == MEMBERS, Counter(m.status for m in delivered)  # 0 lost
    assert kills >= 1
    sends = Counter(line["key"] for line in _sent(sent))
    assert set(sends) == {m.key for m in delivered} and len({m.recipient for m in delivered}) == MEMBERS
    doubled = {key: n - 1 for key, n in sends.items() if n > 1}
    assert all(extra <= in_flight[key] for key, extra in doubled.items()), (doubled, in_flight)
    # the rate held across kills: never more than 3 recorded deliveries in a trailing minute
    assert all(sum(1 for u in times if t - timedelta(minutes=1) < u <= t) <= 3 for t in times), times
    assert times[-1] >= START + timedelta(minutes=MEMBERS // 3 - 1)  # spread over minutes
