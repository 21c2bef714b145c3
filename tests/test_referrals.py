"""Referrals: the tree of referrers, cycles refused at ingest, rewards for referees who
stay, and the tree's shape beside the S = m·2ⁿ plan."""

from __future__ import annotations

from pathlib import Path

import groupops as go

BOOK = go.RuleBook.load({"timezone": "Asia/Shanghai", "groups": [{"id": "w1"}], "policies": []})


def test_a_cycle_of_referrers_is_rejected_at_ingest_naming_its_members(tmp_path: Path) -> None:
    with go.Engine(BOOK, store=go.SQLiteStore(tmp_path / "g.db"), entry_points=False) as engine:
        first = engine.ingest([{"id": "a", "referrer": "b"}, {"id": "c", "referrer": "a"}])
        assert first.members == 2 and first.rejected == ()
        report = engine.ingest([{"id": "d"}, {"id": "b", "referrer": "c"}])
        assert report.members == 1  # d goes through
        (rejected,) = report.rejected
        assert rejected.index == 1 and rejected.record == {"id": "b", "referrer": "c"}
        assert rejected.problems == (
            "referrer: 'c' would make a cycle of referrers: 'b' → 'c' → 'a' → 'b' "
            "(a member cannot be referred, directly or not, by someone they referred)",
        )
        assert engine.store.get_member("b") is None


def test_a_cycle_inside_one_batch_rejects_the_profile_that_closes_it() -> None:
    with go.Engine(BOOK, entry_points=False) as engine:
        report = engine.ingest(
            [{"id": "a", "referrer": "b"}, {"id": "b", "referrer": "a"}, {"id": "z", "referrer": "z"}]
        )
        assert report.members == 1
        assert [r.index for r in report.rejected] == [1, 2]
        assert "'b' → 'a' → 'b'" in report.rejected[0].problems[0]
        assert "'z' → 'z'" in report.rejected[1].problems[0]
        assert engine.store.get_member("a") == go.Member(id="a", referrer="b")


def test_a_profile_may_change_its_referrer_when_that_closes_no_cycle() -> None:
    with go.Engine(BOOK, entry_points=False) as engine:
        engine.ingest([{"id": "a", "referrer": "b"}, {"id": "b"}])
        report = engine.ingest([{"id": "a"}, {"id": "b", "referrer": "a"}])  # a no longer names b
        assert report.rejected == () and report.members == 2
