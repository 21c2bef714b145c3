"""A whole run on SQLite: groupops against the same rules as hand-written SQL.

The community of ``benchmarks/_community.py`` (N members, about ten events each) is
ingested once into a SQLite store; then, interleaved, for each round:

- **full run, fresh process**: a new process opens the store and runs the reference
  workload's three rules at their notice instant (``Engine(...).run(at)``: every
  membership decided, notices and invitations recorded with their messages);
- **hand-written SQL that records**: the same queries, then in the same transaction the
  rows a run writes (a decision per verdict, the notified memberships and their history,
  a message each), without explanations: the like-for-like baseline of a whole run;
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


def _facts(engine_name: str) -> dict[str, str]:
    # the code before this change has no facts= option: sqlite runs are called as before
    return {} if engine_name == "sqlite" else {"facts": engine_name}


def _child_run(db: str, book: str, more: str | None, engine_name: str = "sqlite") -> dict[str, Any]:
    import groupops as go

    engine: Any = None

    def full() -> Any:
        nonlocal engine
        engine = go.Engine(go.load_rule_book(book), store=go.SQLiteStore(db), **_facts(engine_name))
        return engine.run(AT)

    report, cpu, wall = _timed(full)
    out: dict[str, Any] = {"cpu": cpu, "wall": wall, "actions": _actions(report.decisions)}
    if more is not None:  # the warm process: 1 % more events, then the next run
        engine.ingest(Path(more).read_text(encoding="utf-8").splitlines())
        nxt, cpu, wall = _timed(lambda: engine.run(NEXT))
        out["next"] = {"cpu": cpu, "wall": wall, "decisions": len(nxt.decisions)}
    engine.close()
    return out


def _child_next(db: str, book: str, engine_name: str = "sqlite") -> dict[str, Any]:
    import groupops as go

    def run() -> Any:
        with go.Engine(go.load_rule_book(book), store=go.SQLiteStore(db), **_facts(engine_name)) as engine:
            return engine.run(NEXT)

    report, cpu, wall = _timed(run)
    return {"cpu": cpu, "wall": wall, "decisions": len(report.decisions)}


# the three rules as SQL over the store's tables: members' joins come from their joined
# events; windows are the rule book's (no daylight saving in Asia/Shanghai)
_US = 1_000_000
_DAY = 86_400 * _US


def hand_written_sql(db: str) -> dict[str, list[str]]:
    conn = sqlite3.connect(db)
    try:
        return _verdicts_sql(conn)
    finally:
        conn.close()


def _verdicts_sql(conn: sqlite3.Connection) -> dict[str, list[str]]:
    at = int(AT.timestamp()) * _US
    period_end = at + 2 * _DAY
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
    return {
        "notice": sorted(m for (m,) in notices),
        "invite": sorted(m for (m,) in invites),
        "revive": sorted(m for (m,) in revivals),
    }


def _child_sql(db: str) -> dict[str, Any]:
    verdicts, cpu, wall = _timed(lambda: hand_written_sql(db))
    return {"cpu": cpu, "wall": wall, "actions": verdicts}


def records_sql(db: str) -> dict[str, list[str]]:
    """The three rules as hand-written SQL that also records what a run records, in one
    transaction on the store's own tables: a decision row per verdict (its columns and a
    JSON payload without an explanation), the notified memberships and their history rows,
    one outbox message per decision with its text. What a run adds beside this is the
    explanation of each decision (its reasons in the message) and the rule book's checks."""
    at = int(AT.timestamp()) * _US
    at_text = AT.isoformat()
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        found = _verdicts_sql(conn)
        conn.execute("CREATE TEMP TABLE decided (policy, action, member, grp, period)")
        for action, policy, group, period in (
            ("notice", "weekly-eviction", "camp-7", "notice-" + at_text),
            ("invite", "vip-threshold", "vip-hz", "invite-1"),
            ("revive", "comeback", "camp-7", "revival-1"),
        ):
            conn.executemany(
                "INSERT INTO temp.decided VALUES (?, ?, ?, ?, ?)",
                [(policy, action, m, group, period) for m in found[action]],
            )
        conn.execute(
            "INSERT INTO decisions (id, policy, member, grp, action, at_us, payload)"
            " SELECT lower(hex(randomblob(16))), policy, member, grp, action, :at, json_object("
            "'policy', policy, 'action', action, 'member', member, 'group', grp, 'period', period,"
            " 'at', :at_text, 'status', 'applied') FROM temp.decided",
            {"at": at, "at_text": at_text},
        )
        conn.execute(
            "UPDATE memberships SET status = 'notified', payload = json_set(payload, '$.status', 'notified')"
            " WHERE grp = 'camp-7' AND member IN (SELECT member FROM temp.decided WHERE action = 'notice')"
        )
        conn.execute(
            "INSERT INTO membership_history (member, grp, at_us, decision, payload)"
            " SELECT m.member, m.grp, :at, d.id, json_object('at', :at_text, 'membership', json(m.payload))"
            " FROM memberships m JOIN decisions d ON d.member = m.member AND d.grp = m.grp"
            " WHERE d.action = 'notice' AND d.at_us = :at",
            {"at": at, "at_text": at_text},
        )
        conn.execute(
            "INSERT INTO outbox (key, status, next_at_us, member, messenger, decision, recipient,"
            " created_us, payload)"
            " SELECT d.id || ':' || d.action || ':' || d.member, 'pending', :at, d.member, 'console', d.id,"
            " d.member, :at, json_object('decision', d.id, 'action', d.action, 'member', d.member,"
            " 'text', d.member || ', ' || CASE d.action WHEN 'notice' THEN 'you are at risk of removal'"
            " WHEN 'invite' THEN 'you are invited' ELSE 'welcome back' END)"
            " FROM decisions d WHERE d.at_us = :at",
            {"at": at},
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return found


def _child_sql_records(db: str) -> dict[str, Any]:
    verdicts, cpu, wall = _timed(lambda: records_sql(db))
    return {"cpu": cpu, "wall": wall, "actions": verdicts}


def _duck_events(db: str) -> Any:
    """The store's events and memberships copied into an in-memory DuckDB (through
    Arrow: DuckDB's SQLite reader is an extension, not in the wheel)."""
    import duckdb
    import pyarrow as pa

    conn = sqlite3.connect(db)
    duck = duckdb.connect()
    for table, columns in (
        ("events", ("member", "grp", "kind", "at_us")),
        ("memberships", ("member", "grp", "status")),
    ):
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
        arrow = pa.table({c: list(v) for c, v in zip(columns, zip(*rows, strict=True), strict=True)})
        duck.register("_arrow", arrow)
        duck.execute(f"CREATE TABLE {table} AS SELECT * FROM _arrow")
        duck.unregister("_arrow")
    conn.close()
    return duck


def hand_written_duckdb(duck: Any) -> dict[str, list[str]]:
    """The same three rules as :func:`hand_written_sql`, in DuckDB's SQL."""
    at = int(AT.timestamp()) * _US
    params = {"at": at, "day": _DAY, "end": at + 2 * _DAY}
    notices = duck.execute(
        """
        WITH camp AS (
            SELECT member, min(at_us) AS joined FROM events
            WHERE kind = 'joined' AND grp = 'camp-7' AND at_us <= $at GROUP BY member),
        facts AS (
            SELECT c.member, c.joined,
                max(e.at_us) FILTER (WHERE e.kind = 'checkin') AS last_checkin,
                count(*) FILTER (WHERE e.kind = 'violation' AND e.at_us >= $at - 30 * $day) AS violations
            FROM camp c LEFT JOIN events e ON e.member = c.member AND e.kind IN ('checkin', 'violation')
                AND (e.grp = 'camp-7' OR e.grp IS NULL) AND e.at_us <= $at
            GROUP BY c.member, c.joined)
        SELECT member FROM facts
        WHERE joined + 7 * $day <= $end
          AND (coalesce(last_checkin, -1e18) <= $at - 7 * $day OR violations >= 3)
        """,
        params,
    ).fetchall()
    invites = duck.execute(
        """
        WITH welfare AS (
            SELECT DISTINCT member FROM events WHERE kind = 'joined' AND grp = 'welfare-hz' AND at_us <= $at),
        counted AS (
            SELECT e.member,
                count(*) FILTER (WHERE e.kind = 'purchase' AND e.at_us >= $at - 365 * $day) AS purchases,
                count(*) FILTER (WHERE e.kind = 'activity') AS activities,
                count(*) FILTER (WHERE e.kind = 'redemption') AS redemptions
            FROM events e JOIN welfare w ON w.member = e.member
            WHERE e.kind IN ('purchase', 'activity', 'redemption') AND e.at_us <= $at
              AND (e.grp = 'welfare-hz' OR e.grp IS NULL)
            GROUP BY e.member)
        SELECT member FROM counted WHERE purchases > 2 OR activities >= 1 OR redemptions >= 2
        """,
        {"at": at, "day": _DAY},
    ).fetchall()
    revivals = duck.execute(
        "SELECT member FROM memberships WHERE grp = 'camp-7' AND status = 'evicted'"
    ).fetchall()
    return {
        "notice": sorted(m for (m,) in notices),
        "invite": sorted(m for (m,) in invites),
        "revive": sorted(m for (m,) in revivals),
    }


def _child_sql_duckdb(db: str) -> dict[str, Any]:
    duck, load_cpu, load_wall = _timed(lambda: _duck_events(db))
    verdicts, cpu, wall = _timed(lambda: hand_written_duckdb(duck))
    return {"cpu": cpu, "wall": wall, "load_cpu": load_cpu, "load_wall": load_wall, "actions": verdicts}


def _child_verdicts(db: str, book_path: str, engine_name: str) -> dict[str, Any]:
    """groupops' verdicts alone (no decision recorded, no explanation built): each of the
    three rules' conditions for every present membership of its groups, in one batch
    question to the facts, as a run asks them."""
    import groupops as go
    from groupops.rules._facts_api import Subject

    book = go.load_rule_book(book_path)
    store = go.SQLiteStore(db)
    source: Any = store
    load_cpu = load_wall = 0.0
    if engine_name == "duckdb":
        source, load_cpu, load_wall = _timed(lambda: go.DuckDBEvents.from_sqlite(store))
    policies = {p.id: p for p in book.policies}
    eviction = policies["weekly-eviction"]
    period = go.rules.eviction_period(eviction, AT, book.tz)

    def verdicts() -> dict[str, int]:
        facts = source.facts(tz=book.tz, profiles={m.id: m for m in store.members()})
        out = {}
        for pid, group, start in (
            ("vip-threshold", "welfare-hz", None),
            ("weekly-eviction", "camp-7", period.start if period else None),
            ("comeback", "camp-7", None),
        ):
            policy = policies[pid]
            subjects = [Subject(ms, start) for ms in store.memberships(group=group) if ms.present]
            found = facts.holding(policy.when, subjects, AT, default_scope=policy.default_scope)
            out[pid] = sum(found)
        return out

    counted, cpu, wall = _timed(verdicts)
    return {"cpu": cpu, "wall": wall, "load_cpu": load_cpu, "load_wall": load_wall, "holding": counted}


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


def measure(members: int, rounds: int, src: str | None, work: Path, engines: list[str]) -> dict[str, Any]:
    book = work / "book.yaml"
    book.write_text(BOOK, encoding="utf-8")
    events = work / "events.jsonl"
    events.write_text(jsonl(records(members)), encoding="utf-8")
    more = work / "more.jsonl"
    more.write_text(jsonl(more_records(members)), encoding="utf-8")
    base = work / "base.db"
    built = _spawn(src, "build", str(base), str(book), str(events))
    names = ["sql", "sql_records", *(["sql_duckdb"] if "duckdb" in engines else [])]
    for e in engines:
        names += [f"full_{e}", f"next_warm_{e}", f"next_fresh_{e}", f"verdicts_{e}"]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    mismatches = 0
    for _ in range(rounds):
        for engine in engines:  # interleaved: each round runs every contender once
            db = work / "run.db"
            for suffix in ("", "-wal", "-shm"):
                Path(str(db) + suffix).unlink(missing_ok=True)
            shutil.copy(base, db)
            full = _spawn(src, "run", str(db), str(book), str(more), engine)
            runs[f"full_{engine}"].append(full)
            runs[f"next_warm_{engine}"].append({**full["next"], "maxrss_mb": full["maxrss_mb"]})
            runs[f"next_fresh_{engine}"].append(_spawn(src, "next", str(db), str(book), engine))
            if src is None:
                runs[f"verdicts_{engine}"].append(_spawn(None, "verdicts", str(base), str(book), engine))
                want = hand_written_sql(str(base))
                for action in ("notice", "invite", "revive"):
                    if full["actions"].get(action, []) != want[action]:
                        mismatches += 1
                        print(f"MISMATCH {engine} {action}", file=sys.stderr)
        if src is not None:
            continue  # another tree's schema may lack the indexes the SQL needs: not compared
        sql = _spawn(None, "sql", str(base))
        runs["sql"].append(sql)
        scratch = work / "records.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(scratch) + suffix).unlink(missing_ok=True)
        shutil.copy(base, scratch)
        recorded = _spawn(None, "sql_records", str(scratch))
        runs["sql_records"].append(recorded)
        if recorded["actions"] != sql["actions"]:
            mismatches += 1
            print("MISMATCH: hand-written SQL that records found other members", file=sys.stderr)
        if "duckdb" in engines:
            duck = _spawn(None, "sql_duckdb", str(base))
            runs["sql_duckdb"].append(duck)
            if duck["actions"] != sql["actions"]:
                mismatches += 1
                print("MISMATCH: hand-written SQL on DuckDB and on SQLite differ", file=sys.stderr)
    events_n = built["events"]

    def med(name: str, key: str) -> float:
        got = [r[key] for r in runs[name] if key in r]
        return statistics.median(got) if got else math.nan

    first = runs[f"full_{engines[0]}"][0]
    decided = {a: len(v) for a, v in first["actions"].items()}
    summary: dict[str, Any] = {}
    for name in names:
        summary[name] = {
            key: med(name, src_key)
            for key, src_key in (
                ("cpu", "cpu"),
                ("wall", "wall"),
                ("peak_mb", "maxrss_mb"),
                ("load_cpu", "load_cpu"),
                ("load_wall", "load_wall"),
            )
        }
    return {
        "members": members,
        "events": events_n,
        "more_events": sum(1 for _ in more.open(encoding="utf-8")),
        "ingest_api": {"cpu": built["cpu"], "wall": built["wall"], "events_per_s": events_n / built["wall"]},
        "decisions": decided,
        "mismatches": mismatches,
        "engines": engines,
        **summary,
        # per round, the counts only: the member lists were compared above
        "rounds": {name: [_counted(r) for r in rs] for name, rs in runs.items()},
    }


def _counted(measured: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in measured.items() if k not in ("actions", "next")}
    if "actions" in measured:
        out["decisions"] = {a: len(ms) for a, ms in measured["actions"].items()}
    return out


_LABELS = {
    "full": "groupops full run, fresh process",
    "next_warm": "next run after +1 %, warm process",
    "next_fresh": "next run after +1 %, fresh process",
    "verdicts": "groupops verdicts only (3 conditions, every membership)",
}


def _row(r: dict[str, Any], ref: float, engine: str, label: str, m: dict[str, Any], full: float) -> str:
    peak = "" if math.isnan(m.get("peak_mb", math.nan)) else f"{m['peak_mb']:.0f}"
    records = r.get("sql_records", {}).get("cpu", math.nan)
    return (
        f"| {r['members']:,} | {r['events']:,} | {engine} | {label} | {m['cpu']:.3f} | {m['wall']:.3f} "
        f"| {peak} | {m['cpu'] / ref:.1f}x | {m['cpu'] / records:.1f}x | {m['cpu'] / full:.3f} |"
    )


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| members | events | engine | work | CPU s | wall s | peak MB"
        " | vs hand-written SQL, same engine (CPU) | vs hand-written SQL that records, SQLite (CPU)"
        " | vs full run (CPU) |",
        "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        refs = {"sqlite": r["sql"]["cpu"], "duckdb": r.get("sql_duckdb", {}).get("cpu", math.nan)}
        first = r[f"full_{r['engines'][0]}"]["cpu"]
        for engine in r["engines"]:
            full = r[f"full_{engine}"]["cpu"]
            for name in ("full", "next_warm", "next_fresh", "verdicts"):
                m = r[f"{name}_{engine}"]
                rows.append(_row(r, refs[engine], engine, _LABELS[name], m, full))
                if name == "verdicts" and m["load_cpu"] and not math.isnan(m["load_cpu"]):
                    loaded = {"cpu": m["load_cpu"], "wall": m["load_wall"]}
                    label = "copying the events into DuckDB (before those verdicts)"
                    rows.append(_row(r, refs[engine], engine, label, loaded, full))
        rows.append(_row(r, refs["sqlite"], "sqlite", "hand-written SQL (verdicts only)", r["sql"], first))
        label = "hand-written SQL, verdicts and records (decisions, memberships, outbox)"
        rows.append(_row(r, refs["sqlite"], "sqlite", label, r["sql_records"], first))
        if "sql_duckdb" in r:
            d = r["sql_duckdb"]
            rows.append(_row(r, refs["duckdb"], "duckdb", "hand-written SQL (verdicts only)", d, first))
            loaded = {"cpu": d["load_cpu"], "wall": d["load_wall"]}
            label = "copying the events into DuckDB (for the hand-written SQL)"
            rows.append(_row(r, refs["duckdb"], "duckdb", label, loaded, first))
    return "\n".join(rows)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        what, *args = sys.argv[2:]
        child = {
            "build": _child_build,
            "run": _child_run,
            "next": _child_next,
            "sql": _child_sql,
            "sql_records": _child_sql_records,
            "sql_duckdb": _child_sql_duckdb,
            "verdicts": _child_verdicts,
        }[what]
        print(json.dumps(child(*args)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--million", action="store_true", help="also 1,000,000 members (long, several GB)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--engine",
        nargs="+",
        choices=["sqlite", "duckdb"],
        default=["sqlite", "duckdb"],
        help="where conditions are evaluated (groupops run --engine); duckdb needs groupops[duckdb]",
    )
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
            results.append(measure(n, args.rounds, args.src, Path(work), args.engine))
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
