"""A whole season, run day by day, checked decision by decision."""

from __future__ import annotations

from datetime import timedelta

import pytest
from _season import EXPECTED, book, events, run_times

import groupops as go
import groupops.testing


def _engine(store: go.Store | None = None) -> go.Engine:
    return go.Engine(book(), store=store or go.MemoryStore(), entry_points=False)


def _season(engine: go.Engine, times=None) -> list[go.Decision]:
    engine.ingest(events())
    made: list[go.Decision] = []
    for at in times or run_times():
        made += engine.run(at).decisions
    return made


def test_every_decision_of_the_season_in_order():
    made = _season(_engine())
    got = [(d.member, d.action, d.at) for d in made]
    assert got == EXPECTED


def test_final_memberships_reflect_the_season():
    engine = _engine()
    _season(engine)
    ms = {m.member: m for m in engine.store.memberships(group="camp")}
    assert (ms["a"].status, ms["a"].role) == ("active", "active")
    assert (ms["b"].status, ms["b"].revivals) == ("evicted", 1)
    assert ms["c"].status == "active"
    assert (ms["d"].status, ms["d"].role) == ("active", "lecturer")
    assert ms["e"].status == "evicted"
    assert (ms["f"].status, ms["f"].role) == ("active", "member")


def test_notice_and_eviction_share_the_period_and_explain_what_is_missing():
    engine = _engine()
    made = _season(engine)
    b = [d for d in made if d.member == "b" and d.action in ("notice", "evict")]
    assert [d.period for d in b[:2]] == ["2026-09-20T20:00:00+08:00"] * 2
    notice = engine.store.messages(decision=b[0].id)
    assert len(notice) == 1
    assert "checked in 8 days ago; needs fewer than 7 days" in notice[0].text
    # noticed at 21:00 on Friday: the removal waits until 21:00 on Sunday, two whole days
    assert notice[0].text.startswith("b, you are at risk of removal from Camp 7 at 2026-09-20 21:00")


def test_rerunning_any_day_changes_nothing():
    engine = _engine()
    _season(engine)
    before = engine.store.decisions()
    for at in run_times():
        assert engine.run(at).decisions == ()
    assert engine.store.decisions() == before


def test_every_decision_records_the_book_revision():
    engine = _engine()
    made = _season(engine)
    assert {d.revision for d in made} == {engine.book.revision}


def test_a_late_run_notices_once_and_evicts_only_after_the_whole_notice():
    # one run at the end of the season, after every period's notice time and end: the
    # members at risk get one notice (for the latest period), decided when the run makes
    # it, and nobody is evicted until the notice has run its course
    eviction_only = book().model_copy(update={"policies": book().policies[:1]})
    late = go.Engine(eviction_only, store=go.MemoryStore(), entry_points=False)
    late.ingest(events())
    at = run_times()[-1]
    made = late.run(at).decisions
    assert [(d.member, d.action, d.at, d.period) for d in made] == [
        ("b", "notice", at, "2026-11-01T20:00:00+08:00"),
        ("e", "notice", at, "2026-11-01T20:00:00+08:00"),
    ]
    assert late.run(at).decisions == ()
    assert late.run(at + timedelta(days=2) - timedelta(minutes=1)).decisions == ()
    evicted = late.run(at + timedelta(days=2)).decisions
    assert [(d.member, d.action, d.at) for d in evicted] == [
        ("b", "evict", at + timedelta(days=2)),
        ("e", "evict", at + timedelta(days=2)),
    ]
    assert {d.period for d in evicted} == {"2026-11-01T20:00:00+08:00"}
    go.testing.assert_invariants(late)


def test_out_of_order_ingest_gives_the_same_season():
    engine = _engine()
    engine.ingest(list(reversed(events())))
    made = [d for at in run_times() for d in engine.run(at).decisions]
    assert [(d.member, d.action, d.at) for d in made] == EXPECTED


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_explain_shows_the_requirement_table(locale):
    engine = _engine()
    _season(engine)
    report = engine.explain("e", "camp", "weekly", run_times()[-1])
    text = report.render(locale)
    assert report.sections[0].title == "to stay"
    assert not report.sections[0].explanation.passed
    assert ("never checked in" if locale == "en" else "从未打卡") in text
    # the title and every note are in the locale too
    assert report.sections[0].title_text(locale) in text
    assert [n.kind for n in report.notes] == ["period"]
    period = report.notes[0].text(locale)
    assert period in text and ("period ends" if locale == "en" else "结束") in period
