"""The migrate kind (issue 15): the call, invitations for those who replied in the
window, then the old group dissolved."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

import groupops as go
from groupops.testing import RecordingMessenger

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 4, 1, 10, tzinfo=TZ)
END = START + timedelta(days=3)


def _book(to="g2", families=(), groups=()):
    return go.RuleBook.load(
        {
            "timezone": "Asia/Shanghai",
            "families": list(families),
            "groups": [
                {"id": "d1", "name": "老群", "operators": ["op1"]},
                {"id": "g2", "name": "新群"},
                *groups,
            ],
            "policies": [
                {
                    "id": "move-out",
                    "type": "migrate",
                    "from": "d1",
                    "to": to,
                    "start": START.isoformat(),
                    "window": "3d",
                    "reply": "1",
                }
            ],
        }
    )


class _Messengers:
    def __init__(self, messenger):
        self.messenger = messenger

    @go.hookimpl
    def groupops_register_messengers(self, register):
        register(self.messenger)


def _engine(book, messenger=None):
    messenger = messenger or RecordingMessenger()
    return go.Engine(
        book, plugins=[_Messengers(messenger)], entry_points=False, default_messenger=messenger.name
    )


def _members(engine, names):
    engine.ingest(
        [
            go.Event(id=f"j-{m}", kind="joined", member=m, group="d1", at=START - timedelta(days=90))
            for m in names
        ]
    )


def _reply(i, member, at, text="1"):
    return go.Event(id=f"r{i}", kind="message", member=member, group="d1", at=at, data={"text": text})


def test_the_call_then_invites_for_replies_in_the_window_then_the_old_group_dissolved():
    messenger = RecordingMessenger()
    with _engine(_book(), messenger) as engine:
        engine.run(START - timedelta(days=1))
        _members(engine, ["ann", "bob", "cat", "dan", "eve"])
        call = engine.run(START).decisions
        engine.deliver(START)
        engine.ingest(
            [
                _reply(1, "ann", START + timedelta(hours=1)),
                _reply(2, "bob", END),  # exactly at the window's end: counts
                _reply(3, "cat", END + timedelta(seconds=1)),  # after it: does not
                _reply(4, "dan", START + timedelta(hours=2), text="好的"),  # not the reply
                _reply(5, "ann", START + timedelta(hours=3)),  # twice: one invitation
            ]
        )
        made = engine.run(END + timedelta(days=1)).decisions
        engine.deliver(END + timedelta(days=1))
        assert not engine.run(END + timedelta(days=2)).decisions
        assert engine.store.get_group("d1").status == "dissolved"
    assert [(d.action, d.group, d.at) for d in call] == [("migrate_call", "d1", START)]
    assert [(d.action, d.member, d.group, d.at) for d in made] == [
        ("invite", "ann", "g2", END),
        ("invite", "bob", "g2", END),
        ("dissolve", None, "d1", END),
    ]
    texts = {(m.action, m.recipient): m.text for m in messenger.delivered}
    assert texts[("migrate_call", "d1")] == "老群 is closing. Reply 1 by 2026-04-04 10:00 to move to 新群."
    assert texts[("invite", "ann")] == "ann, you are invited to join 新群 (老群 has ended)."


def test_invitations_to_a_family_are_routed_by_capacity():
    families = [{"id": "new", "capacity": 2, "name": "新群 {n}"}]
    groups = [{"id": "n1", "family": "new", "capacity": 2}, {"id": "n2", "family": "new", "capacity": 2}]
    with _engine(_book(to="new", families=families, groups=groups)) as engine:
        engine.run(START - timedelta(days=1))
        _members(engine, ["a", "b", "c", "d", "e"])
        engine.ingest(
            [go.Event(id="jx", kind="joined", member="x", group="n1", at=START - timedelta(days=1))]
        )
        engine.ingest([_reply(i, m, START + timedelta(hours=i)) for i, m in enumerate("abcde")])
        made = engine.run(END).decisions
    invites = [(d.member, d.group) for d in made if d.action == "invite"]
    # n1 holds x: one place left; n2 two; then the least full
    assert invites == [("a", "n1"), ("b", "n2"), ("c", "n2"), ("d", "n1"), ("e", "n2")]


def test_a_book_with_an_unknown_from_or_to_is_refused():
    try:
        go.RuleBook.load(
            {
                "groups": [{"id": "a"}],
                "policies": [
                    {
                        "id": "m",
                        "type": "migrate",
                        "from": "x",
                        "to": "y",
                        "start": START.isoformat(),
                        "window": "1d",
                    }
                ],
            }
        )
    except go.RuleError as exc:
        assert "policies[0].from: unknown group 'x'" in str(exc)
        assert "policies[0].to: unknown group 'y'" in str(exc)
    else:
        raise AssertionError("loaded")


@settings(max_examples=25, deadline=None)
@given(
    replies=st.lists(
        st.tuples(
            st.sampled_from(["m0", "m1", "m2", "m3", "m4"]),
            st.integers(min_value=-24 * 60, max_value=5 * 24 * 60),
            st.sampled_from(["1", " 1 ", "2", "ok"]),
        ),
        max_size=12,
    ),
    runs=st.lists(st.integers(min_value=-24 * 60, max_value=6 * 24 * 60), max_size=4),
)
def test_migration_invites_exactly_those_who_replied_in_the_window(replies, runs):
    events = [_reply(i, m, START + timedelta(minutes=t), text) for i, (m, t, text) in enumerate(replies)]
    with _engine(_book()) as engine:
        engine.run(START - timedelta(days=2))
        _members(engine, [f"m{i}" for i in range(5)])
        engine.ingest(events)
        made = []
        for t in sorted(set(runs)):
            made += engine.run(START + timedelta(minutes=t)).decisions
        made += engine.run(END + timedelta(days=3)).decisions
    invited = sorted(d.member for d in made if d.action == "invite")
    expected = sorted({e.member for e in events if e.data["text"].strip() == "1" and START <= e.at <= END})
    assert invited == expected
    assert [d.action for d in made].count("dissolve") == 1
    assert [d.action for d in made].count("migrate_call") == 1
