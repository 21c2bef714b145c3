"""A host process for the delivery crash campaign and the concurrent-deliverer test.

    python _delivery_host.py season DB SENT [--scale K] [--lease S]
    python _delivery_host.py deliver DB SENT AT [--lease S] [--clock-offset S] [--wait-for FILE]
    python _delivery_host.py {season,deliver} DB SENT --final

``season`` does what a host does every day of the eight-week season of ``_season.py``:
ingest the day's events, ``run`` at 21:00 and ``deliver``. It resumes from the store's
``last_run_at``, so a restart after a SIGKILL carries on where the store says the work
stands. ``--scale K`` runs K copies of the season's members side by side.

``deliver`` makes one delivery pass at ``AT``. ``--final`` makes one clean delivery pass
instead, a month after the season, with the lease clock an hour ahead (every lease of a
killed process has run out) and a messenger that does not fail.

The messenger appends one JSON line per message it sends (key, recipient, action, pid)
to ``SENT`` and fsyncs it before it returns: what is in the file was sent, whatever
happens to the process next. The first attempt at about one message in four fails, so
retries happen too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _season import BOOK, END, events, run_times

import groupops as go


class FileMessenger:
    name = "file"
    actions = frozenset({"message", "invite", "evict", "remove", "revive"})
    quota = None

    def __init__(self, path: str, *, pause: float = 0.0, reliable: bool = False) -> None:
        self.path = path
        self.pause = pause
        self.reliable = reliable

    def deliver(self, message: go.OutboxMessage) -> None:
        if (
            not self.reliable
            and message.attempts == 0
            and int(hashlib.sha256(message.key.encode()).hexdigest(), 16) % 4 == 0
        ):
            raise ConnectionError("first attempt fails")
        if self.pause:
            time.sleep(self.pause)
        line = {
            "key": message.key,
            "recipient": message.recipient,
            "action": message.action,
            "pid": os.getpid(),
        }
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


def engine(
    db: str,
    sent: str,
    *,
    lease: float,
    clock_offset: float = 0.0,
    pause: float = 0.0,
    book: dict | None = None,
    reliable: bool = False,
) -> go.Engine:
    return go.Engine(
        go.RuleBook.load(book or BOOK),
        store=db,
        plugins=[Messengers(FileMessenger(sent, pause=pause, reliable=reliable))],
        entry_points=False,
        default_messenger="file",
        lease=timedelta(seconds=lease),
        delivery_timeout=lease / 2,
        clock=lambda: time.time() + clock_offset,
    )


def scaled_events(scale: int) -> list[go.Event]:
    """The season's events for ``scale`` copies of its members (a0..f0, a1..f1, ...)."""
    return [
        e.model_copy(update={"id": f"{i}-{e.id}", "member": f"{e.member}{i}"})
        for i in range(scale)
        for e in events()
    ]


def season(host: go.Engine, scale: int) -> None:
    times = run_times()
    last = host.store.get_state("last_run_at")
    start = 0 if last is None else times.index(datetime.fromisoformat(last).astimezone(times[0].tzinfo))
    everything = scaled_events(scale)
    previous = times[start - 1] if start else None
    for at in times[start:]:
        # after a restart, everything up to the first day is ingested again (duplicates are no-ops)
        host.ingest([e for e in everything if (previous is None or e.at > previous) and e.at <= at])
        host.run(at)
        host.deliver(at)
        previous = at


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["season", "deliver"])
    parser.add_argument("db")
    parser.add_argument("sent")
    parser.add_argument("at", nargs="?")
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--clock-offset", type=float, default=0.0)
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--final", action="store_true")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--book", help="a rule book (JSON) instead of the season's")
    parser.add_argument("--wait-for", help="start delivering once this file exists")
    args = parser.parse_args()
    book = json.loads(Path(args.book).read_text(encoding="utf-8")) if args.book else None
    if args.final:
        # the platform is up again: nothing fails in the clean final pass
        host = engine(args.db, args.sent, lease=args.lease, clock_offset=3600.0, book=book, reliable=True)
        report = host.deliver(END + timedelta(days=30), limit=100_000)
    elif args.mode == "season":
        host = engine(args.db, args.sent, lease=args.lease, pause=args.pause, book=book)
        print("ready", flush=True)  # the crash campaign kills at random times after this
        season(host, args.scale)
        report = None
    else:
        host = engine(
            args.db, args.sent, lease=args.lease, clock_offset=args.clock_offset, pause=args.pause, book=book
        )
        print("ready", flush=True)
        while args.wait_for and not Path(args.wait_for).exists():  # start together with the others
            time.sleep(0.005)
        report = host.deliver(datetime.fromisoformat(args.at), limit=100_000)
    host.close()
    if report is not None:
        print(json.dumps({"delivered": len(report.delivered), "retrying": len(report.retrying)}))


if __name__ == "__main__":
    main()
