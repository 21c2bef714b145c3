"""The facts interface in memory: batch answers equal one-member-at-a-time answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

import groupops as go
from groupops.rules._facts_api import Facts, GroupActivity, MemoryFacts, Subject

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, tzinfo=TZ)


def _event(i, kind, member, group, hours, value=None):
    data = {
        "id": f"e{i}",
        "kind": kind,
        "member": member,
        "group": group,
        "at": (T0 + timedelta(hours=hours)).isoformat(),
    }
    if value is not None:
        data["value"] = value
    return go.Event.model_validate(data)


EVENTS = [
    _event(1, "message", "a", "club", 1),
    _event(2, "message", "a", "club", 2),
    _event(3, "message", "b", "club", 3),
    _event(4, "message", "c", "vip", 4),
    _event(5, "purchase", "b", None, 5, 30),
    _event(6, "purchase", "c", None, 6, 50),
    _event(7, "purchase", "c", None, 7, 5),
]
PROFILES = {
    "a": go.Member(id="a"),
    "b": go.Member(id="b", referrer="a"),
    "c": go.Member(id="c", referrer="a"),
    "d": go.Member(id="d", referrer="c"),
}


def _facts(events=EVENTS):
    return MemoryFacts(go.rules.Community(TZ, events), PROFILES)


def test_memory_facts_implement_the_interface():
    assert isinstance(_facts(), Facts)


def test_per_group_activity_counts_events_and_distinct_speakers():
    got = _facts().group_activity(["club", "vip", "empty"], ["message"], None, T0 + timedelta(days=1))
    assert got == [
        GroupActivity("club", events=3, speakers=2),
        GroupActivity("vip", events=1, speakers=1),
        GroupActivity("empty", events=0, speakers=0),
    ]
    # the window is closed at both ends and follows event time
    assert (
        _facts()
        .group_activity(["club"], ["message"], T0 + timedelta(hours=2), T0 + timedelta(hours=2))[0]
        .events
        == 1
    )


def test_referees_are_the_members_whose_profile_names_the_referrer():
    assert _facts().referees(["a", "c", "d"]) == [("b", "c"), ("d",), ()]


def test_rankings_order_members_by_count_or_sum_then_id():
    facts = _facts()
    end = T0 + timedelta(days=1)
    assert facts.ranking("purchase", ["a", "b", "c"], None, end) == [("c", 2.0), ("b", 1.0), ("a", 0.0)]
    assert facts.ranking("purchase", ["a", "b", "c"], None, end, field="value", limit=2) == [
        ("c", 55.0),
        ("b", 30.0),
    ]
    assert facts.ranking("message", ["a", "b", "c"], None, end, group="club") == [
        ("a", 2.0),
        ("b", 1.0),
        ("c", 0.0),
    ]


def test_last_seen_and_counts_answer_for_many_members_at_once():
    facts = _facts()
    at = T0 + timedelta(hours=6)
    assert facts.last_seen(["a", "c", "zz"], at) == [T0 + timedelta(hours=2), T0 + timedelta(hours=6), None]
    assert facts.counts("message", [("a", "club"), ("a", None), ("c", "club")], None, at) == [2, 2, 0]


@settings(max_examples=30, deadline=None)
@given(
    hours=st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 200)), max_size=20),
    at=st.integers(0, 200),
    need=st.integers(0, 4),
)
def test_batch_verdicts_equal_one_member_at_a_time(hours, at, need):
    events = [_event(i, "checkin", m, "club", h) for i, (m, h) in enumerate(hours)]
    facts = _facts(events)
    when = T0 + timedelta(hours=at)
    cond = (
        go.RuleBook.load(
            {
                "groups": [{"id": "club"}],
                "policies": [
                    {
                        "id": "x",
                        "type": "revival",
                        "groups": ["club"],
                        "within": "7d",
                        "when": {"count": "checkin", "within": "3d", "at_least": need},
                    }
                ],
            }
        )
        .policies[0]
        .when
    )
    subjects = [Subject(go.Membership(member=m, group="club", joined_at=T0)) for m in "abc"]
    batch = facts.verdicts(cond, subjects, when, default_scope="group")
    one = [
        go.rules.evaluate(
            cond,
            go.rules.Context(
                at=when,
                tz=TZ,
                history=go.rules.Community(TZ, events).history(s.membership.member),
                group="club",
                membership=s.membership,
            ),
        )
        for s in subjects
    ]
    assert batch == one
    assert facts.holding(cond, subjects, when, default_scope="group") == [e.passed for e in one]


# -- group-level facts (issue 15) --------------------------------------------------------------


def _talk(i, kind, member, group, hours, **data):
    return go.Event(
        id=f"t{i}", kind=kind, member=member, group=group, at=T0 + timedelta(hours=hours), data=data
    )


TALK = [
    _talk(1, "question", "a", "club", 1, topic="jobs"),
    _talk(2, "message", "b", "club", 3, reply_to="t1", topic="jobs"),
    _talk(3, "message", "c", "club", 5, reply_to="t1"),  # a later reply: the first one counts
    _talk(4, "question", "b", "club", 6),
    _talk(5, "message", "b", "club", 7, reply_to="t4"),  # answering oneself is no answer
    _talk(6, "question", "c", "club", 8, topic="rent"),
    _talk(7, "message", "a", "club", 9, reply_to="t6", topic="rent"),
    _talk(8, "message", "d", "vip", 2, topic="x"),
    _talk(9, "message", "d", None, 2),  # member-wide: in no group
    _talk(10, "question", "d", "vip", 30),  # after the window
]


def test_group_events_are_each_groups_own_events_in_time_order():
    got = MemoryFacts(go.rules.Community(TZ, TALK)).group_events(
        ["vip", "club", "none"], ["message"], T0 + timedelta(hours=3), T0 + timedelta(hours=9)
    )
    assert [[e.id for e in es] for es in got] == [[], ["t2", "t3", "t5", "t7"], []]
    assert got[1][0] == TALK[1]


def test_group_health_counts_speakers_topics_and_answered_questions_with_the_median_wait():
    end = T0 + timedelta(hours=24)
    club, vip = MemoryFacts(go.rules.Community(TZ, TALK)).group_health(
        ["club", "vip"], None, end, kinds=["message", "question"]
    )
    assert (club.messages, club.speakers, club.topics) == (7, 3, 2)
    assert (club.questions, club.answered) == (3, 2)
    assert club.median_answer == timedelta(hours=1)  # waits of 2h and 1h: the lower median
    assert club.speaker_ids == ("a", "b", "c")
    assert (vip.messages, vip.speakers, vip.topics, vip.questions, vip.median_answer) == (1, 1, 1, 0, None)


def test_group_last_seen_is_per_group_and_never_after_the_instant():
    facts = MemoryFacts(go.rules.Community(TZ, TALK))
    at = T0 + timedelta(hours=10)
    assert facts.group_last_seen(["club", "vip", "none"], ["message"], at) == [
        T0 + timedelta(hours=9),
        T0 + timedelta(hours=2),
        None,
    ]
