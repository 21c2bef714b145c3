"""Ingest speed: events per second through the CLI and the API, against raw
``executemany`` of the same rows into the same schema.

The events are those of ``benchmarks/_community.py`` (N members, about ten events each),
as JSON lines. Each round, interleaved, into a new SQLite file each time:

- **CLI**: ``groupops ingest --db x.db --rules book.yaml events.jsonl`` (a fresh process;
  CPU time from ``os.wait4``, so Python's start-up and imports are included);
- **API**: ``Engine.ingest`` of the JSON text lines, ``--batch`` lines per call (what the
  CLI does too, with reading, reporting and a rejects file around it);
- **raw executemany**: the events' rows (id, member, group, kind, time, value, data,
  payload), prepared before timing, inserted by one ``executemany`` per batch into a
  store's schema (the same indexes), each batch in one transaction: the reference of
  issue 16's target;
- **raw executemany, events + memberships**: the same, and also the rows a store must
  write for the batch's ``joined`` and ``left`` events (each membership, upserted as
  the store does, and its history row; taken from a store the API filled), so that
  it writes every row ingest writes.

CPU time beside wall time, medians of the rounds; ratios against both raw baselines.

    .venv/bin/python benchmarks/ingest.py [--members 10000] [--rounds 3] [--batch 1000]

Prints a table and writes ``benchmarks/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from _community import BOOK, jsonl, records  # noqa: E402

import groupops as go  # noqa: E402

try:
    from groupops._time import micros as _micros
except ImportError:  # a tree from before micros moved (PYTHONPATH=old/src)
    from groupops.plugins.sqlite import _micros  # type: ignore[attr-defined,no-redef]


def _cli(work: Path, events: Path, book: Path, batch: int) -> tuple[float, float]:
    db = work / "cli.db"
    wall = time.perf_counter()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "groupops"),
            "ingest",
            "--db",
            str(db),
            "--rules",
            str(book),
            "--batch",
            str(batch),
            str(events),
        ],
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("groupops ingest failed")
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - wall


def _api(work: Path, lines: list[str], book: go.RuleBook, batch: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    with go.Engine(book, store=go.SQLiteStore(work / "api.db")) as engine:
        for i in range(0, len(lines), batch):
            engine.ingest(lines[i : i + batch])
    return time.process_time() - cpu, time.perf_counter() - wall


_Batches = list[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]]


def _raw(work: Path, batches: _Batches) -> tuple[float, float]:
    """Each batch's events, memberships and history rows, in one transaction each."""
    go.SQLiteStore(work / "raw.db").close()  # the store's schema, every migration
    conn = sqlite3.connect(work / "raw.db", isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")  # as the store sets it
    cpu, wall = time.process_time(), time.perf_counter()
    for events, memberships, history in batches:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO events (id, member, grp, kind, at, at_us, value, data, payload)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            events,
        )
        if memberships:
            conn.executemany(
                "INSERT INTO memberships (member, grp, status, payload) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (member, grp) DO UPDATE"
                " SET status = excluded.status, payload = excluded.payload",
                memberships,
            )
        if history:
            conn.executemany(
                "INSERT INTO membership_history (member, grp, at_us, decision, payload)"
                " VALUES (?, ?, ?, ?, ?)",
                history,
            )
        conn.execute("COMMIT")
    out = time.process_time() - cpu, time.perf_counter() - wall
    conn.close()
    return out


def _membership_rows(
    tmp: Path, lines: list[str], events: list[go.Event], book: go.RuleBook, batch: int
) -> _Batches:
    """Per batch: its events' rows, and the membership and history rows the store writes
    for the batch's joins and leaves, as a store filled through the API holds them."""
    with go.Engine(book, store=go.SQLiteStore(tmp / "rows.db")) as engine:
        for i in range(0, len(lines), batch):
            engine.ingest(lines[i : i + batch])
    conn = sqlite3.connect(tmp / "rows.db")
    stored = {
        (m, g): (m, g, status, payload)
        for m, g, status, payload in conn.execute("SELECT member, grp, status, payload FROM memberships")
    }
    history: dict[tuple[str, str, int], list[tuple[Any, ...]]] = {}
    for row in conn.execute(
        "SELECT member, grp, at_us, decision, payload FROM membership_history ORDER BY seq"
    ):
        history.setdefault(row[:3], []).append(row)
    conn.close()
    out: _Batches = []
    for i in range(0, len(events), batch):
        rows, memberships, changes = [], [], []
        for e, line in zip(events[i : i + batch], lines[i : i + batch], strict=True):
            rows.append(
                (e.id, e.member, e.group, e.kind, e.at.isoformat(), _micros(e.at), e.value, None, line)
            )
            if e.kind in ("joined", "left") and e.group is not None:
                memberships.append(stored[(e.member, e.group)])
                changes.extend(history.pop((e.member, e.group, _micros(e.at)), []))
        out.append((rows, memberships, changes))
    return out


_RAW = "raw executemany"
_RAW_ALL = "raw executemany, events + memberships"
_PATHS = ("CLI", "API", _RAW, _RAW_ALL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    lines = jsonl(records(args.members)).splitlines()
    events = [go.Event.model_validate_json(line) for line in lines]
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in _PATHS}
    with tempfile.TemporaryDirectory(prefix="groupops-ingest-") as tmp:
        book_path = Path(tmp) / "book.yaml"
        book_path.write_text(BOOK, encoding="utf-8")
        events_path = Path(tmp) / "events.jsonl"
        events_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        book = go.load_rule_book(book_path)
        with_memberships = _membership_rows(Path(tmp), lines, events, book, args.batch)
        events_only = [(rows, [], []) for rows, _, _ in with_memberships]
        for r in range(args.rounds):
            for name in times:
                work = Path(tmp) / f"{r}-{_PATHS.index(name)}"
                work.mkdir()
                if name == "CLI":
                    times[name].append(_cli(work, events_path, book_path, args.batch))
                elif name == "API":
                    times[name].append(_api(work, lines, book, args.batch))
                elif name == _RAW:
                    times[name].append(_raw(work, events_only))
                else:
                    times[name].append(_raw(work, with_memberships))
    n = len(lines)
    raw_cpu = statistics.median(t[0] for t in times[_RAW])
    fair_cpu = statistics.median(t[0] for t in times[_RAW_ALL])
    table = [
        "| path | CPU s | wall s | events/s (CPU) | events/s (wall) | CPU vs raw executemany"
        " | CPU vs raw, events + memberships |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    out = []
    for name, ts in times.items():
        cpu = statistics.median(t[0] for t in ts)
        wall = statistics.median(t[1] for t in ts)
        table.append(
            f"| {name} | {cpu:.2f} | {wall:.2f} | {n / cpu:,.0f} | {n / wall:,.0f} | {cpu / raw_cpu:.2f}x"
            f" | {cpu / fair_cpu:.2f}x |"
        )
        out.append({"path": name, "cpu": cpu, "wall": wall, "events": n})
    print(f"{args.members:,} members, {n:,} events, batches of {args.batch}")
    print("\n".join(table))
    (HERE / "results" / "ingest.json").write_text(
        json.dumps(
            {
                "machine": {
                    "nproc": os.cpu_count(),
                    "python": platform.python_version(),
                    "sqlite": sqlite3.sqlite_version,
                },
                "members": args.members,
                "batch": args.batch,
                "results": out,
            },
            indent=1,
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
