"""groupops.testing for the engagement economy: the strategies make what they promise
(forests, not cycles; unique ids), the invariants hold over generated histories and
catch what they are about when it is broken."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import groupops as go
from groupops.testing import (
    ENGAGEMENT_INVARIANTS,
    INVARIANTS,
    ballots,
    check_invariants,
    ledger_is_consistent,
    points_activity,
    referral_forests,
    rewards_paid_once,
    vote_winners_are_top_n,
)

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 1, tzinfo=TZ)
END = datetime(2026, 11, 30, 20, tzinfo=TZ)
PEOPLE = ["a", "b", "c", "d", "e"]
BOOK = go.RuleBook.load(
    {
        "timezone": "Asia/Shanghai",
        "groups": [{"id": "w1"}],
        "policies": [
            {"id": "points", "type": "points", "earn": {"checkin": 1, "share": 5}, "redeem": "redemption"},
            {
                "id": "invite-two",
                "type": "referral_reward",
                "when": {"referees": {"member_of": "w1"}, "at_least": 2},
                "reward": {"points": 10},
            },
            {
                "id": "stars",
                "type": "vote",
                "groups": ["w1"],
                "schedule": "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=20",
                "start": "2026-11-01T00:00:00+08:00",
                "winners": 2,
            },
        ],
    }
)
november = st.integers(0, 29 * 24 * 60).map(lambda m: T0 + timedelta(minutes=m))


@given(forest=referral_forests(ids=st.sampled_from([f"m{i}" for i in range(30)]), max_size=12))
def test_referral_forests_are_accepted_whole_by_ingest(forest) -> None:
    with go.Engine(BOOK, entry_points=False) as engine:
        report = engine.ingest(forest)
        assert report.rejected == () and report.members == len(forest)
        tree = engine.referral_tree()
        assert sum(g.size for g in tree.generations) == tree.members


@given(
    forest=referral_forests(ids=st.sampled_from(PEOPLE), max_size=5),
    activity=points_activity(members=st.sampled_from(PEOPLE), times=november, group="w1", max_size=20),
    votes=ballots(
        voters=st.sampled_from(PEOPLE),
        candidates=st.sampled_from(PEOPLE),
        group="w1",
        times=november,
        max_size=15,
    ),
    runs=st.lists(st.integers(1, 30), min_size=1, max_size=3),
)
@settings(deadline=None)
def test_the_engagement_invariants_hold_over_generated_months(forest, activity, votes, runs) -> None:
    with go.Engine(BOOK, entry_points=False) as engine:
        engine.ingest(forest)
        engine.ingest(
            [{"id": f"j-{p}", "kind": "joined", "member": p, "group": "w1", "at": T0} for p in PEOPLE]
        )
        engine.ingest(activity + votes)
        for day in sorted(runs):
            engine.run(T0 + timedelta(days=day, hours=21))
        assert ledger_is_consistent(engine) == []
        assert check_invariants(engine, invariants=[*INVARIANTS, *ENGAGEMENT_INVARIANTS]) == []


def test_the_invariants_catch_a_second_reward_a_wrong_winner_and_an_overdrawn_ledger() -> None:
    with go.Engine(BOOK, entry_points=False) as engine:
        engine.ingest([{"id": "a"}, {"id": "b", "referrer": "a"}, {"id": "c", "referrer": "a"}])
        engine.ingest(
            [{"id": f"j-{p}", "kind": "joined", "member": p, "group": "w1", "at": T0} for p in PEOPLE]
        )
        engine.ingest(
            [
                {"id": "v1", "kind": "vote", "member": "a", "group": "w1", "at": END, "data": {"for": "b"}},
                {"id": "v2", "kind": "vote", "member": "c", "group": "w1", "at": END, "data": {"for": "d"}},
            ]
        )
        made = engine.run(END).decisions
        decisions = engine.store.decisions()
        memberships = engine.store.memberships()
        events = [e for _, e in engine.store.events_after(0)]
        assert rewards_paid_once(BOOK, decisions, memberships, events=events) == []
        assert vote_winners_are_top_n(BOOK, decisions, memberships, events=events) == []
        (reward,) = [d for d in made if d.action == "reward"]
        again = reward.model_copy(update={"id": "another", "period": "again"})
        (twice,) = rewards_paid_once(BOOK, [*decisions, again], memberships, events=events)
        assert "a second reward" in twice.message
        wrong = [
            d.model_copy(update={"member": "e"}) if d.action == "award" and d.rank == 1 else d
            for d in decisions
        ]
        (mismatch,) = vote_winners_are_top_n(BOOK, wrong, memberships, events=events)
        assert "the ballots give" in mismatch.message
        engine.store.add_entries(
            [
                go.LedgerEntry.make(
                    member="e",
                    at=T0,
                    points=-5,
                    kind="redeem",
                    cause="forged",
                    cause_type="event",
                    policy="points",
                )
            ]
        )
        (overdrawn,) = ledger_is_consistent(engine)
        assert overdrawn.member == "e" and "balance -5.0" in overdrawn.message


def test_the_strategies_refuse_impossible_requests() -> None:
    with pytest.raises(InvalidArgument, match="max_value=0"):
        points_activity(members=st.just("a"), times=november, max_value=0).example()
    with pytest.raises(InvalidArgument, match="min_size=3 is more than max_size=1"):
        referral_forests(min_size=3, max_size=1).example()
    with pytest.raises(InvalidArgument, match="must be a strategy"):
        ballots(voters="a", candidates=st.just("b"), group="w1", times=november).example()  # type: ignore[arg-type]


def test_the_example_in_docs_testing_md_runs() -> None:
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "testing.md").read_text(encoding="utf-8")
    section = page[page.index("### The engagement economy") : page.index("## pytest fixtures")]
    (block,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    namespace: dict[str, object] = {}
    exec(compile(block, "testing.md", "exec"), namespace)
    namespace["test_my_points_and_votes"]()  # type: ignore[operator]


ENGAGEMENT_TYPES = ["points", "referral_reward", "vote", "duty"]


@given(data=st.data())
@settings(deadline=None, max_examples=max(10, settings.default.max_examples // 4))  # engine runs: a quarter
def test_the_engagement_kinds_keep_their_laws_over_generated_books_and_histories(data) -> None:
    import dataclasses

    from groupops.testing import histories, replay, rule_books

    book = data.draw(rule_books(policy_types=ENGAGEMENT_TYPES, min_policies=1, max_policies=4))
    timeline = data.draw(histories(book=book, max_members=5, max_events=30, max_days=40, max_runs=4))
    forest = data.draw(referral_forests(ids=st.sampled_from([m.id for m in timeline.members]), max_size=5))
    referrer = {m.id: m.referrer for m in forest}
    members = tuple(m.model_copy(update={"referrer": referrer.get(m.id)}) for m in timeline.members)
    # what histories() does not make: ballots and redemptions, within the timeline
    ids = st.sampled_from([m.id for m in members])
    span = st.integers(0, int((timeline.end - timeline.start).total_seconds() // 60))
    times = span.map(lambda minutes: timeline.start + timedelta(minutes=minutes))
    extra = data.draw(ballots(voters=ids, candidates=ids, group=book.groups[0].id, times=times, max_size=10))
    extra += data.draw(points_activity(members=ids, times=times, earn=(), max_size=5))
    with go.Engine(book, entry_points=False) as engine:
        engine.ingest(extra)
        replay(dataclasses.replace(timeline, members=members), engine)
        assert ledger_is_consistent(engine) == []
        assert check_invariants(engine, invariants=[*INVARIANTS, *ENGAGEMENT_INVARIANTS]) == []
