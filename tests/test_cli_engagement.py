"""The engagement economy through the real CLI on a SQLite file: a referrer cycle rejected
at ingest, a run that rewards a referrer and grants or refuses redemptions, `groupops
points` and `groupops referrals` (text and JSON, en and zh)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import cli, gops

from groupops import SQLiteStore

BOOK = """\
timezone: Asia/Shanghai
groups:
  - {id: w1, name: 福利社}
policies:
  - id: invite-three
    type: referral_reward
    when: {referees: {all: [{member_of: w1}, {tenure: joined, at_least: 7}]}, at_least: 3}
    reward: {points: 100}
  - id: points
    type: points
    earn: {checkin: 1, share: 5}
    redeem: redemption
"""


def _records() -> list[dict[str, object]]:
    members: list[dict[str, object]] = [{"id": "ann", "name": "Ann"}, {"id": "s2"}]
    members += [{"id": x, "referrer": "ann"} for x in ("b", "c", "d")] + [{"id": "e", "referrer": "b"}]
    joins = [
        {"id": f"j-{x}", "kind": "joined", "member": x, "group": "w1", "at": "2026-11-01T09:00:00+08:00"}
        for x in ("ann", "b", "c", "d", "e")
    ]
    shares = [
        {"id": f"s{i}", "kind": "share", "member": "b", "group": "w1", "at": f"2026-11-02T0{i}:00:00+08:00"}
        for i in range(3)
    ]
    asks = [
        {"id": "r1", "kind": "redemption", "member": "b", "at": "2026-11-03T09:00:00+08:00", "value": 10},
        {"id": "r2", "kind": "redemption", "member": "b", "at": "2026-11-04T09:00:00+08:00", "value": 50},
    ]
    return members + joins + shares + asks


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # one store for the module: the tests only read it (a rejected ingest, a rerun that
    # decides nothing), so each pays for no subprocess of its own set-up
    tmp_path = tmp_path_factory.mktemp("engagement")
    (tmp_path / "book.yaml").write_text(BOOK, encoding="utf-8")
    lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in _records())
    (tmp_path / "data.jsonl").write_text(lines + "\n", encoding="utf-8")
    gops("ingest", "--db", "g.db", "--rules", "book.yaml", "data.jsonl", cwd=tmp_path)
    gops("run", "--db", "g.db", "--rules", "book.yaml", "--at", "2026-11-10T09:00:00+08:00", cwd=tmp_path)
    return tmp_path


def test_a_referrer_cycle_is_rejected_at_ingest_through_the_cli(home: Path) -> None:
    (home / "cycle.jsonl").write_text('{"id": "ann", "referrer": "e"}\n', encoding="utf-8")
    proc = gops("ingest", "--db", "g.db", "cycle.jsonl", "--json", cwd=home, ok=False)
    report = json.loads(proc.stdout)
    (rejected,) = report["rejects"]
    assert (rejected["file"], rejected["line"]) == ("cycle.jsonl", 1)
    assert rejected["problems"] == [
        "referrer: 'e' would make a cycle of referrers: 'ann' → 'e' → 'b' → 'ann' "
        "(a member cannot be referred, directly or not, by someone they referred)"
    ]


def test_points_lists_balances_and_a_members_ledger(home: Path) -> None:
    balances = json.loads(gops("points", "--db", "g.db", "--json", cwd=home).stdout)
    assert balances == [
        {"member": "ann", "balance": 100.0, "entries": 1},
        {"member": "b", "balance": 5.0, "entries": 4},
    ]
    zh = gops("points", "--db", "g.db", "--member", "b", "--locale", "zh", cwd=home).stdout
    assert "b 的余额：5" in zh and "兑换" in zh and "r1" in zh and "-10" in zh and "r2" not in zh


def test_referrals_prints_the_tree_beside_the_plan(home: Path) -> None:
    text = gops("referrals", "--db", "g.db", cwd=home).stdout
    assert "seeds m = 1; depth n = 2; S = m·2ⁿ = 4; members in the tree: 5 (the plan's whole tree: 7)" in text
    doc = json.loads(gops("referrals", "--db", "g.db", "--json", cwd=home).stdout)
    assert [(g["generation"], g["size"], g["referrers"], g["planned"]) for g in doc["generations"]] == [
        (0, 1, 1, 1),
        (1, 3, 1, 2),
        (2, 1, 0, 4),
    ]


def test_an_empty_store_says_so(tmp_path: Path) -> None:
    (tmp_path / "m.jsonl").write_text('{"id": "x"}\n', encoding="utf-8")
    gops("ingest", "--db", "e.db", "m.jsonl", cwd=tmp_path)
    assert "No referrals in e.db" in gops("referrals", "--db", "e.db", cwd=tmp_path).stdout
    assert "No points entries in e.db" in gops("points", "--db", "e.db", cwd=tmp_path).stdout


def test_referrals_reads_referral_events_without_replaying_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [{"id": "ann"}, {"id": "bo"}, {"id": "cy", "referrer": "ann"}]
    at = "2026-11-01T09:00:00+08:00"
    records += [{"id": "r1", "kind": "referral", "member": "ann", "at": at, "data": {"referee": "bo"}}]
    (tmp_path / "r.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    cli("ingest", "--db", "r.db", "r.jsonl", cwd=tmp_path)

    def replay(self: SQLiteStore, seq: int) -> None:
        raise AssertionError("every stored event replayed into memory")

    monkeypatch.setattr(SQLiteStore, "events_after", replay)
    doc = json.loads(cli("referrals", "--db", "r.db", "--json", cwd=tmp_path).stdout)
    # bo counts through the referral event (ann referred bo), cy through the profile
    assert [(g["generation"], g["size"], g["referrers"]) for g in doc["generations"]] == [
        (0, 1, 1),
        (1, 2, 0),
    ]
