"""A host process for the rate-limited broadcast crash test.

    python _broadcast_host.py DB SENT AT --members N [--pause S]

Decides the broadcast of ``_broadcast_book`` to N members (idempotent: a restart decides
nothing new), prints ``ready``, and makes one delivery pass at ``AT`` through a messenger
that allows 3 broadcasts a minute. The messenger appends one JSON line per message it
sends (key, recipient, pid) to ``SENT`` and fsyncs it before it returns.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, str(Path(__file__).parent))

import groupops as go

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LEASE = 1.0
BOOK = {
    "timezone": "UTC",
    "groups": [{"id": "welfare"}],
    "segments": {"label-a": {"label": "A"}},
    "policies": [
        {
            "id": "live",
            "type": "broadcast",
            "segment": "label-a",
            "at": START.isoformat(),
            "text": "{member.name}!",
        }
    ],
}


class FileMessenger:
    name = "file"
    actions = frozenset({"message"})
    quota = None
    rates: ClassVar[dict[str, go.Rate]] = {"broadcast": go.Rate(3, go.Duration(1, "m"))}

    def __init__(self, path: str, pause: float) -> None:
        self.path = path
        self.pause = pause

    def deliver(self, message: go.OutboxMessage) -> None:
        time.sleep(self.pause)
        line = {"key": message.key, "recipient": message.recipient, "pid": os.getpid()}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
            f.flush()
            os.fsync(f.fileno())


class Messengers:
    def __init__(self, messenger: FileMessenger) -> None:
        self.messenger = messenger

    @go.hookimpl
    def groupops_register_messengers(self, register):
        register(self.messenger)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("sent")
    parser.add_argument("at")
    parser.add_argument("--members", type=int, required=True)
    parser.add_argument("--pause", type=float, default=0.0)
    args = parser.parse_args()
    engine = go.Engine(
        go.RuleBook.load(BOOK),
        store=args.db,
        plugins=[Messengers(FileMessenger(args.sent, args.pause))],
        entry_points=False,
        default_messenger="file",
        lease=timedelta(seconds=LEASE),
        delivery_timeout=LEASE / 2,
        workers=2,
    )
    engine.ingest([go.Member(id=f"m{i:03}", name=f"M{i}", labels=["A"]) for i in range(args.members)])
    engine.run(START)
    print("ready", flush=True)  # the test kills at random moments after this
    report = engine.deliver(datetime.fromisoformat(args.at))
    engine.close()
    print(json.dumps({"delivered": len(report.delivered), "held": len(report.held)}), flush=True)


if __name__ == "__main__":
    main()
