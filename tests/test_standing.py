"""A member's standing: every policy that concerns them, what they meet and miss, in
their locale; through the API, the real CLI on a SQLite file, and a ``standing`` event
answered by a messenger."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from test_cli import gops

import groupops as go
from groupops.testing import RecordingMessenger

AT = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)  # a Friday


def _book(locale="en"):
    return {
        "timezone": "UTC",
        "locale": locale,
        "groups": [
            {"id": "camp", "name": "Camp"},
            {"id": "vip", "name": "VIP", "kind": "paid"},
            {"id": "other"},
        ],
        "policies": [
            {
                "id": "weekly",
                "type": "eviction",
                "groups": ["camp"],
                "schedule": "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20",
                "notice": "2d",
                "when": {"count": "checkin", "within": "7d", "below": 3},
            },
            {
                "id": "roles",
                "type": "ladder",
                "groups": ["camp"],
                "steps": [
                    {"role": "member"},
                    {"role": "active", "promote": {"count": "message", "at_least": 10}},
                ],
            },
            {
                "id": "to-vip",
                "type": "admission",
                "from": ["camp"],
                "to": "vip",
                "when": {"count": "purchase", "at_least": 2},
            },
            {
                "id": "paying",
                "type": "tier",
                "labels": ["unpaid", "first_paid", "premium"],
                "steps": {
                    "first_paid": {"count": "payment", "at_least": 1},
                    "premium": {"sum": "payment", "at_least": 1000},
                },
            },
            {"id": "sales", "type": "handoff", "when": {"count": "demo_request", "at_least": 1}},
            {
                "id": "other-roles",
                "type": "ladder",
                "groups": ["other"],
                "steps": [{"role": "member"}, {"role": "x", "promote": {"count": "message", "at_least": 1}}],
            },
            {"id": "ask", "type": "standing"},
        ],
    }


def _ann(engine):
    engine.ingest(
        [
            go.Member(id="ann", name="Ann"),
            go.Event(id="j", member="ann", group="camp", kind="joined", at=AT - timedelta(days=30)),
            go.Event(id="c1", member="ann", group="camp", kind="checkin", at=AT - timedelta(days=1)),
            go.Event(id="p1", member="ann", kind="payment", at=AT - timedelta(days=2), value=200.0),
            go.Event(id="b1", member="ann", group="camp", kind="purchase", at=AT - timedelta(days=2)),
        ]
    )
    engine.run(AT - timedelta(hours=1))


def test_standing_lists_every_policy_that_concerns_the_member_with_what_they_meet_and_miss(tmp_path):
    with go.Engine(go.RuleBook.load(_book()), store=str(tmp_path / "g.db"), entry_points=False) as engine:
        _ann(engine)
        report = engine.standing("ann", AT)
    by_policy = {item.policy: item for item in report.items}
    # not the handoff (sales' business), not a group she is not in, not the standing policy
    assert list(by_policy) == ["weekly", "roles", "to-vip", "paying"]
    stay = by_policy["weekly"].sections[0]
    assert (stay.title, stay.explanation.passed) == ("to stay", False)
    assert stay.explanation.missing() == "checkin 1 time in the last 7 days; needs at least 3 times"
    assert by_policy["weekly"].notes[0].kind == "period"
    assert by_policy["roles"].sections[0].title == "to become active"
    assert (
        by_policy["to-vip"].sections[0].explanation.summary()
        == "purchase 1 time ever; needs at least 2 times"
    )
    paying = by_policy["paying"]
    assert [n.text() for n in paying.notes] == ["label now: first_paid"]
    assert [s.title for s in paying.sections] == ["to become premium"]
    text = report.render()
    assert text.startswith("Where Ann stands at 2026-03-06T12:00:00+00:00:")
    assert "  paying (tier):" in text and "✗ total payment 200 ever; needs at least 1000" in text


def test_standing_at_the_top_label_says_so(tmp_path):
    with go.Engine(go.RuleBook.load(_book()), store=str(tmp_path / "g.db"), entry_points=False) as engine:
        _ann(engine)
        engine.ingest(
            [go.Event(id="p2", member="ann", kind="payment", at=AT - timedelta(hours=2), value=900.0)]
        )
        engine.run(AT)
        [paying] = [i for i in engine.standing("ann", AT).items if i.policy == "paying"]
    assert paying.sections == () and [n.text("zh") for n in paying.notes] == [
        "当前标签：premium",
        "premium 已是最高等级",
    ]


def test_an_unknown_member_has_no_standing(tmp_path):
    with go.Engine(go.RuleBook.load(_book()), store=str(tmp_path / "g.db"), entry_points=False) as engine:
        with pytest.raises(go.UnknownMemberError):
            engine.standing("nobody", AT)


def test_a_standing_event_is_answered_once_in_the_books_locale(tmp_path):
    messenger = RecordingMessenger()

    class P:
        @go.hookimpl
        def groupops_register_messengers(self, register):
            register(messenger)

    book = go.RuleBook.load(_book("zh"))
    with go.Engine(
        book, store=str(tmp_path / "g.db"), plugins=[P()], entry_points=False, default_messenger="recording"
    ) as engine:
        _ann(engine)
        engine.ingest([go.Event(id="ask-1", member="ann", kind="standing", at=AT)])
        made = [d for d in engine.run(AT + timedelta(minutes=1)).decisions if d.action == "standing"]
        assert not [d for d in engine.run(AT + timedelta(minutes=2)).decisions if d.action == "standing"]
        engine.deliver(AT + timedelta(minutes=2))
    assert [(d.member, d.at) for d in made] == [("ann", AT)]
    [answer] = [m for m in messenger.delivered if m.action == "standing"]
    assert answer.recipient == "ann" and answer.text.startswith("Ann 的当前进度")
    assert "paying（等级）：" in answer.text


def test_the_cli_shows_a_standing_from_a_sqlite_file(tmp_path):
    db, rules = tmp_path / "g.db", tmp_path / "book.yaml"
    rules.write_text(yaml.safe_dump(_book(), allow_unicode=True), encoding="utf-8")
    with go.Engine(go.RuleBook.load(_book()), store=str(db), entry_points=False) as engine:
        _ann(engine)
    out = gops("standing", "ann", "--db", db, "--rules", rules, "--at", AT.isoformat(), cwd=tmp_path).stdout
    assert "Where Ann stands" in out and "to become premium:" in out
    data = json.loads(
        gops(
            "standing", "ann", "--db", db, "--rules", rules, "--at", AT.isoformat(), "--json", cwd=tmp_path
        ).stdout
    )
    assert [i["policy"] for i in data["items"]] == ["weekly", "roles", "to-vip", "paying"]
    zh = gops(
        "standing",
        "ann",
        "--db",
        db,
        "--rules",
        rules,
        "--at",
        AT.isoformat(),
        "--locale",
        "zh",
        cwd=tmp_path,
    )
    assert "Ann 的当前进度" in zh.stdout
    gops("standing", "nobody", "--db", db, "--rules", rules, cwd=tmp_path, ok=False)


def test_a_standing_answer_uses_the_members_own_locale(tmp_path):
    messenger = RecordingMessenger()

    class P:
        @go.hookimpl
        def groupops_register_messengers(self, register):
            register(messenger)

    book = go.RuleBook.load(_book("en"))
    with go.Engine(
        book, store=str(tmp_path / "g.db"), plugins=[P()], entry_points=False, default_messenger="recording"
    ) as engine:
        _ann(engine)
        engine.ingest(
            [
                go.Member(id="ann", name="Ann", attributes={"locale": "zh"}),
                go.Event(id="ask-1", member="ann", kind="standing", at=AT),
            ]
        )
        engine.run(AT + timedelta(minutes=1))
        engine.deliver(AT + timedelta(minutes=1))
    [answer] = [m for m in messenger.delivered if m.action == "standing"]
    assert answer.text.startswith("Ann 的当前进度")


def test_the_cli_explains_a_member_wide_policy_with_its_label_history(tmp_path):
    db, rules = tmp_path / "g.db", tmp_path / "book.yaml"
    rules.write_text(yaml.safe_dump(_book(), allow_unicode=True), encoding="utf-8")
    with go.Engine(go.RuleBook.load(_book()), store=str(db), entry_points=False) as engine:
        _ann(engine)
    out = gops(
        "explain",
        "ann",
        "--policy",
        "paying",
        "--db",
        db,
        "--rules",
        rules,
        "--at",
        AT.isoformat(),
        cwd=tmp_path,
    ).stdout
    assert "to become premium:" in out and "label now: first_paid" in out
    assert "first_paid since 2026-03-06T11:00:00+00:00" in out
