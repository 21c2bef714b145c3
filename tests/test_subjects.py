"""Decisions about a member alone or a group alone, messages to a member, a group or its
operators, messengers' capabilities, scheduled plugin kinds, and the announced at-risk
list (Engine v2, items 4 and 8)."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field, ValidationError

import groupops as go
from groupops.cli._common import decision_json
from groupops.testing import RecordingMessenger

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


# -- a plugin kind that posts in groups, greets people in no group, renames ------------


class Digest(go.ScheduledPolicy):
    """Posts, at each occurrence, how many messages each group had since the last one;
    greets each member in no group; renames the group when ``rename`` is given."""

    type: Literal["digest_test"] = "digest_test"
    groups: tuple[str, ...] = Field(min_length=1)
    rename: str | None = None


class DigestKind(go.ScheduledKind):
    name = "digest_test"
    model = Digest
    placeholders = frozenset({"count"})
    actions = (
        go.ActionSpec("post_count", {"en": "{group.name}: {count} messages."}, audience="group"),
        go.ActionSpec("greet_alone", {"en": "Hello {member.name}, join a group!"}),
        go.ActionSpec("rename_test", {"en": "Renamed to {group.name}."}, platform=True, audience="group"),
        go.ActionSpec("lead_test", {"en": "Lead {member.id} for you."}, audience="operators"),
    )

    def occurrence(self, policy, rt, when, previous, at):
        made = []
        since = previous or when - timedelta(days=1)
        activity = rt.facts.group_activity(list(policy.groups), ["message"], since, when)
        counts = {a.group: a.events for a in activity}
        for group in policy.groups:
            with rt.isolated(policy.id, None, when, group=group):
                n = counts.get(group, 0)
                d = rt.decide_about(policy.id, "post_count", group=group, period=when.isoformat(), at=when)
                made.append(rt.apply(go.Verdict(d, values={"count": str(n)})))
                if policy.rename:
                    current = rt.group(group)
                    change = go.change_group(current, when, name=policy.rename)
                    d = rt.decide_about(policy.id, "rename_test", group=group, period="rename", at=when)
                    made.append(rt.apply(go.Verdict(d, group=change)))
        in_a_group = {ms.member for g in rt.groups() for ms in rt.memberships(g.id) if ms.present}
        for member in sorted(set(rt.profiles) - in_a_group):
            d = rt.decide_about(policy.id, "greet_alone", member=member, period="once", at=when)
            made.append(rt.apply(go.Verdict(d)))
            d = rt.decide_about(policy.id, "lead_test", member=member, period="once", at=when)
            made.append(rt.apply(go.Verdict(d)))
        return [d for d in made if d is not None]


class DigestPlugin:
    def __init__(self, *messengers):
        self.messengers = messengers

    @go.hookimpl
    def groupops_register_kinds(self, register):
        register(DigestKind())

    @go.hookimpl
    def groupops_register_messengers(self, register):
        for m in self.messengers:
            register(m)


def _book(**policy):
    return {
        "timezone": "UTC",
        "groups": [{"id": "g1", "name": "Group one", "operators": ["op1"]}],
        "policies": [
            {
                "id": "digest",
                "type": "digest_test",
                "groups": ["g1"],
                "schedule": "FREQ=DAILY;BYHOUR=8",
                **policy,
            }
        ],
    }


def _engine(tmp_path, messenger, **policy):
    plugin = DigestPlugin(messenger)
    kinds = go.registered_kinds(plugins=[plugin], entry_points=False)
    book = go.RuleBook.load(_book(**policy), kinds=kinds)
    return go.Engine(
        book,
        store=str(tmp_path / "g.db"),
        plugins=[plugin],
        entry_points=False,
        default_messenger=messenger.name,
    )


def _history(engine):
    engine.ingest(
        [
            go.Member(id="ann", name="Ann"),
            go.Member(id="bob", name="Bob"),
            go.Event(id="j1", member="ann", group="g1", kind="joined", at=T0 - timedelta(days=3)),
            go.Event(id="m1", member="ann", group="g1", kind="message", at=T0 - timedelta(hours=5)),
            go.Event(id="m2", member="ann", group="g1", kind="message", at=T0 - timedelta(hours=1)),
        ]
    )


def test_decisions_about_a_group_alone_and_a_member_alone_have_null_member_or_group(tmp_path):
    with _engine(tmp_path, RecordingMessenger()) as engine:
        _history(engine)
        made = engine.run(T0).decisions
    by_action = {d.action: d for d in made}
    post = by_action["post_count"]
    assert (post.member, post.group, post.subject) == (None, "g1", "group")
    greet = by_action["greet_alone"]
    assert (greet.member, greet.group, greet.subject) == ("bob", None, "member")
    assert post.id == go.decision_id("digest", "post_count", None, "g1", T0.isoformat())
    row = decision_json(post, {}, "en")
    assert row["member"] is None and row["group"] == "g1" and row["at"] == T0.isoformat()
    assert json.loads(json.dumps(decision_json(greet, {}, "en")))["group"] is None


def test_a_decision_about_nobody_and_no_group_is_refused_naming_both_fields():
    with pytest.raises(ValidationError, match="member, group"):
        go.Decision.make(policy="p", action="a", member=None, group=None, period="x", at=T0)


def test_a_post_goes_to_the_group_and_a_lead_to_its_operators_when_the_messenger_can(tmp_path):
    messenger = RecordingMessenger()
    with _engine(tmp_path, messenger) as engine:
        _history(engine)
        engine.run(T0)
        engine.deliver(T0)
    sent = {(m.action, m.audience, m.recipient): m for m in messenger.delivered}
    post = sent[("post_count", "group", "g1")]
    assert post.text == "Group one: 2 messages." and post.member is None
    assert sent[("greet_alone", "member", "bob")].text == "Hello Bob, join a group!"
    assert sent[("lead_test", "operators", "operators")].text == "Lead bob for you."


def test_a_messenger_that_cannot_post_turns_the_post_into_an_operator_task_never_a_private_message(tmp_path):
    messenger = RecordingMessenger.text_only()
    with _engine(tmp_path, messenger) as engine:
        _history(engine)
        engine.run(T0)
        engine.deliver(T0)
    posts = [m for m in messenger.delivered if m.group == "g1" and m.member is None]
    assert [(m.action, m.audience, m.recipient) for m in posts] == [("task", "operators", "op1")]
    assert "Group one: 2 messages." in posts[0].text
    # a member-addressed message still goes to the member
    assert any(m.action == "greet_alone" and m.recipient == "bob" for m in messenger.delivered)


def test_a_rename_through_a_verdict_is_kept_in_the_store_and_later_messages_use_the_new_name(tmp_path):
    messenger = RecordingMessenger.text_only()
    with _engine(tmp_path, messenger, rename="Group renamed") as engine:
        _history(engine)
        engine.run(T0)
        engine.deliver(T0)
        history = engine.store.group_history("g1")
        assert engine.store.get_group("g1").name == "Group renamed"
        engine.run(T0 + timedelta(days=1))
        engine.deliver(T0 + timedelta(days=1))
    renamed = [c for c in history if "name" in c.fields]
    assert renamed and renamed[-1].decision is not None and renamed[-1].source == "decision"
    # the rename is a platform action the text-only messenger cannot do: an operator task
    rename_tasks = [m for m in messenger.delivered if m.decision == renamed[-1].decision]
    assert [m.action for m in rename_tasks] == ["task"]
    later = [
        m.text for m in messenger.delivered if m.created_at == T0 + timedelta(days=1) and m.action == "task"
    ]
    assert any("Group renamed: 0 messages." in text for text in later)


# -- scheduled kinds: catch-up, reruns, one-offs -------------------------------------------


def _decided(engine, instants):
    made = []
    for at in instants:
        made += [(d.action, d.member, d.group, d.at) for d in engine.run(at).decisions]
    return made


def test_a_scheduled_kind_catches_up_over_a_gap_as_if_run_at_every_occurrence(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    days = [T0 + timedelta(days=i) for i in range(4)]
    with _engine(tmp_path / "a", RecordingMessenger()) as every:
        _history(every)
        step = _decided(every, days)
    with _engine(tmp_path / "b", RecordingMessenger()) as gap:
        _history(gap)
        caught = _decided(gap, [days[0], days[-1] + timedelta(hours=3)])
    assert sorted(step, key=str) == sorted(caught, key=str)
    posts = [at for action, _, _, at in caught if action == "post_count"]
    assert posts == days  # each occurrence decided at its own moment


def test_rerunning_a_scheduled_kind_at_the_same_instant_decides_nothing(tmp_path):
    with _engine(tmp_path, RecordingMessenger()) as engine:
        _history(engine)
        assert engine.run(T0).decisions
        assert not engine.run(T0).decisions


def test_a_one_off_at_in_the_past_is_decided_once_by_a_late_first_run(tmp_path):
    with _engine(tmp_path, RecordingMessenger(), schedule=None, at=T0.isoformat()) as engine:
        _history(engine)
        made = engine.run(T0 + timedelta(days=2)).decisions
        assert [d.at for d in made if d.action == "post_count"] == [T0]
        assert not engine.run(T0 + timedelta(days=3)).decisions


def test_a_scheduled_policy_needs_exactly_one_of_schedule_and_at():
    kinds = go.registered_kinds(plugins=[DigestPlugin()], entry_points=False)
    with pytest.raises(go.RuleError, match="exactly one of 'schedule'"):
        go.RuleBook.load(_book(at=T0.isoformat()), kinds=kinds)
    with pytest.raises(go.RuleError, match="'on' and 'delay' do not apply"):
        go.RuleBook.load(_book(on="message"), kinds=kinds)


# -- the announced at-risk list ----------------------------------------------------------


def _eviction_book(**extra):
    return {
        "timezone": "UTC",
        "locale": extra.pop("locale", "en"),
        "groups": [{"id": "camp", "name": "Camp"}],
        "policies": [
            {
                "id": "weekly",
                "type": "eviction",
                "groups": ["camp"],
                "schedule": "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20",
                "notice": "2d",
                "when": {"count": "checkin", "within": "7d", "below": 3},
                "announce": True,
                **extra,
            }
        ],
    }


SUNDAY = datetime(2026, 3, 8, 20, 0, tzinfo=UTC)
NOTICE = SUNDAY - timedelta(days=2)


def _camp(engine, names, *, keen=()):
    events: list = [go.Member(id=f"m{i}", name=n) for i, n in enumerate(names)]
    events += [
        go.Event(id=f"j{i}", member=f"m{i}", group="camp", kind="joined", at=NOTICE - timedelta(days=20))
        for i in range(len(names))
    ]
    for i, name in enumerate(names):
        if name in keen:
            events += [
                go.Event(
                    id=f"c{i}-{k}",
                    member=f"m{i}",
                    group="camp",
                    kind="checkin",
                    at=NOTICE - timedelta(days=k),
                )
                for k in range(1, 4)
            ]
    engine.ingest(events)


def test_announce_posts_once_to_the_group_the_criteria_and_the_sorted_at_risk_names(tmp_path):
    book = go.RuleBook.load(_eviction_book(announce_max=2))
    messenger = RecordingMessenger()
    with go.Engine(
        book,
        store=str(tmp_path / "g.db"),
        plugins=[_Messengers(messenger)],
        entry_points=False,
        default_messenger=messenger.name,
    ) as engine:
        _camp(engine, ["Zoe", "Amy", "Kim", "Lea"], keen={"Lea"})
        made = engine.run(NOTICE).decisions
        engine.deliver(NOTICE)
        assert not engine.run(NOTICE).decisions
        assert not engine.run(NOTICE + timedelta(hours=1)).decisions
    announces = [d for d in made if d.action == "announce"]
    assert [(d.member, d.group) for d in announces] == [(None, "camp")]
    assert sorted(d.member for d in made if d.action == "notice") == ["m0", "m1", "m2"]
    post = next(m for m in messenger.delivered if m.action == "announce")
    assert (post.audience, post.recipient) == ("group", "camp")
    assert "At risk now: Amy, Kim and 1 more." in post.text
    assert "checkin in the last 7 days: at least 3 times" in post.text
    assert "Zoe" not in post.text and "Lea" not in post.text


def test_announce_posts_nothing_when_nobody_is_at_risk(tmp_path):
    book = go.RuleBook.load(_eviction_book())
    with go.Engine(book, store=str(tmp_path / "g.db"), entry_points=False) as engine:
        _camp(engine, ["Amy"], keen={"Amy"})
        assert not engine.run(NOTICE).decisions


def test_announce_in_chinese(tmp_path):
    book = go.RuleBook.load(_eviction_book(locale="zh", announce_max=1))
    messenger = RecordingMessenger()
    with go.Engine(
        book,
        store=str(tmp_path / "g.db"),
        plugins=[_Messengers(messenger)],
        entry_points=False,
        default_messenger=messenger.name,
    ) as engine:
        _camp(engine, ["小王", "小李"])
        engine.run(NOTICE)
        engine.deliver(NOTICE)
    post = next(m for m in messenger.delivered if m.action == "announce")
    assert "目前有移出风险：小李 等 1 人。" in post.text
    assert "7 天内打卡：至少 3 次" in post.text


class _Messengers:
    def __init__(self, *messengers):
        self.messengers = messengers

    @go.hookimpl
    def groupops_register_messengers(self, register):
        for m in self.messengers:
            register(m)


def _memory_engine(messenger):
    plugin = DigestPlugin(messenger)
    kinds = go.registered_kinds(plugins=[plugin], entry_points=False)
    book = go.RuleBook.load(_book(schedule="FREQ=DAILY;BYHOUR=8,20"), kinds=kinds)
    return go.Engine(book, plugins=[plugin], entry_points=False, default_messenger=messenger.name)


@functools.cache
def _hourly() -> list:
    every = _memory_engine(RecordingMessenger())
    _history(every)
    return _decided(every, [T0 + timedelta(hours=h) for h in range(97)])


@settings(deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=96), min_size=1, max_size=6, unique=True))
def test_any_split_of_runs_decides_what_a_run_every_hour_decides_and_a_rerun_nothing(hours):
    whole = _hourly()
    split = _memory_engine(RecordingMessenger())
    _history(split)
    instants = [T0] + [T0 + timedelta(hours=h) for h in sorted(hours)] + [T0 + timedelta(hours=96)]
    parts = _decided(split, instants)
    assert sorted(parts, key=str) == sorted(whole, key=str)
    assert len(set(parts)) == len(parts)
    assert not split.run(instants[-1]).decisions
