"""The post kind (issue 15): content posted on a schedule, rotating through a list."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import groupops as go
from groupops.testing import RecordingMessenger

TZ = ZoneInfo("Asia/Shanghai")
FRIDAY = datetime(2026, 4, 3, 20, tzinfo=TZ)


def _book(**policy):
    return go.RuleBook.load(
        {
            "timezone": "Asia/Shanghai",
            "groups": [{"id": "camp", "name": "萌芽营"}, {"id": "camp2", "name": "萌芽营二期"}],
            "policies": [
                {
                    "id": "friday-sharing",
                    "type": "post",
                    "groups": ["camp", "camp2"],
                    "schedule": "FREQ=WEEKLY;BYDAY=FR;BYHOUR=20",
                    "text": "{group.name} 本周五晚 8 点分享：{topic}",
                    "content": [{"topic": "私域运营"}, {"topic": "社群裂变"}],
                    **policy,
                }
            ],
        }
    )


class _Messengers:
    def __init__(self, messenger):
        self.messenger = messenger

    @go.hookimpl
    def groupops_register_messengers(self, register):
        register(self.messenger)


def test_posts_rotate_through_the_content_in_each_group_and_a_rerun_posts_nothing_more():
    messenger = RecordingMessenger()
    engine = go.Engine(
        _book(), plugins=[_Messengers(messenger)], entry_points=False, default_messenger=messenger.name
    )
    engine.run(FRIDAY - timedelta(days=1))
    made = engine.run(FRIDAY + timedelta(days=14, hours=1)).decisions  # three Fridays, one late run
    assert not engine.run(FRIDAY + timedelta(days=14, hours=1)).decisions
    engine.deliver(FRIDAY + timedelta(days=14, hours=1))
    assert [(d.action, d.group, d.at) for d in made if d.group == "camp"] == [
        ("scheduled_post", "camp", FRIDAY + timedelta(days=7 * k)) for k in range(3)
    ]
    camp = [m.text for m in messenger.delivered if m.recipient == "camp"]
    assert camp == [
        "萌芽营 本周五晚 8 点分享：私域运营",
        "萌芽营 本周五晚 8 点分享：社群裂变",
        "萌芽营 本周五晚 8 点分享：私域运营",
    ]
    assert (
        next(m.text for m in messenger.delivered if m.recipient == "camp2")
        == "萌芽营二期 本周五晚 8 点分享：私域运营"
    )


def test_a_post_uses_the_groups_name_as_the_store_has_it_after_a_rename():
    messenger = RecordingMessenger()
    engine = go.Engine(
        _book(), plugins=[_Messengers(messenger)], entry_points=False, default_messenger=messenger.name
    )
    engine.run(FRIDAY - timedelta(days=1))
    camp = engine.store.get_group("camp")
    engine.store.record_group(
        go.change_group(camp, FRIDAY - timedelta(hours=1), decision="d", name="MarTech 营")
    )
    engine.run(FRIDAY)
    engine.deliver(FRIDAY)
    assert [m.text for m in messenger.delivered if m.recipient == "camp"] == [
        "MarTech 营 本周五晚 8 点分享：私域运营"
    ]


def test_a_text_naming_a_placeholder_the_content_lacks_is_refused():
    with pytest.raises(go.RuleError, match=r"text: .*unknown placeholder \{speaker\}"):
        _book(text="{speaker} 分享 {topic}")
    with pytest.raises(go.RuleError, match=r"content\[1\]: keys \['title'\] differ"):
        _book(content=[{"topic": "a"}, {"title": "b"}])
