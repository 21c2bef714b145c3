"""Kinds ask the facts for their verdicts in batches (``Runtime.holding``): admission,
eviction and revival decide exactly as one membership at a time did, with one batch
question per policy, group and instant instead of one per membership."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import groupops as go
from groupops.plugins._sqlfacts import SQLiteFacts

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 20, 20, tzinfo=TZ)  # a Friday: the notice of the period ending Sunday

BOOK = {
    "timezone": "Asia/Shanghai",
    "groups": [{"id": "club"}, {"id": "vip", "kind": "paid"}, {"id": "camp"}],
    "policies": [
        {
            "id": "vip",
            "type": "admission",
            "from": ["club"],
            "to": "vip",
            "when": {"count": "purchase", "at_least": 2},
        },
        {
            "id": "weekly",
            "type": "eviction",
            "groups": ["camp"],
            "schedule": "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20",
            "notice": "2d",
            "when": {"days_since": "checkin", "at_least": 3},
        },
    ],
}


def _events(n: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i in range(n):
        m = f"m{i:02d}"
        out += [
            {
                "id": f"j-{m}",
                "kind": "joined",
                "member": m,
                "group": "club",
                "at": "2026-11-01T09:00:00+08:00",
            },
            {
                "id": f"c-{m}",
                "kind": "joined",
                "member": m,
                "group": "camp",
                "at": "2026-11-01T09:00:00+08:00",
            },
        ]
        out += [
            {"id": f"p-{m}-{k}", "kind": "purchase", "member": m, "at": "2026-11-02T09:00:00+08:00"}
            for k in range(i % 3)
        ]
        if i % 2:
            out.append(
                {
                    "id": f"k-{m}",
                    "kind": "checkin",
                    "member": m,
                    "group": "camp",
                    "at": "2026-11-19T09:00:00+08:00",
                }
            )
    return out


class _Counting:
    """Wraps the facts' ``holding`` (the SQLite store's own, which answers in SQL or
    through the closures, or the in-memory one) so that a test sees every question."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, facts: type = go.MemoryFacts) -> None:
        self.batches: list[int] = []
        original = facts.holding

        def holding(facts, condition, subjects, at, *, default_scope):  # type: ignore[no-untyped-def]
            self.batches.append(len(subjects))
            return original(facts, condition, subjects, at, default_scope=default_scope)

        monkeypatch.setattr(facts, "holding", holding)


@pytest.mark.parametrize("sqlite", [False, True], ids=["memory", "sqlite"])
def test_admission_and_eviction_ask_for_every_candidate_in_one_batch(monkeypatch, tmp_path, sqlite):
    book = go.RuleBook.load(BOOK)
    if sqlite:
        engine = go.Engine(book, store=go.SQLiteStore(tmp_path / "g.db"), entry_points=False)
    else:
        engine = go.Engine(book, entry_points=False)
    engine.ingest(_events(12))
    counting = _Counting(monkeypatch, SQLiteFacts if sqlite else go.MemoryFacts)
    report = engine.run(AT)
    # one question for the 12 candidates of the admission, one for the 12 of the notice
    assert sorted(counting.batches) == [12, 12]
    invited = sorted(d.member for d in report.decisions if d.action == "invite")
    noticed = sorted(d.member for d in report.decisions if d.action == "notice")
    assert invited == [f"m{i:02d}" for i in range(12) if i % 3 == 2]
    assert noticed == [f"m{i:02d}" for i in range(12) if i % 2 == 0]
    # the explanations are built for the decisions made, as before
    assert all(d.explanation is not None and d.explanation.passed for d in report.decisions)
    engine.close()


def test_a_condition_over_other_members_is_decided_one_membership_at_a_time(monkeypatch):
    # who a member referred may be evicted earlier in the same loop: no batch answer
    book = {
        **BOOK,
        "policies": [
            {
                "id": "vip",
                "type": "admission",
                "from": ["club"],
                "to": "vip",
                "when": {"referees": {"count": "purchase", "at_least": 1}, "at_least": 1},
            }
        ],
    }
    engine = go.Engine(go.RuleBook.load(book), entry_points=False)
    engine.ingest(_events(4))
    counting = _Counting(monkeypatch)
    engine.run(AT)
    assert counting.batches == []


def test_a_failing_metric_is_that_members_alone_and_the_rest_are_decided_from_the_batch():
    book = {
        **BOOK,
        "policies": [
            {
                "id": "vip",
                "type": "admission",
                "from": ["club"],
                "to": "vip",
                "when": {"metric": "spend", "at_least": 1},
            }
        ],
    }
    asked: list[str] = []

    class Spend:
        @go.hookimpl
        def groupops_register_metrics(self, register):  # type: ignore[no-untyped-def]
            def spend(history, *, group, start, end):  # type: ignore[no-untyped-def]
                n = history.count("purchase", None, start, end)
                asked.append(str(n))
                if n == 1:
                    raise RuntimeError("one purchase trips the plugin")
                return float(n)

            register("spend", spend)

    engine = go.Engine(go.RuleBook.load(book), plugins=[Spend()], entry_points=False)
    engine.ingest(_events(3))  # m00: no purchase, m01: one, m02: two
    report = engine.run(AT)
    assert [d.member for d in report.decisions] == ["m02"]
    assert [(f.member, f.error) for f in report.failures] == [
        ("m01", "RuntimeError: one purchase trips the plugin")
    ]
