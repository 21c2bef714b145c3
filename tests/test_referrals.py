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


# -- referral_reward -----------------------------------------------------------------------------

from datetime import datetime, timedelta  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, tzinfo=TZ)
INVITE_THREE = {
    "id": "invite-three",
    "type": "referral_reward",
    "when": {"referees": {"all": [{"member_of": "w1"}, {"tenure": "joined", "at_least": 7}]}, "at_least": 3},
    "reward": {"points": 100},
}
POINTS = {"id": "points", "type": "points", "earn": {"checkin": 1}, "redeem": "redemption"}


def reward_book(*policies: dict[str, object], **extra: object) -> go.RuleBook:
    return go.RuleBook.load(
        {
            "timezone": "Asia/Shanghai",
            "groups": [{"id": "w1"}],
            "policies": list(policies) or [INVITE_THREE, POINTS],
            **extra,
        }
    )


def join(member: str, day: float, group: str = "w1") -> dict[str, object]:
    return {
        "id": f"j-{member}-{day}",
        "kind": "joined",
        "member": member,
        "group": group,
        "at": (T0 + timedelta(days=day)).isoformat(),
    }


def leave(member: str, day: float) -> dict[str, object]:
    return {
        "id": f"l-{member}-{day}",
        "kind": "left",
        "member": member,
        "group": "w1",
        "at": (T0 + timedelta(days=day)).isoformat(),
    }


def referred(*ids: str, by: str = "ann") -> list[dict[str, object]]:
    return [{"id": by, "name": "Ann"}] + [{"id": r, "referrer": by} for r in ids]


def test_three_referees_where_one_leaves_before_seven_days_earn_no_reward_until_a_third_stays(
    tmp_path: Path,
) -> None:
    with go.Engine(reward_book(), store=go.SQLiteStore(tmp_path / "g.db"), entry_points=False) as engine:
        engine.ingest(
            [
                *referred("b", "c", "d"),
                join("ann", 0),
                join("b", 0),
                join("c", 0),
                join("d", 0),
                leave("d", 5),
            ]
        )
        assert engine.run(T0 + timedelta(days=8)).decisions == ()  # d left before 7 days
        engine.ingest([{"id": "e", "referrer": "ann"}, join("e", 8)])
        assert engine.run(T0 + timedelta(days=14)).decisions == ()  # e: 6 days so far
        (reward,) = engine.run(T0 + timedelta(days=15)).decisions
        assert (reward.action, reward.member, reward.group) == ("reward", "ann", None)
        assert reward.reasons() == "3 referees qualify (b, c, e); needs at least 3 referees"
        assert engine.balance("ann") == 100
        (entry,) = engine.ledger("ann")
        assert (entry.cause, entry.cause_type, entry.policy) == (reward.id, "decision", "invite-three")
        (msg,) = engine.store.messages(decision=reward.id)
        assert (
            msg.text
            == "Ann, thank you for bringing friends who stayed (3 referees qualify (b, c, e); needs at least 3 referees): 100 points."
        )


def test_a_fourth_referee_after_the_reward_adds_nothing_and_a_rerun_pays_nothing() -> None:
    with go.Engine(reward_book(), entry_points=False) as engine:
        engine.ingest([*referred("b", "c", "d"), join("b", 0), join("c", 0), join("d", 0)])
        assert [d.action for d in engine.run(T0 + timedelta(days=7)).decisions] == ["reward"]
        engine.ingest([{"id": "e", "referrer": "ann"}, join("e", 7)])
        assert engine.run(T0 + timedelta(days=7)).decisions == ()
        assert engine.run(T0 + timedelta(days=30)).decisions == ()
        assert engine.balance("ann") == 100 and len(engine.decisions(action="reward")) == 1


def test_a_text_reward_names_the_prize_and_enters_no_points() -> None:
    prize = {**INVITE_THREE, "reward": {"text": "一本签名书"}}
    with go.Engine(reward_book(prize, POINTS, locale="zh"), entry_points=False) as engine:
        engine.ingest([*referred("b", "c", "d"), join("b", 0), join("c", 0), join("d", 0)])
        (reward,) = engine.run(T0 + timedelta(days=7)).decisions
        (msg,) = engine.store.messages(decision=reward.id)
        assert (
            msg.text
            == "Ann，感谢您邀请的好友留了下来（合格的被推荐人 3 人：b、c、d（要求至少 3 人））：一本签名书。"
        )
        assert engine.ledger() == []


def test_referral_events_name_referees_too() -> None:
    with go.Engine(reward_book(), entry_points=False) as engine:
        events = [
            {
                "id": f"r-{x}",
                "kind": "referral",
                "member": "ann",
                "at": T0.isoformat(),
                "data": {"referee": x},
            }
            for x in ("b", "c", "d")
        ]
        engine.ingest([*events, join("b", 0), join("c", 0), join("d", 0)])
        (reward,) = engine.run(T0 + timedelta(days=7)).decisions
        assert reward.member == "ann"


def test_a_reward_needs_points_or_text() -> None:
    with pytest.raises(go.RuleError, match="give exactly one of 'points'"):
        reward_book({**INVITE_THREE, "reward": {}})


@given(
    referees=st.lists(st.tuples(st.integers(0, 20), st.one_of(st.none(), st.integers(0, 25))), max_size=8),
    runs=st.lists(st.integers(0, 30), min_size=1, max_size=4),
)
@settings(deadline=None)
def test_each_reward_is_paid_at_most_once_and_only_when_three_referees_stayed_seven_days(
    referees, runs
) -> None:
    with go.Engine(reward_book(), entry_points=False) as engine:
        records: list[dict[str, object]] = [{"id": "ann"}]
        for i, (joined_day, left_day) in enumerate(referees):
            records += [{"id": f"r{i}", "referrer": "ann"}, join(f"r{i}", joined_day)]
            if left_day is not None and left_day > joined_day:
                records.append(leave(f"r{i}", left_day))
        engine.ingest(records)
        for day in sorted(runs):
            for d in engine.run(T0 + timedelta(days=day)).decisions:
                at_day = (d.at - T0) / timedelta(days=1)
                stayed = sum(
                    1 for j, gone in referees if j + 7 <= at_day and (gone is None or gone <= j or gone > day)
                )
                assert stayed >= 3
        assert len(engine.decisions(action="reward")) <= 1
        assert engine.balance("ann") == 100 * len(engine.decisions(action="reward"))


# -- the tree and the S = m·2ⁿ plan --------------------------------------------------------------


def test_the_tree_gives_sizes_per_generation_depth_and_conversion_beside_the_plan() -> None:
    # two seeds; s1 brings a, b; s2 brings c; a brings d, e; d brings f; x is in no tree
    profiles = [go.Member(id=i) for i in ("s1", "s2", "x")] + [
        go.Member(id=m, referrer=r)
        for m, r in [("a", "s1"), ("b", "s1"), ("c", "s2"), ("d", "a"), ("e", "a"), ("f", "d")]
    ]
    tree = go.referral_tree(profiles)
    assert (tree.seeds, tree.depth, tree.members) == (2, 3, 8)
    assert [(g.generation, g.size, g.referrers, g.planned) for g in tree.generations] == [
        (0, 2, 2, 2),
        (1, 3, 1, 4),
        (2, 2, 1, 8),
        (3, 1, 0, 16),
    ]
    assert [round(g.conversion, 3) for g in tree.generations] == [1.0, 0.333, 0.5, 0.0]
    assert (tree.planned, tree.planned_members) == (16, 30)  # S = m·2ⁿ = 2·2³; the plan's whole tree
    assert tree.generation_of["f"] == 3 and "x" not in tree.generation_of


def test_a_referral_event_adds_an_edge_unless_a_profile_names_the_referrer_or_it_closes_a_cycle() -> None:
    def referral(id: str, by: str, referee: str) -> go.Event:
        return go.Event(id=id, kind="referral", member=by, at=T0, data={"referee": referee})

    profiles = [go.Member(id="a"), go.Member(id="b", referrer="a")]
    events = [
        referral("e1", "c", "b"),
        referral("e2", "b", "c"),
        referral("e3", "c", "a"),
        referral("e4", "a", "a"),
    ]
    edges = go.referral_tree(profiles, events).generation_of
    assert edges == {
        "a": 0,
        "b": 1,
        "c": 2,
    }  # b's profile wins over e1; e3 would close a cycle; e4 names a itself


def test_an_empty_community_has_an_empty_tree() -> None:
    tree = go.referral_tree([go.Member(id="a")])
    assert (tree.seeds, tree.depth, tree.generations, tree.planned) == (0, 0, (), 0)


def test_explain_shows_what_a_reward_needs_and_that_it_was_paid() -> None:
    with go.Engine(reward_book(), entry_points=False) as engine:
        engine.ingest([*referred("b", "c"), join("b", 0), join("c", 0)])
        before = engine.explain("ann", "w1", "invite-three", T0 + timedelta(days=8))
        assert before.sections[0].title == "to be rewarded" and not before.sections[0].explanation.passed
        assert before.notes == ()
        engine.ingest([{"id": "d", "referrer": "ann"}, join("d", 0)])
        engine.run(T0 + timedelta(days=8))
        after = engine.explain("ann", "w1", "invite-three", T0 + timedelta(days=9))
        assert (
            after.sections[0].explanation.summary()
            == "3 referees qualify (b, c, d); needs at least 3 referees"
        )
        assert [n.text("zh") for n in after.notes] == ["已于 2026-11-10 09:00 获得奖励：每位成员只奖励一次"]
