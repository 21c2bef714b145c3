"""The health kind (issue 15): group facts per window, a score and its trend, and
dormant / dead / active decisions once per change of state."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

import groupops as go
from groupops.testing import RecordingMessenger

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 5, 1, 21, tzinfo=TZ)  # a check time


def _book(locale="en", **policy):
    return go.RuleBook.load(
        {
            "timezone": "Asia/Shanghai",
            "locale": locale,
            "groups": [
                {"id": "g1", "name": "Group one", "operators": ["op1"]},
                {"id": "g2", "name": "Group two"},
            ],
            "policies": [
                {
                    "id": "health",
                    "type": "health",
                    "groups": ["g1", "g2"],
                    "schedule": "FREQ=DAILY;BYHOUR=21",
                    "dormant": {"distinct_speakers": "message", "within": "14d", "below": 3},
                    "dead": {"days_since": "message", "at_least": 30},
                    **policy,
                }
            ],
        }
    )


def _msg(i, member, group, at, **data):
    return go.Event(id=f"m{i}", kind="message", member=member, group=group, at=at, data=data)


def _joins(members, group="g1", at=T0 - timedelta(days=60)):
    return [go.Event(id=f"j-{m}-{group}", kind="joined", member=m, group=group, at=at) for m in members]


def _states(made, group="g1"):
    return [(d.action, d.at) for d in made if d.group == group]


def test_a_group_dormant_and_back_within_one_window_gives_one_decision_of_each():
    engine = go.Engine(_book(), entry_points=False)
    engine.run(T0 - timedelta(hours=1))
    talk = [
        _msg(i, m, "g1", T0 - timedelta(days=d))
        for i, (m, d) in enumerate(zip("abcd", (13, 12, 5, 4), strict=True))
    ]
    engine.ingest([*_joins("abcdefghij"), *talk, *(_msg(9, "z", "g2", T0 - timedelta(days=1)),)])
    made = list(engine.run(T0).decisions)  # 4 speakers in 14 days: active, nothing said
    assert _states(made) == []
    # two speakers fall out of the 14-day window: dormant when only two are left
    made = list(engine.run(T0 + timedelta(days=5)).decisions)
    dormant_at = T0 + timedelta(days=3)
    assert _states(made) == [("group_dormant", dormant_at)]
    # within the same 14-day window, three people speak: active again, once
    engine.ingest([_msg(20 + i, m, "g1", T0 + timedelta(days=6, hours=i)) for i, m in enumerate("efg")])
    made = list(engine.run(T0 + timedelta(days=9)).decisions)
    assert _states(made) == [("group_active", T0 + timedelta(days=6))]
    assert not engine.run(T0 + timedelta(days=9)).decisions
    (d,) = engine.decisions(action="group_dormant", group="g1")
    assert d.reasons() == "message speakers is 2 in the last 14 days; needs fewer than 3"


def test_a_silent_group_turns_dead_not_dormant_and_its_operators_are_told():
    messenger = RecordingMessenger()

    class Messengers:
        @go.hookimpl
        def groupops_register_messengers(self, register):
            register(messenger)

    engine = go.Engine(_book(), plugins=[Messengers()], entry_points=False, default_messenger=messenger.name)
    engine.run(T0 - timedelta(hours=1))
    engine.ingest([*_joins("ab"), _msg(1, "a", "g1", T0 - timedelta(days=20))])
    made = list(engine.run(T0).decisions)
    assert _states(made) == [("group_dormant", T0)]
    made = list(engine.run(T0 + timedelta(days=11)).decisions)
    assert _states(made) == [("group_dead", T0 + timedelta(days=10))]  # 30 days after the last message
    engine.deliver(T0 + timedelta(days=11))
    dead = next(m for m in messenger.delivered if m.action == "group_dead" and m.group == "g1")
    assert (dead.audience, dead.recipient) == ("operators", "op1")
    assert dead.text == (
        "Group one looks dead: 0 of 2 members spoke in the last 14 days; last message 30 days ago; score 0."
    )


def _facts(engine: go.Engine) -> go.MemoryFacts:
    """The facts over every event the engine's store keeps."""
    return go.MemoryFacts(go.rules.Community(TZ, [e for _, e in engine.store.events_after(0)]))


def test_health_facts_score_and_trend():
    engine = go.Engine(_book(), entry_points=False)
    engine.run(T0 - timedelta(days=40))
    engine.ingest(
        [
            *_joins("abcdefghij"),
            go.Event(
                id="q1",
                kind="question",
                member="a",
                group="g1",
                at=T0 - timedelta(days=2),
                data={"topic": "x"},
            ),
            _msg(1, "b", "g1", T0 - timedelta(days=2) + timedelta(minutes=30), reply_to="q1", topic="x"),
            _msg(2, "c", "g1", T0 - timedelta(days=1), topic="y"),
            _msg(3, "a", "g1", T0 - timedelta(days=20)),  # the window before
        ]
    )
    facts = _facts(engine)
    policy = engine.book.policies[0]
    (h,) = go.rules.group_health(facts, [engine.store.get_group("g1")], {"g1": 10}, T0, TZ, policy=policy)
    assert (h.messages, h.speakers, h.topics, h.questions, h.answered) == (3, 3, 2, 1, 1)
    assert h.median_answer == timedelta(minutes=30)
    assert h.share == 0.3
    assert h.score == go.rules.health_score(share=0.3, topics=2, questions=1, answered=1, messages=3) == 85
    assert (
        h.trend
        == 85 - go.rules.health_score(share=0.1, topics=0, questions=0, answered=0, messages=1)
        == 85 - 42
    )
    # the dormant rule counts ``message`` speakers only: b and c, fewer than 3
    assert h.state == "dormant" and h.days_since == 1.0


@settings(max_examples=12, deadline=None)
@given(
    days=st.lists(st.integers(min_value=0, max_value=80), max_size=15),
    speakers=st.lists(st.sampled_from("abcd"), min_size=15, max_size=15),
    runs=st.lists(st.integers(min_value=1, max_value=90), min_size=1, max_size=5),
)
def test_a_group_is_never_dormant_and_dead_at_once_and_each_change_is_decided_once(days, speakers, runs):
    engine = go.Engine(_book(), entry_points=False)
    start = T0 - timedelta(days=1)
    made = list(engine.run(start).decisions)
    engine.ingest(
        [
            *_joins("abcd"),
            *(_msg(i, speakers[i], "g1", start + timedelta(days=d)) for i, d in enumerate(days)),
        ]
    )
    for r in sorted(set(runs)):
        made += engine.run(start + timedelta(days=r, hours=1)).decisions
    states = [(d.action, d.at) for d in made if d.group == "g1"]
    instants = [at for _, at in states]
    assert len(instants) == len(set(instants))  # one state per group per check
    actions = ["group_active", *(a for a, _ in states)]
    assert all(a != b for a, b in itertools.pairwise(actions))  # only changes
    # the state decided at each check is the one the rules give then
    policy = engine.book.policies[0]
    group = engine.store.get_group("g1")
    for action, at in states:
        if at <= start:
            continue  # decided before the members and messages were stored
        (h,) = go.rules.group_health(
            _facts(engine),
            [group],
            {"g1": 4},
            at,
            TZ,
            policy=policy,
            opened={"g1": T0 - timedelta(days=60)},
        )
        assert action == f"group_{h.state}"
