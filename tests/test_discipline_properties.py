"""Issue 12's laws over any sequence of joins and leaves: limits and capacity hold once a
run has acted, a removed member is never revived, and every decision is made once however
the runs are split in time. The ci profile runs 100 examples each; ``long`` 2,000."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

import groupops as go
from groupops.testing import (
    INVARIANTS,
    MEMBERSHIP_INVARIANTS,
    check_invariants,
    joins_and_leaves,
    within_capacity,
    within_limits,
)

CST = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, tzinfo=CST)
MEMBERS = ("m1", "m2", "m3", "m4")
GROUPS = ("w1", "w2", "a1", "a2")

BOOK = go.RuleBook.load(
    {
        "timezone": "Asia/Shanghai",
        "families": [{"id": "welfare", "capacity": 2, "name": "福利社 {n}群"}],
        "groups": [
            {"id": "w1", "family": "welfare", "capacity": 2},
            {"id": "w2", "family": "welfare", "capacity": 2},
            {"id": "a1", "kind": "activity", "capacity": 3},
            {"id": "a2", "kind": "activity"},
        ],
        "policies": [
            {"id": "two-groups", "type": "limit", "max": {"general": 1, "activity": 1}, "per_family": 1},
            {"id": "capacity", "type": "capacity"},
            {"id": "no-ads", "type": "violation", "groups": ["w1", "w2"], "window": "1d"},
            {
                "id": "back",
                "type": "revival",
                "groups": ["w1", "w2", "a1", "a2"],
                "within": "30d",
                "when": {"count": "payment", "at_least": 0},
            },
        ],
    }
)

HISTORIES = joins_and_leaves(
    members=MEMBERS, groups=GROUPS, start=T0, max_size=16, max_gap=timedelta(hours=2)
)


def _offences(events):
    """A violation by whoever joined, an hour after each join (some after they left)."""
    return [
        go.Event(
            id=f"v-{e.id}", kind="violation", member=e.member, group=e.group, at=e.at + timedelta(hours=1)
        )
        for e in events
        if e.kind == "joined"
    ]


def _end(events):
    return max((e.at for e in events), default=T0) + timedelta(days=2)


@given(HISTORIES)
def test_after_any_joins_and_leaves_no_member_is_over_a_limit_and_no_group_over_capacity(events):
    with go.Engine(BOOK, entry_points=False) as engine:
        engine.ingest([*events, *_offences(events)])
        engine.run(_end(events))
        found = check_invariants(engine, invariants=(*INVARIANTS, *MEMBERSHIP_INVARIANTS))
    assert not found, "\n".join(map(str, found))


@given(HISTORIES, st.data())
def test_every_decision_is_made_once_however_the_runs_are_split_in_time(events, data):
    everything = [*events, *_offences(events)]
    instants = sorted({e.at for e in everything})
    cuts = data.draw(st.lists(st.sampled_from(instants), max_size=4, unique=True)) if instants else []
    with go.Engine(BOOK, entry_points=False) as once:
        once.ingest(everything)
        single = once.run(_end(events)).decisions
    with go.Engine(BOOK, entry_points=False) as split:
        split.ingest(everything)
        made = [d for at in sorted(cuts) for d in split.run(at).decisions]
        made += split.run(_end(events)).decisions
        assert not split.run(_end(events)).decisions
    assert sorted((d.id, d.at) for d in made) == sorted((d.id, d.at) for d in single)
    assert len({d.id for d in made}) == len(made)


@given(HISTORIES, st.data())
def test_the_same_laws_hold_when_events_arrive_between_runs(events, data):
    everything = sorted([*events, *_offences(events)], key=lambda e: e.at)
    with go.Engine(BOOK, entry_points=False) as engine:
        for i, e in enumerate(everything):
            engine.ingest([e])
            if data.draw(st.booleans(), label=f"run after {i}"):
                engine.run(e.at)
        engine.run(_end(events))
        store = engine.store
        found = [
            *within_limits(BOOK, store.decisions(), store.memberships()),
            *within_capacity(BOOK, store.decisions(), store.memberships()),
        ]
    assert not found, "\n".join(map(str, found))


def test_the_invariants_find_a_breach_where_there_is_one():
    over = [go.Membership(member="m1", group=g, joined_at=T0) for g in ("w1", "w2", "a1")]
    crowd = [go.Membership(member=m, group="w1", joined_at=T0) for m in ("m2", "m3")]
    assert [v.invariant for v in within_limits(BOOK, [], over)] == ["within_limits", "within_limits"]
    assert [v.group for v in within_capacity(BOOK, [], [*over, *crowd])] == ["w1"]


@given(HISTORIES)
def test_the_decisions_are_the_laws_own_actions(events):
    """Only the four policies' own actions are decided: a route has a target with room."""
    with go.Engine(BOOK, entry_points=False) as engine:
        engine.ingest([*events, *_offences(events)])
        made = engine.run(_end(events)).decisions
    for d in made:
        assert (d.policy, d.action) in {
            ("two-groups", "remove"),
            ("capacity", "route"),
            ("capacity", "remove"),
            ("no-ads", "warn"),
            ("no-ads", "final_warn"),
            ("no-ads", "remove"),
        }, d
        if d.action == "route":
            assert d.target_group in ("w1", "w2") and d.target_group != d.group


def test_joins_and_leaves_refuses_impossible_requests():
    import pytest
    from hypothesis.errors import InvalidArgument

    with pytest.raises(InvalidArgument):
        joins_and_leaves(members=(), groups=GROUPS, start=T0).example()
    with pytest.raises(InvalidArgument):
        joins_and_leaves(members=MEMBERS, groups=GROUPS, start=T0.replace(tzinfo=None)).example()
