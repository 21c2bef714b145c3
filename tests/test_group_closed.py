"""Nothing is decided on a closed or dissolved group, whatever the kind (issue 15): the
engine drops such a verdict in one place, so built-in kinds obey it too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import groupops as go

SUNDAY = datetime(2026, 3, 8, 20, 0, tzinfo=UTC)
NOTICE = SUNDAY - timedelta(days=2)


def _book():
    return go.RuleBook.load(
        {
            "timezone": "UTC",
            "groups": [{"id": "camp", "name": "Camp"}, {"id": "other", "name": "Other"}],
            "policies": [
                {
                    "id": "weekly",
                    "type": "eviction",
                    "groups": ["camp", "other"],
                    "schedule": "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20",
                    "notice": "2d",
                    "when": {"count": "checkin", "within": "7d", "below": 3},
                },
                {"id": "hello", "type": "welcome", "groups": ["camp", "other"], "within": "30d"},
            ],
        }
    )


def _history(engine, *, joined_at):
    events: list = [go.Member(id="amy", name="Amy"), go.Member(id="bob", name="Bob")]
    events += [
        go.Event(id=f"j-{m}-{g}", member=m, group=g, kind="joined", at=joined_at)
        for m in ("amy", "bob")
        for g in ("camp", "other")
    ]
    engine.ingest(events)


def _close(engine, group, at, status="dissolved"):
    engine.store.record_group(
        go.change_group(engine.store.get_group(group), at, decision="d-close", status=status)
    )


def test_a_builtin_kind_decides_nothing_on_a_group_dissolved_before_the_decision(tmp_path):
    with go.Engine(_book(), store=str(tmp_path / "g.db"), entry_points=False) as engine:
        engine.run(NOTICE - timedelta(days=30))  # seeds the groups
        _history(engine, joined_at=NOTICE - timedelta(days=20))
        _close(engine, "camp", NOTICE - timedelta(days=19))
        made = engine.run(SUNDAY + timedelta(hours=1)).decisions
        assert not engine.run(SUNDAY + timedelta(hours=1)).decisions
    closed_at = NOTICE - timedelta(days=19)
    assert sorted((d.action, d.member) for d in made if d.group == "other") == [
        ("notice", "amy"),
        ("notice", "bob"),
        ("welcome", "amy"),
        ("welcome", "bob"),
    ]
    # the joins came a day before the dissolution: welcomed; nothing after it
    assert sorted((d.action, d.member, d.at) for d in made if d.group == "camp") == [
        ("welcome", "amy", closed_at - timedelta(days=1)),
        ("welcome", "bob", closed_at - timedelta(days=1)),
    ]


def test_members_noticed_before_the_group_closed_are_not_evicted_after_it(tmp_path):
    with go.Engine(_book(), store=str(tmp_path / "g.db"), entry_points=False) as engine:
        engine.run(NOTICE - timedelta(days=30))
        _history(engine, joined_at=NOTICE - timedelta(days=20))
        noticed = engine.run(NOTICE).decisions
        _close(engine, "camp", NOTICE + timedelta(days=1), status="closed")
        made = engine.run(SUNDAY + timedelta(hours=1)).decisions
    assert sorted((d.action, d.group) for d in noticed if d.action == "notice") == [
        ("notice", "camp"),
        ("notice", "camp"),
        ("notice", "other"),
        ("notice", "other"),
    ]
    assert sorted((d.action, d.member, d.group) for d in made) == [
        ("evict", "amy", "other"),
        ("evict", "bob", "other"),
    ]


def test_a_join_to_a_dissolved_group_is_not_welcomed(tmp_path):
    with go.Engine(_book(), store=str(tmp_path / "g.db"), entry_points=False) as engine:
        engine.run(NOTICE - timedelta(days=30))
        _close(engine, "camp", NOTICE - timedelta(days=25))
        _history(engine, joined_at=NOTICE - timedelta(days=20))
        made = engine.run(NOTICE - timedelta(days=19)).decisions
    assert sorted((d.action, d.group) for d in made) == [("welcome", "other"), ("welcome", "other")]
