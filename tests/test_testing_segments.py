"""groupops.testing for segments: the strategies draw valid members, conditions and tier
policies; the invariants hold on engines running the segment kinds and catch logs that
break them."""

import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import groupops as go
from groupops.testing import (
    SEGMENT_INVARIANTS,
    check_invariants,
    handoff_at_most_once,
    invited_at_most_twice,
    one_message_per_broadcast,
    segment_conditions,
    sourced_members,
    tier_label_in_set,
    tier_policies,
)

# engine-backed properties: a few examples by default, many under HYPOTHESIS_PROFILE=long
LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
ENGINE_EXAMPLES = 300
AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@given(member=sourced_members(), cond=segment_conditions(groups=st.sampled_from(["welfare", "vip"])))
def test_strategies_draw_members_and_conditions_that_evaluate(member, cond):
    ctx = go.rules.Context(
        at=AT,
        tz=UTC,
        history=go.rules.Community(UTC, []).history(member.id),
        group="",
        member=member,
        present_in={},
    )
    e = go.rules.evaluate(cond, ctx)
    assert e.passed in (True, False)
    assert go.Member.model_validate(member.model_dump()) == member


@given(policy=tier_policies())
def test_tier_policies_round_trip_and_have_a_step_above_the_lowest(policy):
    assert go.rules.Tier.model_validate(policy.model_dump(by_alias=True)) == policy
    assert set(policy.steps) == set(policy.labels[1:])


def test_strategies_refuse_values_where_strategies_go():
    with pytest.raises(InvalidArgument, match="sources='sdr' must be a strategy"):
        sourced_members(sources="sdr").example()
    with pytest.raises(InvalidArgument, match="max_leaves=0"):
        segment_conditions(max_leaves=0).example()


def _book(tier):
    return go.RuleBook.load(
        {
            "timezone": "UTC",
            "groups": [{"id": "welfare"}, {"id": "vip", "kind": "paid"}],
            "segments": {"leads": {"any": [{"source": "sdr"}, {"referrer": "any"}]}},
            "policies": [
                tier.model_dump(by_alias=True, exclude_none=True),
                {
                    "id": "inv",
                    "type": "invite",
                    "segment": "leads",
                    "to": "vip",
                    "at": AT.isoformat(),
                    "expires": "3d",
                },
                {
                    "id": "bc",
                    "type": "broadcast",
                    "segment": ["leads", {"label": "B"}],
                    "at": AT.isoformat(),
                    "text": "hi",
                },
                {"id": "ho", "type": "handoff", "when": {"count": "payment", "at_least": 2}},
            ],
        }
    )


@settings(
    max_examples=ENGINE_EXAMPLES if LONG else 15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    tier=tier_policies(ids=st.just("tier"), event_kinds=st.just("payment")),
    members=st.lists(sourced_members(), min_size=1, max_size=5, unique_by=lambda m: m.id),
    payments=st.lists(st.integers(0, 12), min_size=5, max_size=5),
    days=st.lists(st.integers(0, 10), min_size=1, max_size=3),
)
def test_the_segment_invariants_hold_on_generated_communities(
    tmp_path_factory, tier, members, payments, days
):
    path = tmp_path_factory.mktemp("s") / "g.db"
    with go.Engine(_book(tier), store=str(path), entry_points=False) as engine:
        engine.ingest(members)
        for m, n in zip(members, payments, strict=False):
            engine.ingest(
                [
                    go.Event(id=f"{m.id}-{i}", member=m.id, kind="payment", at=AT - timedelta(hours=i + 1))
                    for i in range(n)
                ]
            )
        for day in sorted(days):
            engine.run(AT + timedelta(days=day))
        assert check_invariants(engine) == []


def _decision(policy, action, member, period, at=AT, **extra):
    return go.Decision.make(
        policy=policy, action=action, member=member, group=None, period=period, at=at, **extra
    )


def test_the_segment_invariants_catch_logs_that_break_them():
    tier = go.rules.Tier.model_validate(
        {"id": "tier", "labels": ["a", "b"], "steps": {"b": {"count": "payment", "at_least": 1}}}
    )
    book = _book(tier)
    twice = [
        _decision("bc", "broadcast", "m", AT.isoformat()),
        _decision("bc", "broadcast", "m", AT.isoformat()).model_copy(update={"id": "other"}),
    ]
    assert [v.invariant for v in one_message_per_broadcast(book, twice, [])] == [
        "one_message_per_broadcast"
    ] * 2
    early = [
        _decision("inv", "invite", "m", "invite-1"),
        _decision("inv", "invite", "m", "invite-2", AT + timedelta(days=1)),
    ]
    assert [v.message for v in invited_at_most_twice(book, early, [])] == ["invited again before 3d passed"]
    moved = [_decision("tier", "tier", "m", "a->c-1", from_role="a", to_role="c")]
    found = tier_label_in_set(book, moved, [], members=[go.Member(id="m", labels=["a", "b"])])
    assert [v.message for v in found] == [
        "moved to 'c', not one of ['a', 'b']",
        "holds ['a', 'b'] of ['a', 'b'], not ['c']",
    ]
    handed = [_decision("ho", "handoff", "m", "once"), _decision("ho", "handoff", "m", "again")]
    assert len(handoff_at_most_once(book, handed, [])) == 2
    assert len(SEGMENT_INVARIANTS) == 4
