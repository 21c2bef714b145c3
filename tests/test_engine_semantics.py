"""The semantics of a run: fixed points, late runs, numbered invitations, explaining the past."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import groupops as go
from groupops.testing import histories, rerun_changes_nothing, rule_books

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)
_ids = itertools.count()


def _event(kind: str, member: str, group: str | None, at: datetime, **data: object) -> go.Event:
    return go.Event(id=f"s{next(_ids)}", kind=kind, member=member, group=group, at=at, data=dict(data))


def _engine(book: dict, store: go.Store | str | None = None, **kw: object) -> go.Engine:
    messenger = go.RecordingMessenger(name="main")

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

    def restless(policy, at, profiles, members=None):
        made: list[go.Decision] = []
        ms = engine.store.get_membership("m1", "club")
        d = engine._decision(policy.id, "promote", ms, f"flip-{next(steps)}", at, None)
        engine._apply(made, d, ms, None, profiles)
        return made

    monkeypatch.setattr(engine, "_ladder", restless)
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
