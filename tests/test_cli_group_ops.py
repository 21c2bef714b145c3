"""Issue 15's kinds through the real CLI on a SQLite file: run (digest, health,
migrate), groups (size, health, open playbooks) and health."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import gops

BOOK = """\
timezone: Asia/Shanghai
groups:
  - {id: g1, name: Jobs HZ}
  - {id: d1, name: Old group}
policies:
  - id: morning-digest
    type: digest
    groups: [g1]
    schedule: "FREQ=DAILY;BYHOUR=8"
  - id: health
    type: health
    groups: [g1, d1]
    schedule: "FREQ=DAILY;BYHOUR=21"
    dormant: {distinct_speakers: message, within: 14d, below: 2}
    dead: {days_since: message, at_least: 30}
  - id: move-out
    type: migrate
    from: d1
    to: g1
    start: 2026-04-01T10:00:00+08:00
    window: 3d
"""


def _events() -> str:
    rows = [
        {"id": f"j-{m}-{g}", "kind": "joined", "member": m, "group": g, "at": "2026-02-01T10:00:00+08:00"}
        for m in ("ann", "bob", "cat")
        for g in ("g1", "d1")
    ]
    rows += [
        {"id": "m1", "kind": "message", "member": "ann", "group": "g1", "at": "2026-03-30T10:00:00+08:00"},
        {"id": "m2", "kind": "message", "member": "bob", "group": "g1", "at": "2026-03-31T10:00:00+08:00"},
        {
            "id": "q1",
            "kind": "request",
            "member": "bob",
            "group": "g1",
            "at": "2026-04-01T07:00:00+08:00",
            "data": {"type": "hiring", "text": "UI designer"},
        },
        {
            "id": "r1",
            "kind": "message",
            "member": "cat",
            "group": "d1",
            "at": "2026-04-02T10:00:00+08:00",
            "data": {"text": "1"},
        },
    ]
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_run_groups_and_health_on_sqlite(tmp_path: Path) -> None:
    (tmp_path / "book.yaml").write_text(BOOK, encoding="utf-8")
    (tmp_path / "events.jsonl").write_text(_events(), encoding="utf-8")
    gops("ingest", "--db", "ops.db", "events.jsonl", cwd=tmp_path)
    gops("run", "--db", "ops.db", "--rules", "book.yaml", "--at", "2026-03-31T09:00:00+08:00", cwd=tmp_path)
    ran = gops(
        "run",
        "--db",
        "ops.db",
        "--rules",
        "book.yaml",
        "--at",
        "2026-04-02T12:00:00+08:00",
        "--json",
        cwd=tmp_path,
    )
    made = {(d["action"], d["group"]) for d in json.loads(ran.stdout)["decisions"]}
    assert {("digest", "g1"), ("migrate_call", "d1")} <= made
    assert ("group_dead", "d1") in made  # nobody spoke in d1 since it opened, 60 days before

    listed = gops("groups", "--db", "ops.db", "--rules", "book.yaml", "--json", cwd=tmp_path)
    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    assert rows["d1"]["playbooks"] == ["move-out"] and rows["g1"]["playbooks"] == []
    assert rows["g1"]["present"] == 3 and rows["g1"]["state"] == "active"
    table = gops("groups", "--db", "ops.db", "--rules", "book.yaml", cwd=tmp_path).stdout
    assert "playbooks" in table and "move-out" in table

    gops("run", "--db", "ops.db", "--rules", "book.yaml", "--at", "2026-04-05T12:00:00+08:00", cwd=tmp_path)
    rows = {r["id"]: r for r in json.loads(gops("groups", "--db", "ops.db", "--json", cwd=tmp_path).stdout)}
    assert rows["d1"]["status"] == "dissolved" and rows["d1"]["playbooks"] == []

    health = json.loads(
        gops("health", "--db", "ops.db", "--rules", "book.yaml", "--json", cwd=tmp_path).stdout
    )
    g1 = next(r for r in health if r["group"] == "g1")
    assert (g1["speakers"], g1["members"], g1["state"]) == (2, 3, "active")
    text = gops("health", "--db", "ops.db", "--locale", "zh", cwd=tmp_path).stdout
    assert text.startswith("群健康（截至 2026-04-05 04:00，近 14 天）：")
    assert "已解散" in text or "dissolved" in text


def test_tables_align_columns_as_a_terminal_draws_them(tmp_path: Path) -> None:
    # widths as a terminal draws them: a CJK character takes two columns; an accent
    # written as a combining mark none; a family emoji joined by ZWJ is one emoji (two)
    names = {
        "hz": ("杭州福利社", 10),
        "cafe": ("Cafe\u0301 club", 9),
        "fam": ("家庭\U0001f468\u200d\U0001f469\u200d\U0001f467群", 8),
        "plain": ("Plain", 5),
    }
    groups = "".join(
        f"  - {{id: {gid}, name: {json.dumps(name, ensure_ascii=False)}}}\n"
        for gid, (name, _) in names.items()
    )
    (tmp_path / "book.yaml").write_text(f"timezone: Asia/Shanghai\ngroups:\n{groups}", encoding="utf-8")
    joined = {"id": "j1", "kind": "joined", "member": "m1", "group": "hz", "at": "2026-02-01T10:00:00+08:00"}
    (tmp_path / "events.jsonl").write_text(json.dumps(joined) + "\n", encoding="utf-8")
    gops("ingest", "--db", "ops.db", "events.jsonl", cwd=tmp_path)
    gops("run", "--db", "ops.db", "--rules", "book.yaml", "--at", "2026-02-02T10:00:00+08:00", cwd=tmp_path)
    widest = max(width for _, width in names.values())
    # the headers: id, name, kind; 编号 and 群名 take four columns each
    for locale, (h_id, w_id), (h_name, w_name), h_kind in (
        ("en", ("id", 2), ("name", 4), "kind"),
        ("zh", ("编号", 4), ("群名", 4), "类型"),
    ):
        lines = gops("groups", "--db", "ops.db", "--rules", "book.yaml", "--locale", locale, cwd=tmp_path)
        header, *rows = lines.stdout.splitlines()
        assert header.startswith(f"{h_id}{' ' * (5 - w_id)}  {h_name}{' ' * (widest - w_name)}  {h_kind}")
        assert len(rows) == len(names)
        for row in rows:
            gid = row.split(" ", 1)[0]
            name, width = names[gid]
            assert row.startswith(f"{gid:<5}  {name}{' ' * (widest - width)}  general"), row
