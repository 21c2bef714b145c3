"""The ``tier`` kind and label history, on real SQLite files: a member moves straight
to the highest label that holds, in one decision; down only with ``demote``; the label
is always one of the set; the store keeps who had which label when."""

import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import groupops as go
from groupops.testing import RecordingMessenger

# engine-backed properties: a few examples by default, many under HYPOTHESIS_PROFILE=long
LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
ENGINE_EXAMPLES = 300

AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LABELS = ["unpaid", "first_paid", "premium", "die_hard"]


def _book(**policy):
    return {
        "timezone": "UTC",
        "groups": [{"id": "welfare"}, {"id": "vip", "kind": "paid"}],
        "policies": [
            {
                "id": "paying-status",
                "type": "tier",
                "labels": LABELS,
                "steps": {
                    "first_paid": {"count": "payment", "at_least": 1},
                    "premium": {"sum": "payment", "at_least": 1000},
                    "die_hard": {"count": "payment", "at_least": 5},
                },
                **policy,
            }
        ],
    }


def _engine(tmp_path, book=None, **policy):
    return go.Engine(
        go.RuleBook.load(book or _book(**policy)), store=str(tmp_path / "g.db"), entry_points=False
    )


def _payments(member, n, *, start=AT - timedelta(days=10), value=10.0, prefix="p"):
    return [
        go.Event(
            id=f"{prefix}-{member}-{i}",
            member=member,
            kind="payment",
            at=start + timedelta(hours=i),
            value=value,
        )
        for i in range(n)
    ]


def test_a_jump_of_three_rungs_is_one_decision_and_the_profile_keeps_other_labels(tmp_path):
    with _engine(tmp_path) as engine:
        engine.ingest([go.Member(id="ann", labels=["B+", "unpaid"]), *_payments("ann", 5)])
        made = engine.run(AT).decisions
        assert not engine.run(AT).decisions and not engine.run(AT + timedelta(days=1)).decisions
        profile = engine.store.get_member("ann")
        history = engine.store.label_history("ann")
        messages = engine.store.messages()
    assert [(d.action, d.member, d.group, d.from_role, d.to_role) for d in made] == [
        ("tier", "ann", None, "unpaid", "die_hard")
    ]
    assert made[0].explanation.summary() == "payment 5 times ever; needs at least 5 times"
    assert profile.labels == ("B+", "die_hard")
    assert [(c.at, c.labels, c.previous, c.decision, c.source) for c in history] == [
        (AT, ("B+", "die_hard"), ("B+", "unpaid"), made[0].id, "decision")
    ]
    assert messages == []  # a tier change is silent unless the policy says notify


def test_a_member_with_no_label_of_the_set_is_given_the_lowest(tmp_path):
    with _engine(tmp_path) as engine:
        engine.ingest([go.Member(id="bob")])
        [d] = engine.run(AT).decisions
        assert engine.store.get_member("bob").labels == ("unpaid",)
    assert (d.from_role, d.to_role, d.explanation) == (None, "unpaid", None)


def test_down_only_with_demote(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for where, demote, want in [("a", False, "premium"), ("b", True, "first_paid")]:
        with _engine(
            tmp_path / where,
            demote=demote,
            steps={
                "first_paid": {"count": "payment", "at_least": 1},
                "premium": {"sum": "payment", "within": "30d", "at_least": 1000},
                "die_hard": {"count": "payment", "within": "30d", "at_least": 5},
            },
        ) as engine:
            engine.ingest([go.Member(id="cat"), *_payments("cat", 1, value=1500.0)])
            engine.run(AT)
            assert engine.store.get_member("cat").labels == ("premium",)
            later = engine.run(AT + timedelta(days=40)).decisions
            assert engine.store.get_member("cat").labels == (want,)
            assert [(d.from_role, d.to_role) for d in later] == (
                [] if not demote else [("premium", "first_paid")]
            )


def test_a_new_label_qualifies_the_member_under_another_policy_in_the_same_run(tmp_path):
    book = _book()
    book["policies"].append(
        {"id": "vip", "type": "invite", "segment": {"label": "die_hard"}, "to": "vip", "at": AT.isoformat()}
    )
    # the invite is decided at its moment, before the run's instant: schedule it just after
    book["policies"][1]["at"] = (AT + timedelta(minutes=1)).isoformat()
    with _engine(tmp_path, book=book) as engine:
        engine.ingest([go.Member(id="ann"), *_payments("ann", 5)])
        first = engine.run(AT).decisions
        second = engine.run(AT + timedelta(minutes=1)).decisions
    assert [d.action for d in first] == ["tier"]
    assert [(d.action, d.member) for d in second] == [("invite", "ann")]


def test_notify_tells_the_member_of_a_move_up(tmp_path):
    messenger = RecordingMessenger()

    class P:
        @go.hookimpl
        def groupops_register_messengers(self, register):
            register(messenger)

    engine = go.Engine(
        go.RuleBook.load(_book(notify=True)),
        store=str(tmp_path / "g.db"),
        plugins=[P()],
        entry_points=False,
        default_messenger="recording",
    )
    with engine:
        engine.ingest([go.Member(id="ann", name="Ann", labels=["unpaid"]), *_payments("ann", 1)])
        engine.run(AT)
        engine.deliver(AT)
    assert [m.text for m in messenger.delivered] == ["Ann, you are now first_paid."]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"labels": ["a", "a"]}, "labels: 'a' repeated"),
        ({"steps": {"first_paid": {"count": "payment", "at_least": 1}}}, "steps: no condition for 'premium'"),
        ({"steps": {"unpaid": {"count": "payment", "at_least": 0}}}, "steps: 'unpaid' is the lowest label"),
        ({"labels": ["x"]}, "labels: needs at least 2 items"),
    ],
)
def test_a_malformed_tier_is_refused_naming_the_field(change, message):
    with pytest.raises(go.RuleError, match=message):
        go.RuleBook.load(_book(**change))


def test_explain_shows_each_step_and_the_label_history(tmp_path):
    with _engine(tmp_path) as engine:
        engine.ingest(
            [
                go.Member(id="ann"),
                go.Event(id="j", member="ann", group="welfare", kind="joined", at=AT - timedelta(days=20)),
                *_payments("ann", 2),
            ]
        )
        engine.run(AT)
        report = engine.explain("ann", "welfare", "paying-status", AT)
    assert [s.title for s in report.sections] == [
        "to become first_paid",
        "to become premium",
        "to become die_hard",
    ]
    assert [s.explanation.passed for s in report.sections] == [True, False, False]
    assert [n.text("en") for n in report.notes] == [
        "label now: first_paid",
        f"first_paid since {AT.isoformat()}",
    ]


@settings(
    max_examples=ENGINE_EXAMPLES if LONG else 25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    batches=st.lists(st.lists(st.sampled_from([10.0, 600.0]), max_size=4), min_size=1, max_size=4),
    demote=st.booleans(),
)
def test_the_tier_label_is_always_exactly_one_of_the_set(tmp_path_factory, batches, demote):
    path = tmp_path_factory.mktemp("t")
    steps = {
        "first_paid": {"count": "payment", "within": "20d", "at_least": 1},
        "premium": {"sum": "payment", "within": "20d", "at_least": 1000},
        "die_hard": {"count": "payment", "within": "20d", "at_least": 5},
    }
    with _engine(path, demote=demote, steps=steps) as engine:
        engine.ingest([go.Member(id="m", labels=["vip-candidate"])])
        for week, values in enumerate(batches):
            at = AT + timedelta(weeks=week)
            engine.ingest(
                [
                    go.Event(
                        id=f"p{week}-{i}", member="m", kind="payment", at=at - timedelta(hours=i + 1), value=v
                    )
                    for i, v in enumerate(values)
                ]
            )
            made = engine.run(at).decisions
            labels = engine.store.get_member("m").labels
            assert len([x for x in labels if x in LABELS]) == 1 and "vip-candidate" in labels
            assert len(made) <= 1  # one move per run, however many rungs
            history = engine.store.label_history("m")
            assert [c.labels for c in history][-1:] == [labels] or not made


def test_label_history_is_queryable_through_the_engine(tmp_path):
    with _engine(tmp_path) as engine:
        engine.ingest([go.Member(id="ann", labels=["B"]), *_payments("ann", 1)])
        engine.run(AT)
        engine.ingest(_payments("ann", 4, start=AT + timedelta(hours=1), prefix="q"))
        engine.run(AT + timedelta(days=1))
        history = engine.label_history("ann")
        assert [c.labels for c in history] == [("B", "first_paid"), ("B", "die_hard")]
        assert [c.previous for c in history] == [("B",), ("B", "first_paid")]
        # before the first kept change: what the member held just before it
        assert engine.labels_at("ann", AT - timedelta(seconds=1)) == ("B",)
        assert engine.labels_at("ann", AT + timedelta(hours=12)) == ("B", "first_paid")
        assert engine.labels_at("ann", AT + timedelta(days=2)) == ("B", "die_hard")
        # a change the host made without saying what came before: the history cannot say
        engine.store.record_labels(go.LabelChange(at=AT - timedelta(days=30), member="bob", labels=("A",)))
        assert engine.labels_at("bob", AT - timedelta(days=31)) is None
