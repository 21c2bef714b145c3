"""The composition kind (issue 15): each group's role mix against a target that sums to
100 %, and a decision once per change when a bucket drifts beyond the tolerance."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import groupops as go
from groupops.testing import RecordingMessenger

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 4, 6, 9, tzinfo=TZ)


def _book(**policy):
    return go.RuleBook.load(
        {
            "timezone": "Asia/Shanghai",
            "groups": [{"id": "g1", "name": "Club", "operators": ["op1"]}],
            "policies": [
                {
                    "id": "mix",
                    "type": "composition",
                    "groups": ["g1"],
                    "schedule": "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9",
                    "min_members": 10,
                    **policy,
                }
            ],
        }
    )


def _members(engine, n, at):
    engine.ingest([go.Event(id=f"j{i}", kind="joined", member=f"m{i}", group="g1", at=at) for i in range(n)])


def _promote(engine, members, role, at):
    for m in members:
        ms = engine.store.get_membership(m, "g1")
        engine.store.put_membership(ms.model_copy(update={"role": role}))


def test_a_bucket_off_target_is_decided_once_and_back_on_target_once():
    messenger = RecordingMessenger()

    class Messengers:
        @go.hookimpl
        def groupops_register_messengers(self, register):
            register(messenger)

    engine = go.Engine(
        _book(tolerance=10), plugins=[Messengers()], entry_points=False, default_messenger=messenger.name
    )
    engine.run(MONDAY - timedelta(days=1))
    _members(engine, 20, MONDAY - timedelta(days=30))
    _promote(engine, ["m0"], "kol", MONDAY)
    _promote(engine, ["m1", "m2"], "active", MONDAY)
    _promote(engine, ["m3"], "owner", MONDAY)  # staff: not counted
    made = engine.run(MONDAY).decisions  # 19 counted: ordinary 16 (84 %, target 72): off
    assert [(d.action, d.period) for d in made] == [("composition_off", f"ordinary@{MONDAY.isoformat()}")]
    assert not engine.run(MONDAY + timedelta(days=7)).decisions  # still off: said once
    _promote(engine, ["m4", "m5", "m6"], "lecturer", MONDAY)  # ordinary 13/19 = 68 %: back
    made = engine.run(MONDAY + timedelta(days=14)).decisions
    assert [(d.action, d.period.split("@")[0]) for d in made] == [("composition_ok", "ordinary")]
    engine.deliver(MONDAY + timedelta(days=14))
    off = next(m for m in messenger.delivered if m.action == "composition_off")
    assert (off.audience, off.recipient) == ("operators", "op1")
    assert off.text == "Club: ordinary members are 84% of members, target 72% (±10 points)."


def test_a_small_group_is_not_judged():
    engine = go.Engine(_book(), entry_points=False)
    engine.run(MONDAY - timedelta(days=1))
    _members(engine, 5, MONDAY - timedelta(days=30))
    assert not engine.run(MONDAY).decisions


def test_the_target_must_sum_to_100_and_name_known_buckets():
    with pytest.raises(go.RuleError, match="sums to 98 %, not 100 %"):
        _book(target={"guests": 4, "lecturers": 6, "kols": 8, "active": 10, "ordinary": 70})
    with pytest.raises(go.RuleError, match="'vips' is not a role bucket"):
        _book(target={"vips": 100})


def test_role_mix_counts_present_members_by_bucket():
    at = MONDAY
    ms = [
        go.Membership(member="a", group="g", role="kol", joined_at=at),
        go.Membership(member="b", group="g", role="member", joined_at=at),
        go.Membership(member="c", group="g", role="admin", joined_at=at),
        go.Membership(member="d", group="g", role="core", joined_at=at, status="left", left_at=at),
    ]
    mix = {r.bucket: (r.count, r.share) for r in go.rules.role_mix("g", ms, {"kols": 50, "ordinary": 50})}
    assert mix["kols"] == (1, 50.0) and mix["ordinary"] == (1, 50.0) and mix["active"] == (0, 0.0)
