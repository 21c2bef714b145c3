"""The ``campaign`` kind: no decisions; the API and ``groupops campaign`` (the real CLI,
on a real SQLite file) report the segment at the start, the goal reached by the end,
the rate and whether the target is met, with labels read from the label history."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from test_cli import gops

import groupops as go

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
END = START + timedelta(days=1)


def _book(**campaign):
    return {
        "timezone": "UTC",
        "groups": [{"id": "welfare"}],
        "policies": [
            {
                "id": "level",
                "type": "tier",
                "labels": ["B", "B+", "A"],
                "steps": {
                    "B+": {"count": "purchase", "at_least": 1},
                    "A": {"count": "purchase", "at_least": 3},
                },
            },
            {
                "id": "bplus-to-a",
                "type": "campaign",
                "segment": {"label": "B+"},
                "goal": {"label": "A"},
                "start": START.isoformat(),
                "end": END.isoformat(),
                "target": "20%",
                **campaign,
            },
        ],
    }


def _buys(member, n, at, prefix):
    return [
        go.Event(id=f"{prefix}-{member}-{i}", member=member, kind="purchase", at=at + timedelta(minutes=i))
        for i in range(n)
    ]


def _season(engine):
    """Five B+ members at the start; one reaches A during the campaign; one joins B+ late
    (not in the segment at the start) and reaches A too."""
    before = START - timedelta(days=3)
    engine.ingest([go.Member(id=f"m{i}") for i in range(6)])
    engine.ingest([e for i in range(5) for e in _buys(f"m{i}", 1, before, "a")])
    engine.run(START - timedelta(hours=1))
    engine.ingest(
        _buys("m0", 2, START + timedelta(hours=2), "b") + _buys("m5", 3, START + timedelta(hours=2), "c")
    )
    engine.run(START + timedelta(hours=3))


def test_the_report_reads_the_segment_at_the_start_and_the_goal_at_the_end(tmp_path):
    with go.Engine(go.RuleBook.load(_book()), store=str(tmp_path / "g.db"), entry_points=False) as engine:
        _season(engine)
        report = engine.campaign("bplus-to-a")
        running = engine.campaign("bplus-to-a", START + timedelta(hours=1))
        assert not [d for d in engine.store.decisions() if d.policy == "bplus-to-a"]  # decides nothing
    assert (report.size, report.reached, report.rate, report.target, report.met) == (5, 1, 0.2, 0.2, True)
    assert report.members == ("m0", "m1", "m2", "m3", "m4") and report.reached_members == ("m0",)
    assert report.finished and report.at == END
    assert (running.reached, running.met, running.finished) == (0, False, False)
    assert "rate: 20.0% (target 20.0%): met" in report.render()
    assert "转化率：20.0%（目标 20.0%）：已达成" in report.render("zh")


def test_a_campaign_with_no_members_has_no_rate_and_nothing_to_judge(tmp_path):
    with go.Engine(
        go.RuleBook.load(_book(segment={"label": "nobody"})), store=str(tmp_path / "g.db")
    ) as engine:
        _season(engine)
        report = engine.campaign("bplus-to-a")
    assert (report.size, report.reached, report.rate, report.met) == (0, 0, None, None)
    assert "no members: nothing to judge" in report.render()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"target": "20"}, "'20' is not a target like '20%' or 0.2"),
        ({"target": "120%"}, "target"),
        ({"end": START.isoformat()}, "end: .* is not after start"),
    ],
)
def test_a_malformed_campaign_is_refused_naming_the_field(change, message):
    with pytest.raises(go.RuleError, match=message):
        go.RuleBook.load(_book(**change))


def test_asking_a_campaign_report_of_another_policy_names_the_campaigns(tmp_path):
    with go.Engine(go.RuleBook.load(_book()), store=str(tmp_path / "g.db")) as engine:
        with pytest.raises(
            go.RuleError, match=r"'level' is a 'tier' policy, not a campaign \(campaigns: bplus-to-a\)"
        ):
            engine.campaign("level")


def test_the_cli_reports_a_campaign_from_a_sqlite_file(tmp_path):
    db = tmp_path / "g.db"
    rules = tmp_path / "book.yaml"
    rules.write_text(yaml.safe_dump(_book()), encoding="utf-8")
    with go.Engine(go.RuleBook.load(_book()), store=str(db), entry_points=False) as engine:
        _season(engine)
    out = gops("campaign", "bplus-to-a", "--db", db, "--rules", rules, "--json", cwd=tmp_path).stdout
    data = json.loads(out)
    assert (data["size"], data["reached"], data["rate"], data["met"]) == (5, 1, 0.2, True)
    text = gops("campaign", "bplus-to-a", "--db", db, "--rules", rules, "--locale", "zh", cwd=tmp_path).stdout
    assert "开始时人群：5 人" in text
    wrong = gops("campaign", "level", "--db", db, "--rules", rules, cwd=tmp_path, ok=False)
    assert "not a campaign" in wrong.stderr
