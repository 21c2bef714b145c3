"""The ``invite`` kind: a bulk invitation of a segment, members in no group included, on
a real SQLite file."""

from datetime import UTC, datetime, timedelta

import pytest

import groupops as go
from groupops.testing import RecordingMessenger

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class _Messengers:
    def __init__(self, *messengers):
        self.messengers = messengers

    @go.hookimpl
    def groupops_register_messengers(self, register):
        for m in self.messengers:
            register(m)


def _book(**policy):
    return {
        "timezone": "UTC",
        "groups": [{"id": "welfare", "name": "Welfare"}, {"id": "vip", "name": "VIP", "kind": "paid"}],
        "segments": {
            "bplus": {"label": "B+"},
            "sdr": {"source": "sdr"},
        },
        "policies": [
            {"id": "inv", "type": "invite", "segment": "bplus", "to": "vip", "at": AT.isoformat(), **policy}
        ],
    }


def _engine(tmp_path, messenger=None, **policy):
    messenger = messenger or RecordingMessenger()
    engine = go.Engine(
        go.RuleBook.load(_book(**policy)),
        store=str(tmp_path / "g.db"),
        plugins=[_Messengers(messenger)],
        entry_points=False,
        default_messenger=messenger.name,
    )
    return engine, messenger


def _people(engine):
    joined = AT - timedelta(days=30)
    engine.ingest(
        [
            go.Member(id="ann", name="Ann", labels=["B+"]),  # in no group
            go.Member(id="bob", name="Bob", labels=["B+"], source="sdr"),  # in welfare
            go.Member(id="cat", name="Cat", labels=["B+"]),  # already in vip
            go.Member(id="dan", name="Dan", labels=["A"], source="sdr"),  # not in the segment
            go.Event(id="j1", member="bob", group="welfare", kind="joined", at=joined),
            go.Event(id="j2", member="cat", group="vip", kind="joined", at=joined),
        ]
    )


def test_the_segment_is_invited_once_members_in_no_group_included_and_not_those_already_in(tmp_path):
    engine, messenger = _engine(tmp_path)
    with engine:
        _people(engine)
        made = engine.run(AT).decisions
        assert not engine.run(AT).decisions
        assert not engine.run(AT + timedelta(days=40)).decisions  # no expires: never again
        engine.deliver(AT)
    assert [(d.member, d.group, d.period, d.at) for d in made] == [
        ("ann", "vip", "invite-1", AT),
        ("bob", "vip", "invite-1", AT),
    ]
    assert made[0].explanation is not None and made[0].explanation.passed
    assert sorted((m.recipient, m.text) for m in messenger.delivered) == [
        ("ann", "Ann, you are invited to join VIP (invitation 1 of 1)."),
        ("bob", "Bob, you are invited to join VIP (invitation 1 of 1)."),
    ]


def test_a_member_in_two_overlapping_segments_is_invited_once(tmp_path):
    engine, _ = _engine(tmp_path, segment=["bplus", "sdr"])
    with engine:
        _people(engine)
        made = engine.run(AT).decisions
    assert sorted(d.member for d in made) == ["ann", "bob", "dan"]


def test_a_member_who_joins_between_decision_and_delivery_is_not_invited(tmp_path):
    engine, messenger = _engine(tmp_path)
    with engine:
        _people(engine)
        engine.run(AT)
        engine.ingest(
            [go.Event(id="j3", member="ann", group="vip", kind="joined", at=AT + timedelta(minutes=5))]
        )
        report = engine.deliver(AT + timedelta(minutes=10))
        cancelled = engine.store.messages(status="cancelled")
    assert [m.recipient for m in messenger.delivered] == ["bob"]
    assert [m.member for m in cancelled] == ["ann"] and report.cancelled == (cancelled[0].key,)
    assert cancelled[0].last_error == "'ann' is present in 'vip' already"


def test_after_expires_a_member_not_joined_is_invited_once_more_then_never_again(tmp_path):
    engine, messenger = _engine(tmp_path, expires="14d")
    with engine:
        _people(engine)
        engine.run(AT)
        engine.ingest(
            [go.Event(id="j3", member="bob", group="vip", kind="joined", at=AT + timedelta(days=3))]
        )
        assert not engine.run(AT + timedelta(days=13)).decisions
        late = engine.run(AT + timedelta(days=20)).decisions  # a late run: decided at its moment
        assert not engine.run(AT + timedelta(days=60)).decisions
        engine.deliver(AT + timedelta(days=20))
    assert [(d.member, d.period, d.at) for d in late] == [("ann", "invite-2", AT + timedelta(days=14))]
    assert "Ann, you are invited to join VIP (reminder 1 of 1)." in [m.text for m in messenger.delivered]


def test_a_scheduled_invitation_picks_up_members_who_enter_the_segment_later(tmp_path):
    engine, _ = _engine(tmp_path, at=None, schedule="FREQ=DAILY;BYHOUR=10", start=AT.isoformat())
    with engine:
        _people(engine)
        first = engine.run(AT).decisions
        engine.ingest([go.Member(id="dan", name="Dan", labels=["A", "B+"], source="sdr")])
        second = engine.run(AT + timedelta(days=1)).decisions
    assert sorted(d.member for d in first) == ["ann", "bob"]
    assert [d.member for d in second] == ["dan"]


def test_an_invite_needs_a_segment_and_a_known_group():
    with pytest.raises(go.RuleError, match="segment"):
        go.RuleBook.load(_book(segment="nope"))
    with pytest.raises(go.RuleError, match=r"policies\[0\]\.to: unknown group 'vipp'"):
        go.RuleBook.load(_book(to="vipp"))
    data = _book()
    del data["policies"][0]["segment"]
    with pytest.raises(go.RuleError, match=r"policies\[0\]\.segment: is required"):
        go.RuleBook.load(data)
