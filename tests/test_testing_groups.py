"""groupops.testing for group operations (issue 15): the strategies make what they say,
the laws hold on real runs and catch broken records, and docs/testing.md's example runs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import groupops as go
from groupops.testing import (
    GROUP_INVARIANTS,
    check_group_invariants,
    conversations,
    health_changes_once,
    migration_invites_repliers,
    nothing_decided_after_dissolution,
    replies,
    requests,
)

T0 = datetime(2026, 4, 1, 8, tzinfo=UTC)
TIMES = st.integers(min_value=0, max_value=10 * 24 * 60).map(lambda m: T0 + timedelta(minutes=m))
WHO = st.sampled_from(["ann", "bob", "cat", "dan"])
WHERE = st.sampled_from(["g1", "g2"])


@settings(max_examples=20, deadline=None)
@given(requests(members=WHO, groups=WHERE, times=TIMES, max_size=8))
def test_requests_have_unique_ids_a_type_and_a_text(events):
    assert len({e.id for e in events}) == len(events)
    assert all(e.kind == "request" and e.data["type"] and e.data["text"] for e in events)


@settings(max_examples=20, deadline=None)
@given(conversations(members=WHO, groups=WHERE, times=TIMES, max_size=12))
def test_conversations_reply_only_to_earlier_questions_of_their_group(events):
    by_id = {e.id: e for e in events}
    for e in events:
        if "reply_to" in e.data:
            q = by_id[e.data["reply_to"]]
            assert q.kind == "question" and q.group == e.group and q.at <= e.at


def test_impossible_sizes_are_refused():
    with pytest.raises(InvalidArgument, match="min_size"):
        replies(members=WHO, group="d1", times=TIMES, min_size=3, max_size=1).example()


def _book():
    return go.RuleBook.load(
        {
            "timezone": "UTC",
            "groups": [{"id": "g1"}, {"id": "g2"}, {"id": "d1"}],
            "policies": [
                {
                    "id": "health",
                    "type": "health",
                    "groups": ["g1", "g2"],
                    "schedule": "FREQ=DAILY;BYHOUR=21",
                    "dormant": {"distinct_speakers": "message", "within": "3d", "below": 2},
                    "dead": {"days_since": "message", "at_least": 5},
                },
                {
                    "id": "move",
                    "type": "migrate",
                    "from": "d1",
                    "to": "g1",
                    "start": T0.isoformat(),
                    "window": "3d",
                },
                {"id": "hello", "type": "welcome", "groups": ["d1", "g1"], "within": "30d"},
            ],
        }
    )


@settings(max_examples=10, deadline=None)
@given(
    talk=conversations(members=WHO, groups=WHERE, times=TIMES, max_size=15),
    answers=replies(members=WHO, group="d1", times=TIMES, max_size=6),
    joins=st.lists(st.tuples(WHO, TIMES), max_size=4),
)
def test_the_group_laws_hold_on_real_runs(talk, answers, joins):
    engine = go.Engine(_book(), entry_points=False)
    engine.run(T0 - timedelta(days=1))
    engine.ingest(talk + answers)
    engine.ingest(
        [go.Event(id=f"j{i}", kind="joined", member=m, group="d1", at=t) for i, (m, t) in enumerate(joins)]
    )
    engine.run(T0 + timedelta(days=11))
    assert check_group_invariants(engine) == []


def test_the_laws_catch_broken_records():
    book = _book()
    at = T0 + timedelta(days=3)

    def d(action, member=None, group="d1", when=at, policy="move", period="p"):
        return go.Decision.make(
            policy=policy, action=action, member=member, group=group, period=period, at=when
        )

    dissolve = d("dissolve")
    late = d("welcome", member="ann", when=at + timedelta(hours=1), policy="hello")
    assert [v.decision for v in nothing_decided_after_dissolution(book, [dissolve, late], [])] == [late]
    same = [
        d("group_dormant", group="g1", policy="health", when=at, period="1"),
        d("group_dormant", group="g1", policy="health", when=at + timedelta(days=1), period="2"),
    ]
    assert [v.message for v in health_changes_once(book, same, [])] == [
        "group_dormant again without a change between"
    ]
    reply = go.Event(id="r", kind="message", member="bob", group="d1", at=T0, data={"text": "1"})
    wrong = [dissolve, d("invite", member="cat", group="g1")]
    found = migration_invites_repliers(book, wrong, [], events=[reply])
    assert sorted((v.member, v.message) for v in found) == [
        ("bob", "replied in the window, not invited"),
        ("cat", "invited without a reply in the window"),
    ]
    assert len(GROUP_INVARIANTS) == 3


def test_the_docs_example_runs():
    page = (Path(__file__).resolve().parents[1] / "docs" / "testing.md").read_text(encoding="utf-8")
    (body,) = re.findall(r"<!-- group-operations-example -->\n```python\n(.*?)```", page, flags=re.S)
    namespace: dict = {}
    exec(compile(body, "testing.md", "exec"), namespace)
    namespace["test_migration_invites_exactly_those_who_replied"]()
