"""The engine is a facade over one module per job; each job can be used alone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import groupops as go
from groupops.engine._deciding import Deciding
from groupops.engine._delivery import Delivering
from groupops.engine._explain import Explaining
from groupops.engine._ingest import Ingesting, parse_json_record
from groupops.engine._messages import Composing
from groupops.engine._schedule import _Triggers

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, tzinfo=TZ)
BOOK = go.RuleBook.load(
    {
        "timezone": "Asia/Shanghai",
        "groups": [{"id": "club"}],
        "policies": [{"id": "hello", "type": "welcome", "groups": ["club"], "delay": "2h"}],
    }
)


def test_the_engine_is_composed_of_its_jobs():
    assert go.Engine.__mro__[1:6] == (Ingesting, Deciding, Composing, Delivering, Explaining)


def test_scheduling_alone_finds_due_triggers_and_keeps_the_others_waiting_in_run_state():
    store = go.MemoryStore()
    store.add_events(
        [
            go.Event(id="j1", kind="joined", member="m1", group="club", at=T0),
            go.Event(id="j2", kind="joined", member="m2", group="club", at=T0 + timedelta(hours=3)),
            go.Event(id="c1", kind="checkin", member="m1", group="club", at=T0),
        ]
    )

    class Parts:  # what scheduling reads of an engine: its store and book
        pass

    parts = Parts()
    parts.store, parts.book = store, BOOK
    triggers = _Triggers(parts, T0 + timedelta(hours=4))  # type: ignore[arg-type]
    [(when, event)] = triggers.due(BOOK.policies[0])
    assert (when, event.id) == (T0 + timedelta(hours=2), "j1")
    triggers.save()
    later = _Triggers(parts, T0 + timedelta(hours=6))  # type: ignore[arg-type]
    assert [(w, e.id) for w, e in later.due(BOOK.policies[0])] == [(T0 + timedelta(hours=5), "j2")]


def test_ingest_parsing_alone_names_what_is_wrong():
    assert parse_json_record('{"id": "m1"}') == {"id": "m1"}
    with pytest.raises(go.InputError, match="not valid JSON"):
        parse_json_record("{")
