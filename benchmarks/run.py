"""A whole run on SQLite: groupops against the same rules as hand-written SQL.

The community of ``benchmarks/_community.py`` (N members, about ten events each) is
ingested once into a SQLite store; then, interleaved, for each round:

- **full run, fresh process**: a new process opens the store and runs the reference
  workload's three rules at their notice instant (``Engine(...).run(at)``: every
  membership decided, notices and invitations recorded with their messages);
- **hand-written SQL**: the same three rules as SQL queries over the same tables (the
  verdicts only: who gets a notice, an invitation, a revival), checked against the
  decisions groupops recorded (any difference fails the benchmark);
- **next run after +1 % events**: 1 % more events are ingested (not timed), then the run
  one hour later, in the same (warm) process and in a fresh one.

CPU time (``time.process_time``) beside wall time, medians of the rounds; peak memory is
the fresh full-run process's maximum resident set (``ru_maxrss``). Each measurement runs
in its own process, so one cannot warm the next. ``--src`` runs groupops from another
source tree in the same way (e.g. ``--src /work/main/src``: the code before this change).

    .venv/bin/python benchmarks/run.py [--members 10000 100000] [--rounds 3] [--million]

Prints a table and writes ``benchmarks/results/run.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
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

from _community import AT, BOOK, NEXT, jsonl, more_records, records  # noqa: E402

BATCH = 10_000


# -- children: each measurement in a fresh process ----------------------------------------


def _timed(fn: Any) -> tuple[Any, float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - cpu, time.perf_counter() - wall


def _child_build(db: str, book: str, events: str) -> dict[str, Any]:
    import groupops as go

    def build() -> int:
        with go.Engine(go.load_rule_book(book), store=go.SQLiteStore(db)) as engine:
            lines = Path(events).read_text(encoding="utf-8").splitlines()
            n = 0
            for i in range(0, len(lines), BATCH):
                n += engine.ingest(lines[i : i + BATCH]).events
            return n

    n, cpu, wall = _timed(build)
    return {"events": n, "cpu": cpu, "wall": wall}


def _actions(decisions: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for d in decisions:
        out.setdefault(d.action, []).append(d.member)
    return {k: sorted(v) for k, v in out.items()}


def _child_run(db: str, book: str, more: str | None) -> dict[str, Any]:
    import groupops as go

    engine: Any = None

    def full() -> Any:
        nonlocal engine
        engine = go.Engine(go.load_rule_book(book), store=go.SQLiteStore(db))
        return engine.run(AT)

    report, cpu, wall = _timed(full)
    out: dict[str, Any] = {"cpu": cpu, "wall": wall, "actions": _actions(report.decisions)}
    if more is not None:  # the warm process: 1 % more events, then the next run
        engine.ingest(Path(more).read_text(encoding="utf-8").splitlines())
        nxt, cpu, wall = _timed(lambda: engine.run(NEXT))
        out["next"] = {"cpu": cpu, "wall": wall, "decisions": len(nxt.decisions)}
    engine.close()
    return out


def _child_next(db: str, book: str) -> dict[str, Any]:
    import groupops as go

    def run() -> Any:
        with go.Engine(go.load_rule_book(book), store=go.SQLiteStore(db)) as engine:
            return engine.run(NEXT)

    report, cpu, wall = _timed(run)
    return {"cpu": cpu, "wall": wall, "decisions": len(report.decisions)}


# the three rules as SQL over the store's tables: members' joins come from their joined
# events; windows are the rule book's (no daylight saving in Asia/Shanghai)
_US = 1_000_000
_DAY = 86_400 * _US


def hand_written_sql(db: str) -> dict[str, list[str]]:
    at = int(AT.timestamp()) * _US
    period_end = at + 2 * _DAY
    conn = sqlite3.connect(db)
    try:
        notices = conn.execute(
            """
            WITH camp AS (
                SELECT member, min(at_us) AS joined FROM events
                WHERE kind = 'joined' AND grp = 'camp-7' AND at_us <= :at GROUP BY member)
            SELECT c.member FROM camp c
            WHERE c.joined + 7 * :day <= :end
              AND (coalesce((SELECT max(at_us) FROM events e WHERE e.member = c.member
                               AND e.kind = 'checkin' AND (e.grp = 'camp-7' OR e.grp IS NULL)
                               AND e.at_us <= :at), -1e18) <= :at - 7 * :day
                   OR (SELECT count(*) FROM events e WHERE e.member = c.member
                         AND e.kind = 'violation' AND (e.grp = 'camp-7' OR e.grp IS NULL)
                         AND e.at_us BETWEEN :at - 30 * :day AND :at) >= 3)
            """,
            {"at": at, "day": _DAY, "end": period_end},
        ).fetchall()
        invites = conn.execute(
            """
            WITH welfare AS (
                SELECT DISTINCT member FROM events
                WHERE kind = 'joined' AND grp = 'welfare-hz' AND at_us <= :at),
            counted AS (
                SELECT e.member,
                    sum(e.kind = 'purchase' AND e.at_us >= :at - 365 * :day) AS purchases,
                    sum(e.kind = 'activity') AS activities,
                    sum(e.kind = 'redemption') AS redemptions
                FROM events e JOIN welfare w ON w.member = e.member
                WHERE e.kind IN ('purchase', 'activity', 'redemption') AND e.at_us <= :at
                  AND (e.grp = 'welfare-hz' OR e.grp IS NULL)
                GROUP BY e.member)
            SELECT member FROM counted WHERE purchases > 2 OR activities >= 1 OR redemptions >= 2
            """,
            {"at": at, "day": _DAY},
        ).fetchall()
        # revival: members evicted from the camp (none yet at the first run)
        revivals = conn.execute(
            "SELECT member FROM memberships WHERE grp = 'camp-7' AND status = 'evicted'"
        ).fetchall()
    finally:
        conn.close()
    return {
        "notice": sorted(m for (m,) in notices),
        "invite": sorted(m for (m,) in invites),
        "revive": sorted(m for (m,) in revivals),
    }


def _child_sql(db: str) -> dict[str, Any]:
    verdicts, cpu, wall = _timed(lambda: hand_written_sql(db))
    return {"cpu": cpu, "wall": wall, "actions": verdicts}


# -- the parent ---------------------------------------------------------------------------


def _spawn(src: str | None, *args: str) -> dict[str, Any]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE, env=env, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"child {args[0]} failed ({proc.returncode})")
    result: dict[str, Any] = json.loads(out)
    result["maxrss_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    return result


def measure(members: int, rounds: int, src: str | None, work: Path) -> dict[str, Any]:
    book = work / "book.yaml"
    book.write_text(BOOK, encoding="utf-8")
    events = work / "events.jsonl"
    events.write_text(jsonl(records(members)), encoding="utf-8")
    more = work / "more.jsonl"
    more.write_text(jsonl(more_records(members)), encoding="utf-8")
    base = work / "base.db"
    built = _spawn(src, "build", str(base), str(book), str(events))
    runs: dict[str, list[dict[str, Any]]] = {"full": [], "sql": [], "next_warm": [], "next_fresh": []}
    mismatches = 0
    for _ in range(rounds):
        db = work / "run.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        shutil.copy(base, db)
        full = _spawn(src, "run", str(db), str(book), str(more))
        runs["full"].append(full)
        runs["next_warm"].append({**full["next"], "maxrss_mb": full["maxrss_mb"]})
        runs["next_fresh"].append(_spawn(src, "next", str(db), str(book)))
        if src is not None:
            continue  # another tree's schema may lack the indexes the SQL needs: not compared
        sql = _spawn(None, "sql", str(base))
        runs["sql"].append(sql)
        for action in ("notice", "invite", "revive"):
            got, want = full["actions"].get(action, []), sql["actions"][action]
            if got != want:
                mismatches += 1
                print(f"MISMATCH {action}: groupops {len(got)}, SQL {len(want)}", file=sys.stderr)
    events_n = built["events"]

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name]) if runs[name] else math.nan

    decided = {a: len(v) for a, v in runs["full"][0]["actions"].items()}
    return {
        "members": members,
        "events": events_n,
        "more_events": sum(1 for _ in more.open(encoding="utf-8")),
        "ingest_api": {"cpu": built["cpu"], "wall": built["wall"], "events_per_s": events_n / built["wall"]},
        "decisions": decided,
        "mismatches": mismatches,
        "full": {"cpu": med("full", "cpu"), "wall": med("full", "wall"), "peak_mb": med("full", "maxrss_mb")},
        "sql": {"cpu": med("sql", "cpu"), "wall": med("sql", "wall"), "peak_mb": med("sql", "maxrss_mb")},
        "next_warm": {"cpu": med("next_warm", "cpu"), "wall": med("next_warm", "wall")},
        "next_fresh": {
            "cpu": med("next_fresh", "cpu"),
            "wall": med("next_fresh", "wall"),
            "peak_mb": med("next_fresh", "maxrss_mb"),
        },
        # per round, the counts only: the member lists were compared above
        "rounds": {name: [_counted(r) for r in rs] for name, rs in runs.items()},
    }


def _counted(measured: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in measured.items() if k not in ("actions", "next")}
    if "actions" in measured:
        out["decisions"] = {a: len(ms) for a, ms in measured["actions"].items()}
    return out


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| members | events | work | CPU s | wall s | peak MB | vs hand-written SQL (CPU)"
        " | vs full run (CPU) |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        sql, full = r["sql"]["cpu"], r["full"]["cpu"]
        for name, label in (
            ("full", "groupops full run, fresh process"),
            ("sql", "hand-written SQL (verdicts only)"),
            ("next_warm", "next run after +1 %, warm process"),
            ("next_fresh", "next run after +1 %, fresh process"),
        ):
            m = r[name]
            peak = f"{m['peak_mb']:.0f}" if "peak_mb" in m else ""
            rows.append(
                f"| {r['members']:,} | {r['events']:,} | {label} | {m['cpu']:.3f} | {m['wall']:.3f} "
                f"| {peak} | "
                f"{m['cpu'] / sql:.1f}x | {m['cpu'] / full:.3f} |"
            )
    return "\n".join(rows)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        what, *args = sys.argv[2:]
        child = {"build": _child_build, "run": _child_run, "next": _child_next, "sql": _child_sql}[what]
        print(json.dumps(child(*args)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--million", action="store_true", help="also 1,000,000 members (long, several GB)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--src", help="run groupops from this source tree instead (e.g. the main branch's src)"
    )
    parser.add_argument("--out", default=str(HERE / "results" / "run.json"))
    args = parser.parse_args()
    sizes = [*args.members, *([1_000_000] if args.million else [])]
    results = []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="groupops-run-") as work:
            print(f"{n:,} members ...", file=sys.stderr, flush=True)
            results.append(measure(n, args.rounds, args.src, Path(work)))
    print(table(results))
    bad = sum(r["mismatches"] for r in results)
    print(f"mismatches: {bad}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps(
            {
                "machine": {
                    "nproc": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                    "sqlite": sqlite3.sqlite_version,
                },
                "src": args.src,
                "results": results,
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    if bad:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
