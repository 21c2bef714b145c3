"""The duty kind: volunteers' duties each period; a notice after the first missed period,
the role removed (the membership stays) after ``miss`` missed in a row, a reward after
``every`` met in a row; a ladder does not promote a relieved member back while the duty
still fails."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import groupops as go

TZ = ZoneInfo("Asia/Shanghai")
SUNDAYS = [datetime(2026, 11, d, 20, tzinfo=TZ) for d in (1, 8, 15, 22, 29)] + [
    datetime(2026, 12, d, 20, tzinfo=TZ) for d in (6, 13, 20, 27)
]
VOLUNTEERS = {
    "id": "volunteers",
    "type": "duty",
    "groups": ["camp"],
    "role": "volunteer",
    "schedule": "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20",
    "start": "2026-10-25T20:00:00+08:00",
    "when": {"count": "duty", "since": "period_start", "at_least": 2},
    "miss": 2,
    "reward": {"every": 4, "text": "志愿者感谢礼"},
}


def engine(store: go.Store | None = None, *policies: dict[str, object]) -> go.Engine:
    book = go.RuleBook.load(
        {
            "timezone": "Asia/Shanghai",
            "groups": [{"id": "camp", "name": "训练营"}],
            "policies": list(policies) or [VOLUNTEERS],
        }
    )
    e = go.Engine(book, store=store or go.MemoryStore(), entry_points=False)
    e.ingest([{"id": "v", "name": "Vic"}])
    e.ingest(
        [
            {
                "id": "j-v",
                "kind": "joined",
                "member": "v",
                "group": "camp",
                "at": "2026-10-26T09:00:00+08:00",
                "data": {"role": "volunteer"},
            }
        ]
    )
    return e


def duties(week: int, n: int = 2) -> list[dict[str, object]]:
    """``n`` duty events in the period ending at SUNDAYS[week]."""
    end = SUNDAYS[week]
    return [
        {
            "id": f"d{week}-{i}",
            "kind": "duty",
            "member": "v",
            "group": "camp",
            "at": (end - timedelta(days=1, hours=i)).isoformat(),
        }
        for i in range(n)
    ]


def decided(e: go.Engine, upto: int) -> list[tuple[str, str]]:
    made = []
    for week in range(upto + 1):
        made += [(d.action, d.period[:10]) for d in e.run(SUNDAYS[week] + timedelta(minutes=1)).decisions]
    return made


def test_missing_then_meeting_then_missing_gives_two_notices_and_keeps_the_role(tmp_path: Path) -> None:
    with engine(go.SQLiteStore(tmp_path / "g.db")) as e:
        # week 0 (ending 11-01): missed; week 1: met; week 2: missed (one duty only)
        e.ingest(duties(1) + duties(2, n=1))
        assert decided(e, 2) == [("duty_notice", "2026-11-01"), ("duty_notice", "2026-11-15")]
        ms = e.membership("v", "camp")
        assert ms is not None and ms.role == "volunteer" and ms.present
        notice = e.decisions(action="duty_notice")[0]
        (msg,) = e.store.messages(decision=notice.id)
        assert msg.text == (
            "Vic, your volunteer duty in 训练营 was not met this period: duty 0 times since period start; "
            "needs at least 2 times. Miss 1 more in a row and the role is removed."
        )


def test_two_missed_in_a_row_remove_the_role_and_the_membership_stays() -> None:
    with engine() as e:
        assert decided(e, 1) == [("duty_notice", "2026-11-01"), ("relieve", "2026-11-08")]
        ms = e.membership("v", "camp")
        assert ms is not None and ms.role == "member" and ms.present
        (relieve,) = e.decisions(action="relieve")
        assert (relieve.from_role, relieve.to_role) == ("volunteer", "member")
        (msg,) = e.store.messages(decision=relieve.id)
        assert msg.text.startswith(
            "Vic, the volunteer role in 训练营 has been removed after 2 periods missed in a row"
        )
        assert decided(e, 4) == []  # no longer a volunteer: nothing more


def test_a_reward_after_four_periods_met_in_a_row_then_after_four_more() -> None:
    with engine() as e:
        e.ingest([x for week in range(9) for x in duties(week)])
        made = decided(e, 8)
        assert made == [("thank", "2026-11-22"), ("thank", "2026-12-20")]
        (msg,) = e.store.messages(decision=e.decisions(action="thank")[0].id)
        assert (
            msg.text
            == "Vic, thank you: 4 periods of volunteer duty in a row in 训练营. Your reward: 志愿者感谢礼."
        )


def test_a_late_run_decides_each_period_as_an_on_time_one_would_have() -> None:
    with engine() as on_time, engine() as late:
        for e in (on_time, late):
            e.ingest(duties(1) + duties(3))
        expected = [
            ("duty_notice", "2026-11-01"),
            ("duty_notice", "2026-11-15"),
            ("duty_notice", "2026-11-29"),
        ]
        assert decided(on_time, 4) == expected
        caught_up = late.run(SUNDAYS[4] + timedelta(minutes=1)).decisions
        assert [(d.action, d.period[:10]) for d in caught_up] == expected


LADDER = {
    "id": "ladder",
    "type": "ladder",
    "groups": ["camp"],
    "steps": [
        {"role": "member"},
        {"role": "volunteer", "promote": {"count": "message", "within": "30d", "at_least": 1}},
    ],
}


def test_a_ladder_does_not_promote_a_relieved_member_back_while_the_duty_still_fails() -> None:
    with engine(None, VOLUNTEERS, LADDER) as e:
        e.ingest(
            [
                {
                    "id": "m1",
                    "kind": "message",
                    "member": "v",
                    "group": "camp",
                    "at": "2026-10-27T09:00:00+08:00",
                }
            ]
        )
        assert [a for a, _ in decided(e, 1)] == ["duty_notice", "relieve"]
        # the ladder's promote condition holds, but the duty still fails: no promotion
        assert e.run(SUNDAYS[1] + timedelta(days=1)).decisions == ()
        assert e.membership("v", "camp").role == "member"  # type: ignore[union-attr]
        # the member does the duty again in the current period: the ladder promotes
        e.ingest(duties(2))
        e.ingest(
            [
                {
                    "id": "m2",
                    "kind": "message",
                    "member": "v",
                    "group": "camp",
                    "at": (SUNDAYS[2] - timedelta(hours=1)).isoformat(),
                }
            ]
        )
        (promoted,) = e.run(SUNDAYS[2] - timedelta(minutes=30)).decisions
        assert (promoted.action, promoted.to_role) == ("promote", "volunteer")


def test_a_duty_policy_is_validated() -> None:
    with pytest.raises(go.RuleError, match="give 'schedule'"):
        engine(None, {**VOLUNTEERS, "schedule": None, "at": "2026-11-01T20:00:00+08:00"})
    with pytest.raises(go.RuleError, match="relieve_to: 'volunteer' is the duty's own role"):
        engine(None, {**VOLUNTEERS, "relieve_to": "volunteer"})
    with pytest.raises(go.RuleError, match="give exactly one of 'points'"):
        engine(None, {**VOLUNTEERS, "reward": {"every": 4}})


def test_a_reward_in_points_is_an_entry_caused_by_the_thank_decision() -> None:
    in_points = {**VOLUNTEERS, "reward": {"every": 2, "points": 20}}
    with engine(None, in_points) as e:
        e.ingest([x for week in range(2) for x in duties(week)])
        assert decided(e, 1) == [("thank", "2026-11-08")]
        (thank,) = e.decisions(action="thank")
        (entry,) = e.ledger("v")
        assert (entry.points, entry.cause, entry.cause_type) == (20.0, thank.id, "decision")


def test_explain_shows_the_duty_this_period_and_the_streak_in_english_and_chinese() -> None:
    with engine() as e:
        e.ingest(duties(0) + duties(1, n=1))
        decided(e, 1)
        report = e.explain("v", "camp", "volunteers", SUNDAYS[1] + timedelta(days=1))
        assert report.sections[0].title == "to meet the volunteer duty this period"
        assert report.sections[0].title_text("zh") == "本期完成 volunteer 职责的条件"
        assert [n.text() for n in report.notes] == ["duty periods met in a row: 0; missed in a row: 1"]
        assert [n.text("zh") for n in report.notes] == ["连续达标 0 期；连续未达标 1 期"]
