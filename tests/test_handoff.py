"""The ``handoff`` kind, on real SQLite files: a qualified lead is handed to the
salesperson who brought them (else to the default queue) once per member ever, with
the reasons; the host's CRM receives it through a messenger or the observer hook."""

import os
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import groupops as go
from groupops.testing import RecordingMessenger

# engine-backed properties: a few examples by default, many under HYPOTHESIS_PROFILE=long
LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
ENGINE_EXAMPLES = 300

AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _book(**policy):
    return {
        "timezone": "UTC",
        "groups": [{"id": "welfare"}],
        "policies": [
            {
                "id": "sql-handoff",
                "type": "handoff",
                "when": {
                    "all": [
                        {"count": "demo_request", "at_least": 1},
                        {"attr": "company_size", "at_least": 50},
                    ]
                },
                "to": "referrer",
                "default": "sales",
                **policy,
            }
        ],
    }


class CRM:
    """A host plugin: a messenger for sales (durable) and an observer (best effort)."""

    def __init__(self):
        self.messenger = RecordingMessenger(name="crm")
        self.observed = []

    @go.hookimpl
    def groupops_register_messengers(self, register):
        register(self.messenger)

    @go.hookimpl
    def groupops_observe_decision(self, decision, engine):
        if decision.action == "handoff":
            self.observed.append((decision.member, decision.assignee))


def _engine(tmp_path, crm, **policy):
    return go.Engine(
        go.RuleBook.load(_book(**policy)),
        store=str(tmp_path / "g.db"),
        plugins=[crm],
        entry_points=False,
        default_messenger="crm",
    )


def _leads(engine):
    engine.ingest(
        [
            go.Member(id="ann", name="Ann", referrer="sdr-zhang", attributes={"company_size": 120}),
            go.Member(id="bob", name="Bob", attributes={"company_size": 80}),  # nobody brought him
            go.Member(id="cat", name="Cat", referrer="sdr-li", attributes={"company_size": 10}),  # too small
            go.Event(id="d1", member="ann", kind="demo_request", at=AT - timedelta(days=1)),
            go.Event(id="d2", member="bob", kind="demo_request", at=AT - timedelta(days=2)),
            go.Event(id="d3", member="cat", kind="demo_request", at=AT - timedelta(days=2)),
        ]
    )


def test_a_lead_goes_to_the_referrer_or_else_the_default_queue_once_with_the_reasons(tmp_path):
    crm = CRM()
    with _engine(tmp_path, crm) as engine:
        _leads(engine)
        made = engine.run(AT).decisions
        assert not engine.run(AT).decisions
        engine.ingest([go.Event(id="d4", member="ann", kind="demo_request", at=AT + timedelta(days=20))])
        assert not engine.run(AT + timedelta(days=31)).decisions  # a month later: nothing
        engine.deliver(AT + timedelta(days=31))
    assert [(d.action, d.member, d.group, d.assignee) for d in made] == [
        ("handoff", "ann", None, "sdr-zhang"),
        ("handoff", "bob", None, "sales"),
    ]
    sent = {(m.recipient, m.audience): m.text for m in crm.messenger.delivered}
    assert sent == {
        ("sdr-zhang", "operators"): "Qualified lead for sdr-zhang: Ann (ann). Why: demo_request 1 time ever; "
        "needs at least 1 time; company_size is 120.0; needs at least 50",
        ("sales", "operators"): "Qualified lead for sales: Bob (bob). Why: demo_request 1 time ever; "
        "needs at least 1 time; company_size is 80.0; needs at least 50",
    }
    assert crm.observed == [("ann", "sdr-zhang"), ("bob", "sales")]


def test_a_fixed_recipient_ignores_the_referrer(tmp_path):
    crm = CRM()
    with _engine(tmp_path, crm, to="key-accounts") as engine:
        _leads(engine)
        made = engine.run(AT).decisions
    assert {d.assignee for d in made} == {"key-accounts"}


def test_explain_says_what_a_lead_misses_and_who_would_get_them(tmp_path):
    crm = CRM()
    with _engine(tmp_path, crm) as engine:
        _leads(engine)
        engine.ingest(
            [go.Event(id="j", member="cat", group="welfare", kind="joined", at=AT - timedelta(days=9))]
        )
        report = engine.explain("cat", "welfare", "sql-handoff", AT)
    [section] = report.sections
    assert section.title == "to be handed to sdr-li" and not section.explanation.passed
    assert section.explanation.missing() == "company_size is 10.0; needs at least 50"


@settings(
    max_examples=ENGINE_EXAMPLES if LONG else 20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    runs=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 3)), min_size=1, max_size=5),
    referrer=st.sampled_from([None, "sdr-zhang"]),
)
def test_a_handoff_is_made_at_most_once_per_member(tmp_path_factory, runs, referrer):
    crm = CRM()
    path = tmp_path_factory.mktemp("h")
    with _engine(path, crm) as engine:
        engine.ingest([go.Member(id="m", referrer=referrer, attributes={"company_size": 60})])
        handed = []
        for n, (day, demos) in enumerate(sorted(runs)):
            at = AT + timedelta(days=day)
            engine.ingest(
                [
                    go.Event(id=f"d{n}-{i}", member="m", kind="demo_request", at=at - timedelta(hours=1))
                    for i in range(demos)
                ]
            )
            handed += engine.run(at).decisions
        assert len(handed) <= 1 and len(engine.store.decisions(action="handoff")) == len(handed)
        if any(demos for _, demos in runs):
            assert [d.assignee for d in handed] == [referrer or "sales"]
