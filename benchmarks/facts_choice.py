"""Facts in the store, two ways, on the same data: SQL over the indexed events table, or
incremental aggregates kept up to date in the ingest transaction.

Both are built from the community of ``benchmarks/_community.py`` in SQLite files of the
store's schema (``events`` with migration 5's columns and indexes):

- **SQL over events**: ingest is the plain ``executemany`` into ``events``; a question is
  a ``GROUP BY`` over the index ``(member, kind, at_us)``.
- **aggregates**: ingest also upserts one row per (member, group, kind, local day) into
  ``daily`` (count, sum of value, last instant), in the same transaction; a question
  reads ``daily`` instead. It can answer only windows made of whole local days: a
  trailing ``7d`` window ending at 20:00 needs the raw events of its first day too.

Timed (CPU and wall, median of interleaved rounds): ingest of every event, and three
batch questions for every member at one instant: check-ins in the trailing 30 days
(day-aligned, so the aggregates can answer it alone), days since the last check-in,
and every member's history read for conditions (the engine's ``prefetch``).

    .venv/bin/python benchmarks/facts_choice.py [--members 20000] [--rounds 3]

Prints a table and writes ``benchmarks/results/facts_choice.json``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from _community import AT, TZ, records  # noqa: E402

import groupops as go  # noqa: E402
from groupops.plugins.sqlite import APPLICATION_ID, MIGRATIONS  # noqa: E402

try:
    from groupops._time import micros as _micros
except ImportError:  # a tree from before micros moved (--src / PYTHONPATH)
    from groupops.plugins.sqlite import _micros  # type: ignore[attr-defined,no-redef]

DAILY = """
CREATE TABLE daily (
    member TEXT NOT NULL, grp TEXT NOT NULL, kind TEXT NOT NULL, day INTEGER NOT NULL,
    n INTEGER NOT NULL, total REAL NOT NULL, last_us INTEGER NOT NULL,
    PRIMARY KEY (member, kind, grp, day)
) WITHOUT ROWID
"""
UPSERT = (
    "INSERT INTO daily (member, grp, kind, day, n, total, last_us) VALUES (?, ?, ?, ?, 1, ?, ?)"
    " ON CONFLICT (member, kind, grp, day) DO UPDATE SET n = n + 1, total = total + excluded.total,"
    " last_us = max(last_us, excluded.last_us)"
)


def _schema(path: Path, aggregates: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for script in MIGRATIONS:
        conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    if aggregates:
        conn.execute(DAILY)
    return conn


def _rows(events: list[go.Event]) -> list[tuple[Any, ...]]:
    return [
        (e.id, e.member, e.group, e.kind, e.at.isoformat(), _micros(e.at), e.value, None, e.model_dump_json())
        for e in events
    ]


def ingest(conn: sqlite3.Connection, rows: list[tuple[Any, ...]], aggregates: bool) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO events (id, member, grp, kind, at, at_us, value, data, payload)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    if aggregates:
        conn.executemany(
            UPSERT,
            [
                (
                    r[1],
                    r[2] or "",
                    r[3],
                    datetime.fromtimestamp(r[5] / 1e6, TZ).date().toordinal(),
                    r[6],
                    r[5],
                )
                for r in rows
            ],
        )
    conn.execute("COMMIT")


def questions(conn: sqlite3.Connection, aggregates: bool, members: list[str]) -> dict[str, Callable[[], Any]]:
    at = _micros(AT)
    day0 = (AT - timedelta(days=30)).date().toordinal()
    start = _micros(datetime.combine((AT - timedelta(days=30)).date(), datetime.min.time(), TZ))
    if aggregates:
        counted = (
            "SELECT member, sum(n) FROM daily WHERE kind = 'checkin' AND day >= ? AND day <= ?"
            " GROUP BY member",
            (day0, AT.date().toordinal()),
        )
        last = ("SELECT member, max(last_us) FROM daily WHERE kind = 'checkin' GROUP BY member", ())
    else:
        counted = (
            "SELECT member, count(*) FROM events WHERE kind = 'checkin' AND at_us >= ? AND at_us <= ?"
            " GROUP BY member",
            (start, at),
        )
        last = (
            "SELECT member, max(at_us) FROM events WHERE kind = 'checkin' AND at_us <= ? GROUP BY member",
            (at,),
        )

    def histories() -> int:
        store = go.SQLiteStore(conn.execute("PRAGMA database_list").fetchone()[2])
        try:
            facts = store.facts(tz=TZ)
            facts.prefetch(members)
            return len(members)
        finally:
            store.close()

    return {
        "check-ins in 30 days, every member": lambda: conn.execute(*counted).fetchall(),
        "days since last check-in, every member": lambda: conn.execute(*last).fetchall(),
        "histories of every member (prefetch)": histories,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    events = [go.Event.model_validate(r) for r in records(args.members)]
    rows = _rows(events)
    members = sorted({e.member for e in events})
    timings: dict[tuple[str, str], list[tuple[float, float]]] = {}
    answers: dict[str, dict[str, Any]] = {}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as work:
            for aggregates in (False, True):
                way = "aggregates" if aggregates else "SQL over events"
                conn = _schema(Path(work) / f"{int(aggregates)}.db", aggregates)
                cpu, wall = time.process_time(), time.perf_counter()
                ingest(conn, rows, aggregates)
                timings.setdefault((way, "ingest every event"), []).append(
                    (time.process_time() - cpu, time.perf_counter() - wall)
                )
                for name, ask in questions(conn, aggregates, members).items():
                    if aggregates and name.startswith("histories"):
                        continue  # the same table, the same read
                    cpu, wall = time.process_time(), time.perf_counter()
                    got = ask()
                    timings.setdefault((way, name), []).append(
                        (time.process_time() - cpu, time.perf_counter() - wall)
                    )
                    if isinstance(got, list):
                        answers.setdefault(name, {})[way] = sorted(got)
                conn.close()
    mismatches = sum(1 for a in answers.values() if len({json.dumps(v) for v in a.values()}) > 1)
    lines = ["| way | work | CPU s | wall s |", "|---|---|---:|---:|"]
    out = []
    for (way, name), ts in timings.items():
        cpu = statistics.median(t[0] for t in ts)
        wall = statistics.median(t[1] for t in ts)
        lines.append(f"| {way} | {name} | {cpu:.3f} | {wall:.3f} |")
        out.append({"way": way, "work": name, "cpu": cpu, "wall": wall})
    print(f"{args.members:,} members, {len(rows):,} events")
    print("\n".join(lines))
    print(f"mismatches: {mismatches}")
    (HERE / "results" / "facts_choice.json").write_text(
        json.dumps(
            {"members": args.members, "events": len(rows), "results": out, "mismatches": mismatches}, indent=1
        ),
        encoding="utf-8",
    )
    if mismatches:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
