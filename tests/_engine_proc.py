"""Run an engine in a child process for the crash and concurrency tests.

    python _engine_proc.py run DB AT [--kill-at N] [--sleep S]
    python _engine_proc.py deliver DB AT KEYS_FILE [--kill-at N] [--clock-offset S] [--workers N]

``--kill-at N`` SIGKILLs the process at the N-th decision (run) or right after the N-th
message was handed over (deliver): a crash in the middle of the work. ``--clock-offset S``
runs the deliverer's lease clock S seconds ahead of real time (a process that starts
after the crashed one's lease ran out).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _season import BOOK

import groupops as go

EVICTION_ONLY = {**BOOK, "policies": BOOK["policies"][:1]}


class Crasher:
    def __init__(self, kill_at: int, sleep: float) -> None:
        self.kill_at = kill_at
        self.sleep = sleep
        self.seen = 0

    @go.hookimpl
    def groupops_veto_action(self, decision, membership):
        self.seen += 1
        if self.sleep:
            time.sleep(self.sleep)
        if self.seen == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return None


class FileMessenger:
    name = "console"  # stands in for the built-in console messenger
    actions = frozenset({"message", "invite", "evict", "remove", "revive"})
    quota = None

    def __init__(self, path: str, kill_at: int) -> None:
        self.path = path
        self.kill_at = kill_at
        self.count = 0

    def deliver(self, message: go.OutboxMessage) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"key": message.key, "decision": message.decision}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.count += 1
        if self.count == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


class Messengers:
    def __init__(self, messenger: FileMessenger) -> None:
        self.messenger = messenger

    @go.hookimpl
    def groupops_register_messengers(self, register):
        register(self.messenger)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["run", "deliver"])
    parser.add_argument("db")
    parser.add_argument("at")
    parser.add_argument("keys", nargs="?")
    parser.add_argument("--kill-at", type=int, default=0)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--clock-offset", type=float, default=0.0)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    at = datetime.fromisoformat(args.at)
    book = go.RuleBook.load(EVICTION_ONLY)
    if args.mode == "run":
        engine = go.Engine(
            book, store=args.db, plugins=[Crasher(args.kill_at, args.sleep)], entry_points=False
        )
        report = engine.run(at)
        print(json.dumps([d.id for d in report.decisions]))
    else:
        # the built-in console messenger is replaced: register ours under a new name
        messenger = FileMessenger(args.keys, args.kill_at)
        messenger.name = "file"
        engine = go.Engine(
            book,
            store=args.db,
            plugins=[Messengers(messenger)],
            entry_points=False,
            default_messenger="file",
            clock=lambda: time.time() + args.clock_offset,
            workers=args.workers,
        )
        report = engine.deliver(at)
        print(json.dumps(list(report.delivered)))


if __name__ == "__main__":
    main()
