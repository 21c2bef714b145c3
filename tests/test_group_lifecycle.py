"""Group lifecycle kinds (issue 15): dissolve, and the law that nothing is decided on a
dissolved group."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

import groupops as go
from groupops.testing import RecordingMessenger

TZ = ZoneInfo("Asia/Shanghai")
END = datetime(2026, 10, 8, 0, 0, tzinfo=TZ)


def _book(*, at=True, ends_at=None, extra=()):
    flash = {"id": "flash", "name": "国庆闪购群", "kind": "flash", "operators": ["op1"]}
    if ends_at is not None:
        flash["ends_at"] = ends_at.isoformat()
    dissolve = {"id": "flash-end", "type": "dissolve", "group": "flash", "invite_to": "welfare"}
    if at:
        dissolve["at"] = END.isoformat()
    return go.RuleBook.load(
        {
            "timezone": "Asia/Shanghai",
            "groups": [flash, {"id": "welfare", "name": "福利社"}],
            "policies": [dissolve, *extra],
        }
    )


def _engine(book, messenger=None, store=None):
    messenger = messenger or RecordingMessenger()
    return go.Engine(
        book,
        **({"store": store} if store is not None else {}),
        plugins=[_Messengers(messenger)],
        entry_points=False,
        default_messenger=messenger.name,
    )


class _Messengers:
    def __init__(self, *messengers):
        self.messengers = messengers

    @go.hookimpl
    def groupops_register_messengers(self, register):
        for m in self.messengers:
            register(m)


def _join(member, group, at, i=0):
    return go.Event(id=f"j-{member}-{group}-{i}", kind="joined", member=member, group=group, at=at)


def _members(engine, before=END - timedelta(days=5)):
    engine.ingest(
        [
            go.Member(id="ann", name="Ann"),
            go.Member(id="bob", name="Bob"),
            go.Member(id="cat", name="Cat"),
            _join("ann", "flash", before),
            _join("bob", "flash", before),
            _join("cat", "flash", before),
            _join("bob", "welfare", before),  # already there: not invited
        ]
    )


def test_a_dissolve_at_its_moment_invites_the_members_not_already_there_and_dissolves_once(tmp_path):
    messenger = RecordingMessenger()
    with _engine(_book(), messenger, store=str(tmp_path / "g.db")) as engine:
        engine.run(END - timedelta(days=10))
        _members(engine)
        assert not engine.run(END - timedelta(microseconds=1)).decisions
        made = engine.run(END).decisions
        engine.deliver(END)
        assert not engine.run(END).decisions
        assert not engine.run(END + timedelta(days=3)).decisions
        assert engine.store.get_group("flash").status == "dissolved"
        (change,) = [c for c in engine.store.group_history("flash") if "status" in c.fields]
    assert [(d.action, d.member, d.group, d.at) for d in made] == [
        ("invite", "ann", "welfare", END),
        ("invite", "cat", "welfare", END),
        ("dissolve", None, "flash", END),
    ]
    assert made[0].target_group == "welfare"
    assert change.decision == made[-1].id and change.at == END
    texts = {(m.action, m.recipient): m.text for m in messenger.delivered}
    assert texts[("invite", "ann")] == "Ann, you are invited to join 福利社 (国庆闪购群 has ended)."
    assert texts[("dissolve", "flash")] == "国庆闪购群 has ended and is dissolved. Thank you for taking part!"


def test_a_dissolve_without_at_uses_the_groups_ends_at():
    with _engine(_book(at=False, ends_at=END)) as engine:
        engine.run(END - timedelta(days=10))
        made = engine.run(END + timedelta(hours=1)).decisions
    assert [(d.action, d.at) for d in made] == [("dissolve", END)]


def test_a_dissolve_with_no_moment_does_nothing():
    with _engine(_book(at=False)) as engine:
        engine.run(END - timedelta(days=10))
        assert not engine.run(END + timedelta(days=100)).decisions


def test_a_run_two_days_late_dissolves_at_the_moment_and_decides_nothing_on_the_group_after_it():
    welcome = {"id": "hello", "type": "welcome", "groups": ["flash", "welfare"], "within": "7d"}
    with _engine(_book(extra=[welcome])) as engine:
        engine.run(END - timedelta(days=10))
        engine.ingest(
            [
                _join("ann", "flash", END - timedelta(hours=1)),  # before the end: welcomed
                _join("bob", "flash", END + timedelta(days=1)),  # after: not
                _join("cat", "welfare", END + timedelta(days=1)),
            ]
        )
        made = engine.run(END + timedelta(days=2)).decisions
    assert [(d.action, d.member, d.group, d.at) for d in made] == [
        ("welcome", "ann", "flash", END - timedelta(hours=1)),
        ("invite", "ann", "welfare", END),
        ("dissolve", None, "flash", END),
        ("welcome", "cat", "welfare", END + timedelta(days=1)),
    ]


def test_a_messenger_that_cannot_dissolve_gets_an_operator_task():
    messenger = RecordingMessenger.text_only()
    with _engine(_book(), messenger) as engine:
        engine.run(END - timedelta(days=10))
        engine.run(END)
        engine.deliver(END)
    assert [(m.action, m.recipient) for m in messenger.delivered] == [("task", "op1")]


def test_a_book_naming_an_unknown_group_to_dissolve_is_refused():
    try:
        go.RuleBook.load(
            {
                "groups": [{"id": "a"}],
                "policies": [{"id": "x", "type": "dissolve", "group": "b", "invite_to": "c"}],
            }
        )
    except go.RuleError as exc:
        assert "policies[0].group: unknown group 'b' (groups: a)" in str(exc)
        assert "policies[0].invite_to: unknown group 'c'" in str(exc)
    else:
        raise AssertionError("loaded")


@settings(max_examples=20, deadline=None)
@given(
    joins=st.lists(st.integers(min_value=-5 * 24, max_value=5 * 24), min_size=1, max_size=6),
    runs=st.lists(st.integers(min_value=-4 * 24, max_value=6 * 24), min_size=1, max_size=5),
)
def test_nothing_is_decided_on_a_dissolved_group(joins, runs):
    """Whatever the joins and the run times, with built-in kinds on the group (welcome,
    a weekly eviction), no decision about the group is dated after its dissolution."""
    extra = [
        {"id": "hello", "type": "welcome", "groups": ["flash"], "within": "30d"},
        {
            "id": "weekly",
            "type": "eviction",
            "groups": ["flash"],
            "schedule": "FREQ=DAILY;BYHOUR=20",
            "notice": "12h",
            "when": {"count": "checkin", "within": "7d", "below": 1},
        },
    ]
    with _engine(_book(extra=extra)) as engine:
        engine.run(END - timedelta(days=6))
        engine.ingest([_join(f"m{i}", "flash", END + timedelta(hours=h), i) for i, h in enumerate(joins)])
        made = []
        for h in sorted(set(runs)):
            made += engine.run(END + timedelta(hours=h)).decisions
        made += engine.run(END + timedelta(days=7)).decisions
    on_flash = [d for d in made if d.group == "flash"]
    assert [d.action for d in on_flash].count("dissolve") == 1
    assert all(d.at <= END for d in on_flash)
    assert all(d.at < END for d in on_flash if d.action != "dissolve")
