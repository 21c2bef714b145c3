"""Issue 12 through the real CLI on SQLite: violations, limits, deadlines, capacity and
terms decided by ``groupops run``; ``groupops route`` sending newcomers and opening the
family's next group once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

import groupops as go

GROUPOPS = Path(sys.executable).parent / "groupops"

BOOK = {
    "timezone": "Asia/Shanghai",
    "locale": "zh",
    "families": [
        {
            "id": "welfare",
            "kind": "general",
            "capacity": 2,
            "name": "{city}·XX品牌福利社 {n}群",
            "vars": {"city": "杭州"},
        }
    ],
    "groups": [
        {"id": "w1", "name": "杭州·XX品牌福利社 1群", "kind": "general", "family": "welfare", "capacity": 2},
        {"id": "a1", "name": "周末活动群", "kind": "activity"},
        {
            "id": "c7",
            "name": "萌芽微创业营 第7期",
            "kind": "general",
            "capacity": 100,
            "term": {"start": "2026-03-01T00:00:00+08:00", "length": "1y"},
        },
    ],
    "policies": [
        {
            "id": "no-ads",
            "type": "violation",
            "groups": ["w1", "c7"],
            "window": "30d",
            "steps": ["warn", "final_warn", "remove"],
        },
        {
            "id": "two-groups",
            "type": "limit",
            "max": {"general": 1, "activity": 1},
            "per_family": 1,
            "action": "remove",
        },
        {
            "id": "share-on-join",
            "type": "deadline",
            "groups": ["c7"],
            "within": "24h",
            "remind": "12h",
            "when": {"count": "share", "since": "joined", "at_least": 1},
        },
        {"id": "capacity", "type": "capacity"},
        {"id": "cohorts", "type": "term"},
    ],
}

EVENTS = [
    {"id": "j1", "kind": "joined", "member": "m1", "group": "w1", "at": "2026-03-02T09:00:00+08:00"},
    {"id": "j2", "kind": "joined", "member": "m2", "group": "w1", "at": "2026-03-02T09:00:00+08:00"},
    {"id": "j3", "kind": "joined", "member": "m3", "group": "w1", "at": "2026-03-02T10:00:00+08:00"},
    {"id": "j4", "kind": "joined", "member": "m1", "group": "c7", "at": "2026-03-02T11:00:00+08:00"},
    {"id": "j5", "kind": "joined", "member": "m4", "group": "c7", "at": "2026-03-02T11:00:00+08:00"},
    {"id": "s5", "kind": "share", "member": "m4", "group": "c7", "at": "2026-03-02T12:00:00+08:00"},
    {"id": "v1", "kind": "violation", "member": "m2", "group": "w1", "at": "2026-03-02T13:00:00+08:00"},
    {"id": "v2", "kind": "violation", "member": "m2", "group": "w1", "at": "2026-03-02T14:00:00+08:00"},
    {"id": "v3", "kind": "violation", "member": "m2", "group": "w1", "at": "2026-03-02T15:00:00+08:00"},
]


def gops(*args: str | Path, cwd: Path, code: int = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GROUPOPS_LOCALE"}
    env["PYTHONUTF8"] = "1"
    proc = subprocess.run(
        [str(GROUPOPS), *map(str, args)], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


def test_run_and_route_through_the_cli_on_sqlite(tmp_path: Path) -> None:
    (tmp_path / "book.yaml").write_text(yaml.safe_dump(BOOK, allow_unicode=True), encoding="utf-8")
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in EVENTS), encoding="utf-8")
    gops("ingest", "--db", "ops.db", "--rules", "book.yaml", "events.jsonl", cwd=tmp_path)
    out = gops(
        "run",
        "--db",
        "ops.db",
        "--rules",
        "book.yaml",
        "--at",
        "2026-03-04T09:00:00+08:00",
        "--json",
        cwd=tmp_path,
    )
    made = [(d["policy"], d["action"], d["member"], d["group"]) for d in json.loads(out.stdout)["decisions"]]
    assert made == [
        ("capacity", "remove", "m3", "w1"),  # the 3rd in a group of 2
        ("two-groups", "remove", "m1", "c7"),  # a second general group
        ("no-ads", "warn", "m2", "w1"),
        ("no-ads", "final_warn", "m2", "w1"),
        ("no-ads", "remove", "m2", "w1"),
    ]
    # a rerun decides nothing more
    again = gops(
        "run",
        "--db",
        "ops.db",
        "--rules",
        "book.yaml",
        "--at",
        "2026-03-04T09:00:00+08:00",
        "--json",
        cwd=tmp_path,
    )
    assert json.loads(again.stdout)["decisions"] == []
    # m2 was removed: w1 has room for one
    routed = json.loads(
        gops(
            "route",
            "--db",
            "ops.db",
            "--rules",
            "book.yaml",
            "--member",
            "m9",
            "--family",
            "welfare",
            "--at",
            "2026-03-04T10:00:00+08:00",
            "--json",
            cwd=tmp_path,
        ).stdout
    )
    assert routed["group"] == {"id": "w1", "name": "杭州·XX品牌福利社 1群"}
    (tmp_path / "more.jsonl").write_text(
        json.dumps(
            {"id": "j9", "kind": "joined", "member": "m9", "group": "w1", "at": "2026-03-04T10:00:00+08:00"}
        )
        + "\n",
        encoding="utf-8",
    )
    gops("ingest", "--db", "ops.db", "--rules", "book.yaml", "more.jsonl", cwd=tmp_path)
    # full now: twice asked, one creation decision and one operator task
    for member in ("m10", "m11"):
        text = gops(
            "route",
            "--db",
            "ops.db",
            "--rules",
            "book.yaml",
            "--member",
            member,
            "--family",
            "welfare",
            "--at",
            "2026-03-04T11:00:00+08:00",
            cwd=tmp_path,
        ).stdout
        assert text.strip() == "该系列的群都已满，正在开第 2 个群"
    store = go.SQLiteStore(tmp_path / "ops.db")
    try:
        [created] = store.decisions(action="create_group")
        assert (created.policy, created.group) == ("capacity", "w1")
        tasks = [m for m in store.messages() if m.decision == created.id]
        assert len(tasks) == 1 and "杭州·XX品牌福利社 2群" in tasks[0].text
    finally:
        store.close()
    # a year later the cohort ends: one cohort_end, c7 closed
    out = gops(
        "run",
        "--db",
        "ops.db",
        "--rules",
        "book.yaml",
        "--at",
        "2027-03-02T09:00:00+08:00",
        "--json",
        cwd=tmp_path,
    )
    assert [(d["action"], d["group"]) for d in json.loads(out.stdout)["decisions"]] == [("cohort_end", "c7")]
    groups = json.loads(gops("groups", "--db", "ops.db", "--json", cwd=tmp_path).stdout)
    assert {g["id"]: g["status"] for g in groups} == {"a1": "open", "c7": "closed", "w1": "open"}
