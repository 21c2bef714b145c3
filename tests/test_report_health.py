"""The HTML report's group health chart (issue 15)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import groupops as go
from groupops._report import collect, report_json
from groupops._report_html import render_html

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 5, 1, 21, tzinfo=TZ)


def test_the_report_charts_each_open_groups_health_score_state_and_trend():
    book = go.RuleBook.load(
        {
            "timezone": "Asia/Shanghai",
            "groups": [
                {"id": "g1", "name": "Club"},
                {"id": "g2", "name": "Quiet"},
                {"id": "g3", "name": "Gone"},
            ],
            "policies": [
                {
                    "id": "health",
                    "type": "health",
                    "groups": ["g1", "g2"],
                    "schedule": "FREQ=DAILY;BYHOUR=21",
                    "dormant": {"distinct_speakers": "message", "within": "14d", "below": 2},
                }
            ],
        }
    )
    engine = go.Engine(book, entry_points=False)
    engine.run(AT - timedelta(days=30))
    engine.store.record_group(
        go.change_group(engine.store.get_group("g3"), AT - timedelta(days=2), status="closed")
    )
    engine.ingest(
        [
            *(
                go.Event(id=f"j-{m}-{g}", kind="joined", member=m, group=g, at=AT - timedelta(days=20))
                for m in ("a", "b")
                for g in ("g1", "g2")
            ),
            go.Event(id="m1", kind="message", member="a", group="g1", at=AT - timedelta(days=1)),
            go.Event(id="m2", kind="message", member="b", group="g1", at=AT - timedelta(days=1)),
            go.Event(id="m3", kind="message", member="a", group="g2", at=AT - timedelta(days=1)),
        ]
    )
    engine.run(AT)
    data = collect(engine.store, book, at=AT)
    assert [(h.group, h.state, h.score) for h in data.health] == [
        ("g1", "active", 75),
        ("g2", "dormant", 75),
    ]
    assert data.chart_count == 5
    page = render_html(data, locale="en")
    assert (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 ' in page
        and 'aria-label="Group health"' in page
    )
    assert "<title>Quiet · dormant: 75 (+75)</title>" in page
    assert report_json(data)["health"][1] == {
        "group": "g2",
        "name": "Quiet",
        "state": "dormant",
        "score": 75,
        "trend": 75,
        "speakers": 1,
        "members": 2,
        "topics": 0,
        "questions": 0,
        "answered": 0,
    }
    assert "群健康" in render_html(data, locale="zh")
