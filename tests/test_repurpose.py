"""The repurpose kind (issue 15): rename a group, then remove after notice who does not
fit its new purpose."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import groupops as go
from groupops.testing import RecordingMessenger

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 4, 1, 10, tzinfo=TZ)


def _book(**policy):
    return go.RuleBook.load(
        {
            "timezone": "Asia/Shanghai",
            "groups": [{"id": "a1", "name": "杭州·福利社 3群", "operators": ["op1"]}],
            "policies": [
                {
                    "id": "martech",
                    "type": "repurpose",
                    "group": "a1",
                    "at": AT.isoformat(),
                    "name": "杭州·MarTech交流群",
                    "rules": "只聊营销技术",
                    "announcement": "本群改为 MarTech 交流群。",
                    "notice": "2d",
                    "keep": {"attr": "industry", "in": ["marketing", "saas"]},
                    **policy,
                },
                {"id": "hello", "type": "welcome", "groups": ["a1"], "within": "30d"},
            ],
        }
    )


class _Messengers:
    def __init__(self, messenger):
        self.messenger = messenger

    @go.hookimpl
    def groupops_register_messengers(self, register):
        register(self.messenger)


def _engine(messenger):
    return go.Engine(
        _book(), plugins=[_Messengers(messenger)], entry_points=False, default_messenger=messenger.name
    )


def _people(engine):
    engine.ingest(
        [
            go.Member(id="ann", name="Ann", attributes={"industry": "marketing"}),
            go.Member(id="bob", name="Bob", attributes={"industry": "retail"}),
            go.Member(id="cat", name="Cat", attributes={"industry": "food"}),
            *(
                go.Event(id=f"j-{m}", kind="joined", member=m, group="a1", at=AT - timedelta(days=60))
                for m in ("ann", "bob", "cat")
            ),
        ]
    )


def test_rename_then_notice_then_remove_who_still_does_not_fit_with_the_new_name_everywhere():
    messenger = RecordingMessenger()
    with _engine(messenger) as engine:
        engine.run(AT - timedelta(days=61))
        _people(engine)
        engine.run(AT - timedelta(days=1))
        made = engine.run(AT).decisions
        group = engine.store.get_group("a1")
        assert (group.name, group.rules, group.announcement) == (
            "杭州·MarTech交流群",
            "只聊营销技术",
            "本群改为 MarTech 交流群。",
        )
        engine.deliver(AT)
        # cat changes trade before the deadline; bob does not
        engine.ingest([go.Member(id="cat", name="Cat", attributes={"industry": "saas"})])
        assert not engine.run(AT + timedelta(days=2) - timedelta(seconds=1)).decisions
        ended = engine.run(AT + timedelta(days=2)).decisions
        engine.deliver(AT + timedelta(days=2))
        assert not engine.run(AT + timedelta(days=3)).decisions
        assert engine.membership("bob", "a1").status == "evicted"
    assert [(d.action, d.member) for d in made] == [("rename", None), ("notice", "bob"), ("notice", "cat")]
    assert sorted((d.action, d.member) for d in ended) == [("evict", "bob"), ("spare", "cat")]
    texts = {(m.action, m.recipient): m.text for m in messenger.delivered}
    assert texts[("rename", "a1")] == "This group is now 杭州·MarTech交流群. 本群改为 MarTech 交流群。"
    assert texts[("notice", "bob")] == (
        "Bob, you are at risk of removal from 杭州·MarTech交流群 at 2026-04-03 10:00: "
        "industry is 'retail'; needs one of ['marketing', 'saas']."
    )
    assert texts[("evict", "bob")].startswith("Bob has been removed from 杭州·MarTech交流群")


def test_a_late_run_renames_at_the_moment_and_gives_a_full_notice_from_its_own_instant():
    with _engine(RecordingMessenger()) as engine:
        engine.run(AT - timedelta(days=61))
        _people(engine)
        late = AT + timedelta(days=3)
        made = engine.run(late).decisions
        assert [(d.action, d.at) for d in made] == [("rename", AT), ("notice", late), ("notice", late)]
        assert not engine.run(late + timedelta(days=2) - timedelta(seconds=1)).decisions
        ended = engine.run(late + timedelta(days=2)).decisions
    assert sorted((d.action, d.member, d.at) for d in ended) == [
        ("evict", "bob", late + timedelta(days=2)),
        ("evict", "cat", late + timedelta(days=2)),
    ]


def test_a_messenger_that_cannot_rename_gets_an_operator_task():
    messenger = RecordingMessenger.text_only()
    with _engine(messenger) as engine:
        engine.run(AT - timedelta(days=1))
        engine.run(AT)
        engine.deliver(AT)
    (task,) = [m for m in messenger.delivered if m.group == "a1" and m.member is None]
    assert (task.action, task.recipient) == ("task", "op1")
    assert "This group is now 杭州·MarTech交流群." in task.text
