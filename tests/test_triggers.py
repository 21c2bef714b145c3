"""Triggers: ``on: <event kinds>`` with ``delay`` — decided at the event's time plus the
delay, caught up in time order by the next run — and welcome's default ``on: joined``."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import groupops as go

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, tzinfo=TZ)

BOOK = {
    "timezone": "Asia/Shanghai",
    "groups": [{"id": "club", "name": "Club"}, {"id": "vip", "name": "VIP", "kind": "paid"}],
    "policies": [
        {"id": "hello", "type": "welcome", "groups": ["club"], "within": "30d"},
        {
            "id": "vip",
            "type": "admission",
            "from": ["club"],
            "to": "vip",
            "on": "purchase",
            "delay": "1h",
            "when": {"count": "purchase", "at_least": 2},
        },
    ],
}


def _engine(book=BOOK, **kw):
    return go.Engine(go.RuleBook.load(book), entry_points=False, **kw)


def _joined(member, at, i=0):
    return {
        "id": f"j-{member}-{i}",
        "kind": "joined",
        "member": member,
        "group": "club",
        "at": at.isoformat(),
    }


def _purchase(member, at, i):
    return {"id": f"p-{member}-{i}", "kind": "purchase", "member": member, "at": at.isoformat()}


def test_a_welcome_is_dated_at_the_join_not_at_the_run():
    engine = _engine()
    engine.ingest([_joined("m1", T0)])
    [hello] = engine.run(T0 + timedelta(hours=5)).decisions
    assert (hello.action, hello.at) == ("welcome", T0)
    assert engine.run(T0 + timedelta(hours=5)).decisions == ()
    assert engine.run(T0 + timedelta(hours=6)).decisions == ()


def test_an_event_trigger_waits_for_its_delay_and_is_dated_at_event_plus_delay():
    engine = _engine()
    bought = T0 + timedelta(hours=3)
    engine.ingest(
        [_joined("m1", T0), _purchase("m1", T0 + timedelta(hours=1), 1), _purchase("m1", bought, 2)]
    )
    early = engine.run(bought + timedelta(minutes=30)).decisions
    assert [d.action for d in early] == ["welcome"]  # the invitation waits for its delay
    [invite] = engine.run(bought + timedelta(days=1)).decisions
    assert (invite.action, invite.at) == ("invite", bought + timedelta(hours=1))
    assert engine.run(bought + timedelta(days=1)).decisions == ()


def test_an_event_stored_late_is_decided_at_its_own_moment_by_the_next_run():
    engine = _engine()
    engine.ingest([_joined("m1", T0)])
    engine.run(T0 + timedelta(hours=1))
    # the join of m2 happened before that run but arrived after it
    engine.ingest([_joined("m2", T0 + timedelta(minutes=30))])
    [hello] = engine.run(T0 + timedelta(hours=2)).decisions
    assert (hello.member, hello.at) == ("m2", T0 + timedelta(minutes=30))


def test_within_still_bounds_how_old_a_join_may_be_to_be_greeted():
    book = {**BOOK, "policies": [{"id": "hello", "type": "welcome", "groups": ["club"]}]}
    engine = _engine(book)
    engine.ingest([_joined("old", T0 - timedelta(days=3)), _joined("new", T0 - timedelta(hours=3))])
    assert [d.member for d in engine.run(T0).decisions] == ["new"]


def test_a_plugin_failing_on_a_trigger_is_asked_again_by_the_next_run():
    calls = []

    class Flaky:
        @go.hookimpl
        def groupops_veto_action(self, decision, membership):
            calls.append(decision.id)
            if len(calls) == 1:
                raise RuntimeError("down")
            return None

    engine = _engine(plugins=[Flaky()])
    engine.ingest([_joined("m1", T0)])
    first = engine.run(T0 + timedelta(hours=1))
    assert first.decisions == () and [f.hook for f in first.failures] == ["groupops_veto_action"]
    [hello] = engine.run(T0 + timedelta(hours=2)).decisions
    assert hello.at == T0 and hello.id == calls[0]


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"id": "x", "type": "welcome", "groups": ["club"], "on": []}, None),
        (
            {
                "id": "x",
                "type": "ladder",
                "groups": ["club"],
                "delay": "1h",
                "steps": [
                    {"role": "member"},
                    {"role": "active", "promote": {"count": "checkin", "at_least": 1}},
                ],
            },
            "'delay' is the wait after an 'on'",
        ),
        (
            {
                "id": "x",
                "type": "eviction",
                "groups": ["club"],
                "schedule": "FREQ=WEEKLY",
                "on": "joined",
                "when": {"count": "checkin", "at_most": 0},
            },
            "an eviction is due on its 'schedule'",
        ),
    ],
)
def test_trigger_fields_are_checked(policy, message):
    book = {"groups": [{"id": "club"}], "policies": [policy]}
    if message is None:
        assert go.RuleBook.load(book).policies[0].trigger_events() == ()
    else:
        with pytest.raises(go.RuleError, match=message):
            go.RuleBook.load(book)


@settings(max_examples=25, deadline=None)
@given(
    offsets=st.lists(
        st.tuples(
            st.sampled_from(["m1", "m2", "m3"]),
            st.sampled_from(["join", "buy"]),
            st.integers(0, 10 * 24 * 60),
        ),
        min_size=1,
        max_size=12,
    ),
    gap=st.integers(1, 20 * 24 * 60),
)
def test_catching_up_over_a_gap_decides_what_running_at_every_trigger_would(offsets, gap):
    records, moments = [], []
    for i, (member, what, minutes) in enumerate(offsets):
        at = T0 + timedelta(minutes=minutes)
        if what == "join":
            records.append(_joined(member, at, i))
            moments.append(at)
        else:
            records.append(_purchase(member, at, i))
            moments.append(at + timedelta(hours=1))
    end = max(moments) + timedelta(minutes=gap % (29 * 24 * 60))
    late, punctual = _engine(), _engine()
    late.ingest(records)
    punctual.ingest(records)
    decided_late = late.run(end).decisions
    decided_on_time = [d for t in sorted(set(moments)) for d in punctual.run(t).decisions]
    decided_on_time += punctual.run(end).decisions
    assert sorted((d.id, d.at) for d in decided_late) == sorted((d.id, d.at) for d in decided_on_time)
    assert late.run(end).decisions == ()  # and a rerun decides nothing


SCRIPT = """
import json, sys
from datetime import datetime
import groupops as go
engine = go.Engine(go.RuleBook.load(json.loads(sys.argv[1])), entry_points=False)
engine.ingest(json.loads(sys.argv[2]))
print(json.dumps([d.id for d in engine.run(datetime.fromisoformat(sys.argv[3])).decisions]))
"""


def test_a_decisions_id_is_stable_across_processes():
    records = [_joined("m1", T0), _purchase("m1", T0, 1), _purchase("m1", T0 + timedelta(hours=1), 2)]
    at = T0 + timedelta(days=1)
    here = [d.id for d in _engine_run(records, at)]
    out = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", SCRIPT, json.dumps(BOOK), json.dumps(records), at.isoformat()],
                capture_output=True,
                text=True,
                check=True,
                env={"PYTHONHASHSEED": str(seed), "PATH": ""},
            ).stdout
        )
        for seed in (1, 2)
    ]
    assert len(here) == 2 and out == [here, here]


def _engine_run(records, at):
    engine = _engine()
    engine.ingest(records)
    return engine.run(at).decisions
