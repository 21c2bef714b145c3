"""The semantics of a run: fixed points, late runs, numbered invitations, explaining the past."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import groupops as go
import groupops.testing
from groupops.rules.kinds import Verdict
from groupops.testing import RecordingMessenger, histories, rerun_changes_nothing, rule_books

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)
_event_ids = itertools.count()


def _event(kind: str, member: str, group: str | None, at: datetime, **data: object) -> go.Event:
    return go.Event(id=f"s{next(_event_ids)}", kind=kind, member=member, group=group, at=at, data=dict(data))


def _engine(book: dict, store: go.Store | str | None = None, **kw: object) -> go.Engine:
    messenger = RecordingMessenger(name="main")

    class Plugin:
        @go.hookimpl
        def groupops_register_messengers(self, register):
            register(messenger)

    return go.Engine(
        go.RuleBook.load(book),
        store=store if store is not None else go.MemoryStore(),
        plugins=[Plugin()],
        entry_points=False,
        default_messenger="main",
        **kw,
    )


def _groups(*ids: str) -> list[dict]:
    return [{"id": g, "name": g.upper()} for g in ids]


# -- item 4: invitations stop after max_invitations ------------------------------------------------


def _admission_book(**policy: object) -> dict:
    return {
        "timezone": "Asia/Shanghai",
        "groups": _groups("club", "vip"),
        "policies": [
            {
                "id": "vip",
                "type": "admission",
                "from": ["club"],
                "to": "vip",
                "expires": "7d",
                "when": {"count": "purchase", "at_least": 2},
            }
            | policy
        ],
    }


def _buyer(engine: go.Engine) -> None:
    engine.ingest(
        [
            _event("joined", "m1", "club", T0 - timedelta(days=30)),
            _event("purchase", "m1", "club", T0 - timedelta(days=3)),
            _event("purchase", "m1", "club", T0 - timedelta(days=2)),
        ]
    )


def _invites_every_day(engine: go.Engine, days: int) -> list[str]:
    made = []
    for day in range(days):
        made += [d.period for d in engine.run(T0 + timedelta(days=day)).decisions if d.action == "invite"]
    return made


def test_invitations_stop_after_the_default_two():
    engine = _engine(_admission_book())
    _buyer(engine)
    assert _invites_every_day(engine, 60) == ["invite-1", "invite-2"]


@pytest.mark.parametrize("most", [1, 3])
def test_max_invitations_bounds_the_reminders(most):
    engine = _engine(_admission_book(max_invitations=most))
    _buyer(engine)
    assert _invites_every_day(engine, 60) == [f"invite-{n}" for n in range(1, most + 1)]


def test_max_invitations_below_one_is_refused_naming_the_field():
    with pytest.raises(go.RuleError) as info:
        go.RuleBook.load(_admission_book(max_invitations=0))
    assert "policies[0].max_invitations" in str(info.value)
    assert "max_invitations" in go.rule_book_schema()["$defs"]["Admission"]["properties"]


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_only_members_present_in_the_source_group_and_absent_from_the_paid_one_are_invited(store, tmp_path):
    """Buyers alike: one still in the club (invited), one who left it (not: the admission
    takes members from the club), one in the paid group already (not), one who left the
    paid group (invited again: no longer in it)."""
    engine = _engine(_admission_book(), go.SQLiteStore(tmp_path / "a.db") if store == "sqlite" else None)
    joined = T0 - timedelta(days=30)
    events = []
    for m in ("stays", "left-club", "in-vip", "left-vip"):
        events += [
            _event("joined", m, "club", joined),
            _event("purchase", m, None, T0 - timedelta(days=3)),
            _event("purchase", m, None, T0 - timedelta(days=2)),
        ]
    events += [
        _event("left", "left-club", "club", T0 - timedelta(days=1)),
        _event("joined", "in-vip", "vip", joined),
        _event("joined", "left-vip", "vip", joined),
        _event("left", "left-vip", "vip", T0 - timedelta(days=1)),
    ]
    engine.ingest(events)
    invited = sorted(d.member for d in engine.run(T0).decisions if d.action == "invite")
    assert invited == ["left-vip", "stays"]


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_each_admission_counts_its_own_invitations(store, tmp_path):
    """Two admissions into two groups: each numbers and bounds its own invitations (on
    SQLite, read back as decision heads), not the other's: a member invited to one is
    invited to the other once they qualify for it too."""
    book = _admission_book(max_invitations=1)
    book["groups"] = _groups("club", "vip", "gold")
    gold = {"id": "gold", "to": "gold", "when": {"count": "purchase", "at_least": 3}}
    book["policies"].append(book["policies"][0] | gold)
    engine = _engine(book, go.SQLiteStore(tmp_path / "g.db") if store == "sqlite" else None)
    _buyer(engine)
    made = [
        (d.policy, d.period, day) for day in range(5) for d in engine.run(T0 + timedelta(days=day)).decisions
    ]
    engine.ingest([_event("purchase", "m1", "club", T0 + timedelta(days=5))])
    made += [
        (d.policy, d.period, day)
        for day in range(5, 20)
        for d in engine.run(T0 + timedelta(days=day)).decisions
    ]
    assert made == [("vip", "invite-1", 0), ("gold", "invite-1", 5)]


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_a_vetoed_invitation_is_not_followed_by_a_reminder(store, tmp_path):
    """A vetoed invitation is recorded and never reconsidered: it is no invitation the
    member had, so no reminder follows it when it would have expired."""

    class NoInvitations:
        @go.hookimpl
        def groupops_veto_action(self, decision):
            return "opted out of offers"

    engine = go.Engine(
        go.RuleBook.load(_admission_book()),
        store=go.SQLiteStore(tmp_path / "g.db") if store == "sqlite" else go.MemoryStore(),
        plugins=[NoInvitations()],
        entry_points=False,
    )
    _buyer(engine)
    made = [d for day in range(30) for d in engine.run(T0 + timedelta(days=day)).decisions]
    assert [(d.period, d.status) for d in made] == [("invite-1", "vetoed")]


@pytest.mark.parametrize(
    ("locale", "first", "second"),
    [
        ("en", "M1, you are invited to join VIP (invitation 1 of 2).", "(reminder 1 of 1)."),
        ("zh", "M1，诚邀您加入VIP（第 1 次邀请，共 2 次）。", "（第 2 次邀请，共 2 次）。"),
    ],
)
def test_the_message_says_which_invitation_it_is(locale, first, second):
    engine = _engine(_admission_book() | {"locale": locale})
    engine.ingest([go.Member(id="m1", name="M1")])
    _buyer(engine)
    _invites_every_day(engine, 30)
    texts = [m.text for m in engine.store.messages(member="m1")]
    assert texts[0] == first
    assert texts[1].endswith(second)


# -- item 1: a run is a fixed point ----------------------------------------------------------------

LADDER_THEN_ADMISSION = {
    "timezone": "Asia/Shanghai",
    "groups": _groups("club", "vip"),
    "policies": [
        {
            "id": "roles",
            "type": "ladder",
            "groups": ["club"],
            "steps": [{"role": "member"}, {"role": "active", "promote": {"count": "checkin", "at_least": 2}}],
        },
        {"id": "vip", "type": "admission", "from": ["club"], "to": "vip", "when": {"role": "active"}},
    ],
}


def test_decisions_that_follow_from_a_decision_are_made_in_the_same_run():
    engine = _engine(LADDER_THEN_ADMISSION)
    engine.ingest(
        [
            _event("joined", "m1", "club", T0 - timedelta(days=3)),
            _event("checkin", "m1", "club", T0 - timedelta(days=2)),
            _event("checkin", "m1", "club", T0 - timedelta(days=1)),
        ]
    )
    first = engine.run(T0).decisions
    assert [(d.policy, d.action) for d in first] == [("roles", "promote"), ("vip", "invite")]
    assert all(d.at == T0 for d in first)
    assert engine.run(T0).decisions == ()
    assert engine.run(T0, dry_run=True).decisions == ()


def test_a_run_that_never_settles_is_an_error_naming_the_policies(monkeypatch):
    # no built-in policy pair can cycle (each step can be taken once per instant), so
    # stand in a ladder that decides something new every time it is asked
    engine = _engine(LADDER_THEN_ADMISSION)
    engine.ingest([_event("joined", "m1", "club", T0 - timedelta(days=3))])
    steps = itertools.count(1)

    def restless(policy, rt, at, members=None):
        ms = rt.membership("m1", "club")
        d = rt.decide(policy.id, "promote", ms, f"flip-{next(steps)}", at, None)
        return [rt.apply(Verdict(d, ms))]

    monkeypatch.setattr(engine.kinds.get("ladder"), "decide", restless)
    with pytest.raises(go.RuleError) as info:
        engine.run(T0)
    assert "policies[0]: policy 'roles' still decides at 2026-11-02T09:00:00+08:00 after 3 rounds" in str(
        info.value
    )
    assert engine.store.decisions() == []  # nothing of the failed run was kept


@given(st.data())
def test_a_rerun_at_the_same_instant_decides_nothing(data):
    book = data.draw(rule_books(min_policies=1), label="book")
    tl = data.draw(histories(book=book, max_members=5, max_events=30), label="history")
    engine = go.Engine(book, entry_points=False)
    engine.ingest(tl.members)
    done = 0
    for t in tl.run_times:
        batch = [e for e in tl.events[done:] if e.at <= t]
        engine.ingest(batch)
        done += len(batch)
        engine.run(t)
        assert rerun_changes_nothing(engine, t) == []


# -- item 3: a late run gives the whole notice before evicting --------------------------------------

SUNDAY = datetime(2026, 11, 8, 20, tzinfo=TZ)  # a period end; its notice time is Friday 20:00
FRIDAY = SUNDAY - timedelta(days=2)
WEEKLY = {
    "timezone": "Asia/Shanghai",
    "groups": _groups("camp"),
    "policies": [
        {
            "id": "weekly",
            "type": "eviction",
            "groups": ["camp"],
            "schedule": "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20",
            "start": "2026-11-01T00:00:00+08:00",
            "notice": "2d",
            "when": {"days_since": "checkin", "at_least": 7},
        }
    ],
}
PERIOD = SUNDAY.isoformat()


def _silent_member(engine: go.Engine) -> None:
    engine.ingest([_event("joined", "m1", "camp", datetime(2026, 10, 1, tzinfo=TZ))])


def _ids(decisions) -> list[tuple[str, str, str]]:
    return [(d.id, d.action, d.period) for d in decisions]


def test_a_run_at_every_instant_notices_then_evicts_on_schedule():
    engine = _engine(WEEKLY)
    _silent_member(engine)
    engine.run(datetime(2026, 11, 2, tzinfo=TZ))
    [notice] = engine.run(FRIDAY).decisions
    [evict] = engine.run(SUNDAY).decisions
    assert (notice.action, notice.at, evict.action, evict.at) == ("notice", FRIDAY, "evict", SUNDAY)
    assert engine.store.get_state("eviction:weekly:deferred") in (None, "{}")
    go.testing.assert_invariants(engine)


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_a_late_run_notices_now_and_evicts_a_whole_notice_later(tmp_path, store):
    on_time = _engine(WEEKLY)
    _silent_member(on_time)
    on_time.run(datetime(2026, 11, 2, tzinfo=TZ))
    expected = _ids(on_time.run(FRIDAY).decisions + on_time.run(SUNDAY).decisions)

    late = _engine(WEEKLY, store=go.MemoryStore() if store == "memory" else str(tmp_path / "late.db"))
    _silent_member(late)
    late.run(datetime(2026, 11, 2, tzinfo=TZ))
    run_at = SUNDAY + timedelta(hours=3)  # after both the notice time and the period's end
    [notice] = late.run(run_at).decisions
    assert (notice.action, notice.at, notice.period) == ("notice", run_at, PERIOD)
    [message] = late.store.messages(decision=notice.id)
    assert "at risk of removal from CAMP at 2026-11-10 23:00" in message.text  # two whole days
    assert late.run(run_at).decisions == ()  # a rerun
    assert late.run(run_at + timedelta(days=2) - timedelta(minutes=1)).decisions == ()
    [evict] = late.run(run_at + timedelta(days=2)).decisions
    assert (evict.action, evict.at) == ("evict", run_at + timedelta(days=2))
    assert late.membership("m1", "camp").evicted_at == run_at + timedelta(days=2)
    assert _ids([notice, evict]) == expected  # the same decisions, by id, as on time
    go.testing.assert_invariants(late)


def test_a_member_who_acts_on_a_late_notice_is_spared():
    engine = _engine(WEEKLY)
    _silent_member(engine)
    engine.run(datetime(2026, 11, 2, tzinfo=TZ))
    run_at = SUNDAY - timedelta(hours=1)  # the notice came 47 hours late; the end waits
    assert [d.action for d in engine.run(run_at).decisions] == ["notice"]
    assert engine.run(SUNDAY).decisions == ()
    engine.ingest([_event("checkin", "m1", "camp", SUNDAY + timedelta(hours=5))])
    assert [d.action for d in engine.run(run_at + timedelta(days=2)).decisions] == ["spare"]


def test_a_run_late_by_several_periods_notices_once_for_the_latest():
    engine = _engine(WEEKLY)
    _silent_member(engine)
    engine.run(datetime(2026, 11, 2, tzinfo=TZ))
    run_at = SUNDAY + timedelta(weeks=3, hours=1)
    made = engine.run(run_at).decisions
    latest = (SUNDAY + timedelta(weeks=3)).isoformat()
    assert [(d.action, d.at, d.period) for d in made] == [("notice", run_at, latest)]
    [evict] = engine.run(run_at + timedelta(days=2)).decisions
    assert (evict.action, evict.period) == ("evict", latest)
    go.testing.assert_invariants(engine)


# -- item 6: explaining the past uses the membership as it was ---------------------------------------


def _season_engine(store: go.Store | str) -> go.Engine:
    import _season

    engine = go.Engine(_season.book(), store=store, entry_points=False)
    engine.ingest(_season.events())
    for at in _season.run_times():
        engine.run(at)
    return engine


def _verdict(report: go.ExplainReport) -> bool:
    """What the explanation says the decision should have been: the first section's
    verdict (to stay / to come back / invited / to be promoted / to keep the role)."""
    return report.sections[0].explanation.passed


_EXPECTED_VERDICT = {
    "notice": False,
    "evict": False,
    "spare": True,
    "revive": True,
    "promote": True,
    "demote": False,
    "invite": True,
}


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_explain_at_a_past_decision_gives_that_decision_s_verdict(tmp_path, store):
    engine = _season_engine(go.MemoryStore() if store == "memory" else str(tmp_path / "season.db"))
    decisions = engine.decisions()
    assert {d.action for d in decisions} >= {"notice", "evict", "spare", "revive", "promote", "demote"}
    for d in decisions:
        report = engine.explain(d.member, d.group, d.policy, d.at)
        assert _verdict(report) is _EXPECTED_VERDICT[d.action], (d.member, d.action, d.at)
        assert "no_history" not in [n.kind for n in report.notes]


def test_explain_a_revival_that_happened_before_a_second_eviction():
    engine = _season_engine(go.MemoryStore())
    # b: evicted 20 Sep, revived 23 Sep, evicted again 4 Oct (no second revival allowed)
    assert engine.membership("b", "camp").status == "evicted"
    [revived] = engine.decisions(member="b", action="revive")
    report = engine.explain("b", "camp", "comeback", revived.at)
    assert report.sections[0].explanation.passed
    notes = {n.kind: n.values for n in report.notes}
    assert notes["revivals"] == {"used": "0", "max": "1"}
    assert notes["window"]["deadline"].startswith("2026-10-04T21:00")  # 14d after 20 Sep 21:00
    # today the revival is used up, and the window of the second eviction has closed
    today = engine.explain("b", "camp", "comeback", datetime(2026, 11, 2, 9, tzinfo=TZ))
    assert {n.kind: n.values for n in today.notes}["revivals"] == {"used": "1", "max": "1"}


def test_explain_the_ladder_before_a_promotion_uses_the_role_held_then():
    engine = _season_engine(go.MemoryStore())
    [promoted] = engine.decisions(member="a", action="promote")
    before = engine.explain("a", "camp", "roles", promoted.at - timedelta(days=1))
    assert [(s.kind, s.values) for s in before.sections] == [("promote", {"role": "active"})]
    now = engine.explain("a", "camp", "roles", datetime(2026, 11, 2, 9, tzinfo=TZ))
    assert ("promote", {"role": "active"}) not in [(s.kind, s.values) for s in now.sections]


def test_an_old_database_without_history_falls_back_to_the_current_membership(tmp_path):
    import sqlite3

    from groupops.plugins.sqlite import MIGRATIONS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    revived = go.Membership(
        member="m1",
        group="camp",
        joined_at=SUNDAY - timedelta(weeks=8),
        evicted_at=SUNDAY - timedelta(weeks=1),
        revived_at=SUNDAY,
        revivals=1,
    )
    conn.execute(
        "INSERT INTO memberships (member, grp, status, payload) VALUES (?, ?, ?, ?)",
        ("m1", "camp", "active", revived.model_dump_json()),
    )
    conn.commit()
    conn.close()
    engine = _engine(WEEKLY, store=str(path))  # migrates to the version with history
    assert engine.store.membership_history("m1", "camp") == []
    report = engine.explain("m1", "camp", "weekly", SUNDAY - timedelta(weeks=4))
    [note] = [n for n in report.notes if n.kind == "no_history"]
    assert note.text() == (
        "no membership history reaches back to 2026-10-11T20:00:00+08:00: shown with the current membership"
    )
    assert "2026-10-11" in note.text("zh") and "当前成员状态" in note.text("zh")
