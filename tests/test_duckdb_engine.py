"""An engine whose facts come from DuckDB (``Engine(facts="duckdb")``, ``groupops run
--engine duckdb``) decides exactly as one on the SQLite store's own facts, records in the
store, and sees events ingested after it was made. Skipped, with the reason, where the
``duckdb`` extra is not installed (CI installs it)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import groupops as go

HAS_DUCKDB = all(importlib.util.find_spec(m) is not None for m in ("duckdb", "sqlglot", "pyarrow"))
needs_duckdb = pytest.mark.skipif(
    not HAS_DUCKDB,
    reason="the duckdb extra (duckdb, sqlglot, pyarrow) is not installed: pip install 'groupops[duckdb]'",
)

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 20, 20, tzinfo=TZ)  # the notice time of the camp's weekly eviction
BOOK = """\
version: 1
timezone: Asia/Shanghai
groups:
  - {id: welfare, kind: general}
  - {id: vip, kind: paid}
  - {id: camp, kind: general}
policies:
  - id: vip-threshold
    type: admission
    from: [welfare]
    to: vip
    when:
      any:
        - {count: purchase, within: 365d, above: 2}
        - {count: activity, at_least: 1}
  - id: weekly-eviction
    type: eviction
    groups: [camp]
    schedule: "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20"
    notice: 2d
    grace: 7d
    exempt: {role: [owner, admin]}
    when:
      any:
        - {days_since: checkin, at_least: 7}
        - {count: violation, within: 30d, at_least: 3}
  - id: comeback
    type: revival
    groups: [camp]
    within: 14d
    when:
      all:
        - {count: violation, within: 30d, below: 3}
        - {count: payment, since: evicted, at_least: 1}
  - id: spend
    type: admission
    from: [camp]
    to: vip
    when: {sum: purchase, field: amount, at_least: 100}
"""


def _events(n: int, start: datetime) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    kinds = ["checkin", "violation", "purchase", "activity", "payment"]
    for i in range(n):
        m = f"m{i:03d}"
        out += [
            {"id": f"jw-{m}", "kind": "joined", "member": m, "group": "welfare", "at": start.isoformat()},
            {"id": f"jc-{m}", "kind": "joined", "member": m, "group": "camp", "at": start.isoformat()},
        ]
        for k in range(i % 7):
            kind = kinds[(i + k) % len(kinds)]
            at = start + timedelta(days=3 * k + i % 5, hours=i % 11)
            out.append(
                {
                    "id": f"{kind}-{m}-{k}",
                    "kind": kind,
                    "member": m,
                    "group": "camp" if kind in ("checkin", "violation") else None,
                    "at": at.isoformat(),
                    "data": {"amount": 40 * k},
                }
            )
    return out


def _decided(report: go.RunReport) -> list[tuple[str, str, str | None, str | None]]:
    return [
        (d.policy, d.action, d.member, d.explanation.model_dump_json() if d.explanation else None)
        for d in report.decisions
    ]


@needs_duckdb
def test_duckdb_facts_decide_as_the_store_does_and_see_later_events(tmp_path: Path):
    path = tmp_path / "book.yaml"
    path.write_text(BOOK, encoding="utf-8")
    book = go.load_rule_book(path)
    start = AT - timedelta(days=40)
    reports = {}
    for facts in ("store", "duckdb"):
        engine = go.Engine(
            book, store=go.SQLiteStore(tmp_path / f"{facts}.db"), facts=facts, entry_points=False
        )
        engine.ingest(_events(60, start))
        first = engine.run(AT)
        # events stored after the engine (and its DuckDB copy) was made are seen
        engine.ingest(
            [
                {
                    "id": f"late-{i}",
                    "kind": "checkin",
                    "member": f"m{i:03d}",
                    "group": "camp",
                    "at": AT.isoformat(),
                }
                for i in range(0, 60, 3)
            ]
        )
        later = engine.run(AT + timedelta(days=2))
        reports[facts] = (_decided(first), _decided(later))
        assert engine.store.decisions(), "decisions are recorded in the store"
        engine.close()
    assert reports["duckdb"] == reports["store"]
    first, later = reports["store"]
    assert {(policy, action) for policy, action, _, _ in first} == {
        ("vip-threshold", "invite"),
        ("weekly-eviction", "notice"),
        ("spend", "invite"),
    }
    assert {(policy, action) for policy, action, _, _ in later} >= {("weekly-eviction", "spare")}


def test_facts_must_be_store_duckdb_or_duckdb_events(tmp_path: Path):
    book = go.RuleBook.load({"timezone": "UTC", "groups": [{"id": "g"}], "policies": []})
    with pytest.raises(ValueError, match=r"facts: 'spark' is not 'store', 'duckdb' or a DuckDBEvents"):
        go.Engine(book, facts="spark", entry_points=False)
    with pytest.raises(
        ValueError, match=r"facts: 'duckdb' copies the events of a SQLite store; this store is"
    ):
        go.Engine(book, facts="duckdb", entry_points=False)


def test_without_the_extra_the_error_is_the_install_command(monkeypatch, tmp_path: Path):
    monkeypatch.setitem(sys.modules, "duckdb", None)  # import duckdb raises ImportError
    book = go.RuleBook.load({"timezone": "UTC", "groups": [{"id": "g"}], "policies": []})
    with pytest.raises(
        go.MissingExtraError, match=r"DuckDB facts needs the 'duckdb' extra: pip install 'groupops\[duckdb\]'"
    ):
        go.Engine(book, store=go.SQLiteStore(tmp_path / "g.db"), facts="duckdb", entry_points=False)


@needs_duckdb
def test_parquet_without_the_event_columns_is_refused_naming_them(tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"member": ["m1"], "at": ["2026-11-01"]}), tmp_path / "e.parquet")
    with pytest.raises(
        ValueError, match=r"columns \['id', 'grp', 'kind', 'at_us', 'value', 'data'\] are missing"
    ):
        go.DuckDBEvents.from_parquet(tmp_path / "e.parquet")


def test_the_cli_refuses_duckdb_on_a_store_that_is_not_sqlite(tmp_path: Path):
    (tmp_path / "book.yaml").write_text(BOOK, encoding="utf-8")
    proc = subprocess.run(
        [
            Path(sys.executable).parent / "groupops",
            "run",
            "--db",
            "memory:",
            "--rules",
            "book.yaml",
            "--engine",
            "duckdb",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2, proc.stderr
    assert "duckdb copies the events of a SQLite store; 'memory:' is not one" in proc.stderr


@needs_duckdb
def test_events_copied_from_a_store_path_close_the_store_they_opened(tmp_path: Path):
    store = go.SQLiteStore(tmp_path / "g.db")
    store.add_events(
        [go.Event(id="e1", kind="checkin", member="m1", group="camp", at=AT - timedelta(days=1))]
    )
    store.close()
    events = go.DuckDBEvents.from_sqlite(tmp_path / "g.db")
    facts = events.facts(tz=TZ)
    assert facts.history("m1").count("checkin", "camp", None, AT) == 1
    assert events.refresh() == 0  # nothing stored since the copy
    events.close()
    with pytest.raises(go.StoreError):
        events._source.memberships()  # the store it opened is closed with it
