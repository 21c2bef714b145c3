"""Each hook, exercised through a real pluggy registration; entry-point loading; errors."""

from __future__ import annotations

import importlib.metadata
import logging
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from _books import camp_book

import groupops as go
from groupops.testing import RecordingMessenger

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 2, 9, tzinfo=TZ)
BOOK = go.RuleBook.load(
    {
        "timezone": "Asia/Shanghai",
        "groups": [{"id": "club", "name": "Club"}, {"id": "vip", "name": "VIP", "kind": "paid"}],
        "policies": [
            {
                "id": "vip",
                "type": "admission",
                "from": ["club"],
                "to": "vip",
                "when": {"count": "purchase", "at_least": 2},
            },
        ],
    }
)
BUYERS = [
    {
        "id": f"{kind}-{m}-{i}",
        "kind": kind,
        "member": m,
        "group": "club" if kind == "joined" else None,
        "at": "2026-11-01T09:00:00+08:00",
    }
    for m in ("m1", "m2")
    for kind, i in (("joined", 0), ("purchase", 1), ("purchase", 2))
]


def _engine(*plugins, **kwargs):
    return go.Engine(BOOK, plugins=plugins, entry_points=False, **kwargs)


def test_hook_open_store_first_non_none_wins_and_missing_store_names_the_hook():
    opened = []

    class Mine:
        @go.hookimpl
        def groupops_open_store(self, url, book):
            opened.append((url, book.revision))
            return go.MemoryStore() if url == "mine:" else None

    engine = _engine(Mine(), store="mine:")
    assert isinstance(engine.store, go.MemoryStore)
    assert opened == [("mine:", BOOK.revision)]
    with pytest.raises(go.PluginError, match="groupops_open_store"):
        _engine(Mine(), store="nobody-knows://x")


def test_hook_register_messengers_duplicates_and_non_messengers_are_errors():
    class Twice:
        @go.hookimpl
        def groupops_register_messengers(self, register):
            register(RecordingMessenger(name="x"))
            register(RecordingMessenger(name="x"))

    with pytest.raises(go.PluginError, match="two messengers are named 'x'"):
        _engine(Twice())

    class NotOne:
        @go.hookimpl
        def groupops_register_messengers(self, register):
            register(object())

    with pytest.raises(go.PluginError, match="is not a messenger"):
        _engine(NotOne())


class _Plain:
    """A messenger written by hand, as a host writes one."""

    name = "plain"
    actions = frozenset({"message", "invite"})

    def __init__(self):
        self.sent = []

    def deliver(self, message):
        self.sent.append(message)


def _registering(messenger):
    class BotPlugin:
        @go.hookimpl
        def groupops_register_messengers(self, register):
            register(messenger)

    return BotPlugin()


def test_a_messenger_is_checked_when_registered_naming_the_plugin_and_what_is_missing():
    class NoActions:
        name = "tg"
        quota = None

        def deliver(self, message):
            pass

    # before: accepted here, then run() died with a raw AttributeError on .actions
    with pytest.raises(go.PluginError) as caught:
        _engine(_registering(NoActions()))
    message = str(caught.value)
    assert "plugin 'BotPlugin'" in message
    assert "no actions" in message
    assert "NoActions" in message

    class BadParts:
        name = ""
        actions = "message"  # a string, not a set: 'mess' in it would be true
        quota = 4

    with pytest.raises(go.PluginError) as caught:
        _engine(_registering(BadParts()))
    message = str(caught.value)
    for part in (
        "name '' is not a non-empty string",
        "actions 'message' is not a set",
        "no deliver(message) method",
        "quota 4 is not a groupops.Quota",
    ):
        assert part in message


def test_a_messenger_without_the_optional_quota_has_no_quota():
    plain = _Plain()  # no quota attribute at all
    engine = _engine(_registering(plain), default_messenger="plain")
    assert engine.messengers["plain"].quota is None
    assert engine.messengers["plain"].sent is plain.sent  # still the plugin's own object
    engine.ingest(BUYERS)
    engine.run(AT)
    report = engine.deliver(AT)  # before: AttributeError: '_Plain' object has no attribute 'quota'
    assert sorted(m.recipient for m in plain.sent) == ["m1", "m2"]
    assert len(report.delivered) == 2


def test_a_plugin_given_by_hand_and_by_entry_point_is_registered_once():
    try:
        import groupops_example_plugin
    except ImportError:
        pytest.skip("tests/plugins/groupops_example_plugin is not installed (.ci/run installs it)")
    # before: pluggy's raw "Plugin already registered under a different name"
    engine = go.Engine(BOOK, plugins=[groupops_example_plugin])
    assert engine.plugins.names().count("example") == 1
    assert len(engine.plugins.manager.get_plugins()) == 2  # the built-ins and the example
    assert engine.messengers["example-outbox"] is groupops_example_plugin.OUTBOX
    assert "live_minutes" in engine.metrics


def test_a_plugin_given_twice_by_hand_is_an_error_naming_it():
    plugin = _registering(_Plain())
    with pytest.raises(go.PluginError, match="plugin 'BotPlugin' is given twice in plugins"):
        _engine(plugin, plugin)


def test_hook_register_messengers_group_names_an_unknown_messenger():
    book = BOOK.model_copy(
        update={"groups": (BOOK.groups[0].model_copy(update={"messenger": "tg"}), BOOK.groups[1])}
    )
    with pytest.raises(go.RuleError, match=r"groups\[0\].messenger: no messenger named 'tg'"):
        go.Engine(book, entry_points=False)


def test_hook_register_metrics_unknown_metric_in_book_is_a_rule_error():
    book = go.RuleBook.load(
        {
            "groups": [{"id": "a"}, {"id": "b"}],
            "policies": [
                {
                    "id": "p",
                    "type": "admission",
                    "from": ["a"],
                    "to": "b",
                    "when": {"metric": "live_minutes", "at_least": 1},
                }
            ],
        }
    )
    with pytest.raises(go.RuleError, match="metric 'live_minutes' is not registered"):
        go.Engine(book, entry_points=False)

    class Live:
        @go.hookimpl
        def groupops_register_metrics(self, register):
            register("live_minutes", lambda history, *, group, start, end: 7.0)

    assert "live_minutes" in go.Engine(book, plugins=[Live()], entry_points=False).metrics


class _Metrics:
    """A plugin registering the metrics it is given."""

    def __init__(self, **metrics):
        self.metrics = metrics

    @go.hookimpl
    def groupops_register_metrics(self, register):
        for name, function in self.metrics.items():
            register(name, function)


def _live(history, *, group, start, end):
    return 7.0


@pytest.mark.parametrize(
    ("plugins", "message"),
    [
        ([_Metrics(**{"": _live})], "plugin '_Metrics' registered '', which is not a metric name"),
        (
            [_Metrics(live_minutes=7.0)],
            "plugin '_Metrics' registered metric 'live_minutes' as 7.0, which is not callable",
        ),
    ],
)
def test_hook_register_metrics_a_bad_registration_names_the_plugin(plugins, message):
    with pytest.raises(go.PluginError) as info:
        go.Engine(BOOK, plugins=plugins, entry_points=False)
    assert message in str(info.value)
    assert (info.value.plugin, info.value.hook) == ("_Metrics", "groupops_register_metrics")


def test_hook_register_metrics_a_name_taken_twice_names_both_plugins():
    class Crm(_Metrics):
        pass

    with pytest.raises(go.PluginError) as info:
        go.Engine(BOOK, plugins=[_Metrics(live_minutes=_live), Crm(live_minutes=_live)], entry_points=False)
    m = re.search(
        r"plugin '(\w+)' registers a second metric named 'live_minutes' \(the first is from '(\w+)'\)",
        str(info.value),
    )
    assert m is not None, str(info.value)
    assert {m[1], m[2]} == {"Crm", "_Metrics"} and info.value.plugin == m[1]


def test_hook_veto_action_first_reason_wins_and_is_recorded():
    class VetoM1:
        @go.hookimpl
        def groupops_veto_action(self, decision, membership):
            return "m1 opted out" if decision.member == "m1" else None

    engine = _engine(VetoM1())
    engine.ingest(BUYERS)
    made = {d.member: d for d in engine.run(AT).decisions}
    assert (made["m1"].status, made["m1"].veto_reason) == ("vetoed", "m1 opted out")
    assert made["m2"].status == "applied"
    assert [m.member for m in engine.store.messages()] == ["m2"]
    assert engine.run(AT).decisions == ()  # a vetoed decision is not reconsidered


def test_hook_observe_decision_after_commit_and_a_failing_observer_does_not_stop_others(caplog):
    seen = []

    class Broken:
        @go.hookimpl
        def groupops_observe_decision(self, decision, engine):
            raise RuntimeError("observer down")

    class Watcher:
        @go.hookimpl
        def groupops_observe_decision(self, decision, engine):
            # the decision is already committed when observers hear of it
            seen.append((decision.member, engine.store.get_decision(decision.id) is not None))

    engine = _engine(Broken(), Watcher())
    engine.ingest(BUYERS)
    with caplog.at_level(logging.ERROR, logger="groupops.plugins"):
        engine.run(AT)
    assert seen == [("m1", True), ("m2", True)]
    assert "observer down" in caplog.text


def test_hook_observe_decision_sees_the_engine_read_only():
    seen = []

    class Reader:
        @go.hookimpl
        def groupops_observe_decision(self, decision, engine):
            assert isinstance(engine, go.EngineView) and isinstance(engine.store, go.ReadOnlyStore)
            seen.append(
                (
                    engine.book.revision,
                    [d.id for d in engine.decisions(member=decision.member)],
                    engine.membership(decision.member, "club") is not None,
                    engine.store.get_decision(decision.id) == decision,
                    [m.member for m in engine.store.messages(decision=decision.id)],
                )
            )

    engine = _engine(Reader())
    engine.ingest(BUYERS)
    made = engine.run(AT).decisions
    assert seen == [(BOOK.revision, [d.id], True, True, [d.member]) for d in made]


def test_hook_observe_decision_cannot_run_the_engine_or_write_to_its_store():
    class Meddler:
        @go.hookimpl
        def groupops_observe_decision(self, decision, engine):
            if decision.member == "m1":
                engine.run(AT)  # before: re-entered the engine from inside its own run
            else:
                engine.store.put_member(go.Member(id=decision.member, name="changed by an observer"))

    engine = _engine(Meddler())
    engine.ingest(BUYERS)
    report = engine.run(AT)
    assert [f.member for f in report.failures] == ["m1", "m2"]
    assert "'run': an observer sees the engine read-only" in report.failures[0].error
    assert "'put_member': an observer's store is read-only" in report.failures[1].error
    assert engine.store.get_member("m2") is None  # nothing was written
    assert len(engine.decisions()) == 2


def test_a_misspelt_hook_fails_naming_plugin_and_hook():
    class Typo:
        @go.hookimpl
        def groupops_veto_actions(self, decision):
            return None

    with pytest.raises(go.PluginError, match="groupops_veto_actions"):
        _engine(Typo())


def test_entry_point_plugin_is_loaded():
    try:
        importlib.metadata.distribution("groupops-example-plugin")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("tests/plugins/groupops_example_plugin is not installed (.ci/run installs it)")
    book = go.RuleBook.load(
        {
            "groups": [{"id": "a"}, {"id": "b", "messenger": "example-outbox", "operators": ["op"]}],
            "policies": [
                {
                    "id": "p",
                    "type": "admission",
                    "from": ["a"],
                    "to": "b",
                    "when": {"metric": "live_minutes", "within": "7d", "at_least": 60},
                }
            ],
        }
    )
    engine = go.Engine(book)
    assert "example" in engine.plugins.names()
    engine.ingest(
        [
            {"id": "j", "kind": "joined", "member": "m", "group": "a", "at": "2026-11-01T09:00:00+00:00"},
            {"id": "l", "kind": "live", "member": "m", "value": 75, "at": "2026-11-01T10:00:00+00:00"},
        ]
    )
    [invite] = engine.run(AT).decisions
    assert invite.action == "invite"
    assert "live_minutes is 75" in invite.reasons()
    import groupops_example_plugin

    before = len(groupops_example_plugin.OUTBOX.sent)
    engine.deliver(AT)
    sent = groupops_example_plugin.OUTBOX.sent[before:]
    # the outbox can only send text: the member is told, the invitation is an operator task
    assert sorted((m.action, m.recipient) for m in sent) == [("message", "m"), ("task", "op")]


def test_engines_do_not_share_plugin_managers():
    a, b = _engine(), _engine()
    assert a.plugins.manager is not b.plugins.manager


# -- plugins fail alone ------------------------------------------------------------------


def test_hook_veto_action_that_raises_affects_only_its_decision_and_is_asked_again():
    class Flaky:
        def __init__(self):
            self.down = True

        @go.hookimpl
        def groupops_veto_action(self, decision, membership):
            if decision.member == "m1" and self.down:
                raise ConnectionError("CRM unreachable")
            return None

    flaky = Flaky()
    engine = _engine(flaky)
    engine.ingest(BUYERS)
    report = engine.run(AT)
    # m2 is invited; m1's decision is not recorded, and the report names plugin and hook
    assert [(d.member, d.status) for d in report.decisions] == [("m2", "applied")]
    [failure] = report.failures
    assert (failure.plugin, failure.hook, failure.member, failure.policy) == (
        "Flaky",
        "groupops_veto_action",
        "m1",
        "vip",
    )
    assert failure.error == "ConnectionError: CRM unreachable"
    assert str(failure).startswith("plugin 'Flaky' failed in groupops_veto_action (policy 'vip', member 'm1'")
    assert [d.member for d in engine.decisions()] == ["m2"]
    # every later run does not fail the same way for everybody: m1 is asked again
    assert [f.member for f in engine.run(AT).failures] == ["m1"]
    flaky.down = False
    again = engine.run(AT)
    assert [(d.member, d.status) for d in again.decisions] == [("m1", "applied")] and again.failures == ()


@pytest.mark.parametrize("answer", [False, "", 0, 0.0, [], "   ".strip(), True, 1])
def test_hook_veto_action_only_a_non_empty_string_vetoes(answer):
    class Odd:
        @go.hookimpl
        def groupops_veto_action(self, decision, membership):
            return answer if decision.member == "m1" else None

    engine = _engine(Odd())
    engine.ingest(BUYERS)
    report = engine.run(AT)
    # not a veto (nothing recorded with reason 'False'), but a plugin error: asked again next run
    assert [(d.member, d.status) for d in report.decisions] == [("m2", "applied")]
    [failure] = report.failures
    assert (failure.plugin, failure.hook) == ("Odd", "groupops_veto_action")
    assert f"returned {answer!r}" in failure.error and "non-blank string" in failure.error
    assert engine.store.get_decision(go.decision_id("vip", "invite", "m1", "vip", "invite-1")) is None


def test_hook_register_metrics_a_raising_metric_affects_only_the_member_it_was_asked_about():
    book = go.RuleBook.load(
        {
            "timezone": "Asia/Shanghai",
            "groups": [{"id": "club"}, {"id": "vip", "kind": "paid"}],
            "policies": [
                {
                    "id": "vip",
                    "type": "admission",
                    "from": ["club"],
                    "to": "vip",
                    "when": {"metric": "live_minutes", "at_least": 1},
                }
            ],
        }
    )

    class Live:
        @go.hookimpl
        def groupops_register_metrics(self, register):
            def live(history, *, group, start, end):
                if "refund" in history.kinds():  # m1's refund trips a bug in the plugin
                    raise ZeroDivisionError("division by zero")
                return 5.0

            register("live_minutes", live)

    engine = go.Engine(book, plugins=[Live()], entry_points=False)
    engine.ingest([*BUYERS, {"id": "r", "kind": "refund", "member": "m1", "at": "2026-11-01T10:00:00+08:00"}])
    report = engine.run(AT)
    assert [d.member for d in report.decisions] == ["m2"]
    [failure] = report.failures
    assert (failure.plugin, failure.hook, failure.member) == ("Live", "metric 'live_minutes'", "m1")
    assert failure.error == "ZeroDivisionError: division by zero"
    # explain names the plugin too
    with pytest.raises(go.PluginError, match="plugin 'Live' failed in metric 'live_minutes'") as info:
        engine.explain("m1", "club", "vip", AT)
    assert (info.value.plugin, info.value.hook) == ("Live", "metric 'live_minutes'")


def _weekly_camp() -> dict:
    """The camp's weekly eviction alone, from November, at risk after 3 days away."""
    weekly = {"start": "2026-11-01T00:00:00+08:00", "grace": None, "exempt": None}
    return camp_book(
        group={"id": "camp"},
        weekly=weekly | {"when": {"days_since": "checkin", "at_least": 3}},
        comeback=None,
        roles=None,
    )


def test_hook_veto_action_failing_at_a_notice_time_is_retried_by_the_next_run():
    book = go.RuleBook.load(_weekly_camp())

    class Down:
        down = True

        @go.hookimpl
        def groupops_veto_action(self, decision, membership):
            if self.down:
                raise TimeoutError("policy service")
            return None

    down = Down()
    engine = go.Engine(book, plugins=[down], entry_points=False)
    engine.ingest(
        [{"id": "j", "kind": "joined", "member": "m1", "group": "camp", "at": "2026-11-01T09:00:00+08:00"}]
    )
    friday = datetime(2026, 11, 6, 21, tzinfo=TZ)  # after the notice time (Fri 20:00)
    assert [f.hook for f in engine.run(friday).failures] == ["groupops_veto_action"]
    down.down = False
    # the notice time has passed, but the next run goes back to it: the notice is not lost;
    # it is given when that run gives it, so the eviction waits the whole notice after it
    later = engine.run(friday + timedelta(hours=1))
    assert [(d.action, d.at) for d in later.decisions] == [("notice", friday + timedelta(hours=1))]
    assert engine.run(datetime(2026, 11, 8, 21, tzinfo=TZ)).decisions == ()
    sunday = engine.run(datetime(2026, 11, 8, 22, tzinfo=TZ))
    assert [(d.action, d.at) for d in sunday.decisions] == [("evict", datetime(2026, 11, 8, 22, tzinfo=TZ))]


def test_hook_veto_action_failing_at_a_period_end_is_retried_at_that_end_by_the_next_run():
    book = go.RuleBook.load(_weekly_camp())

    class DownForEvictions:
        down = True

        @go.hookimpl
        def groupops_veto_action(self, decision, membership):
            if self.down and decision.action == "evict":
                raise TimeoutError("policy service")
            return None

    down = DownForEvictions()
    engine = go.Engine(book, plugins=[down], entry_points=False)
    engine.ingest(
        [{"id": "j", "kind": "joined", "member": "m1", "group": "camp", "at": "2026-11-01T09:00:00+08:00"}]
    )
    assert [d.action for d in engine.run(datetime(2026, 11, 6, 20, tzinfo=TZ)).decisions] == ["notice"]
    sunday = datetime(2026, 11, 8, 20, tzinfo=TZ)
    failed = engine.run(sunday)
    assert failed.decisions == () and [f.hook for f in failed.failures] == ["groupops_veto_action"]
    down.down = False
    later = engine.run(sunday + timedelta(hours=3))
    assert [(d.action, d.at) for d in later.decisions] == [("evict", sunday)]  # decided at the end's time
    assert engine.run(sunday + timedelta(hours=4)).decisions == ()


def test_hook_observe_decision_system_exit_is_caught_and_delivery_goes_on(caplog):
    class Quitter:
        @go.hookimpl
        def groupops_observe_decision(self, decision, engine):
            raise SystemExit(4)

    engine = _engine(Quitter())
    engine.ingest(BUYERS)
    with caplog.at_level(logging.ERROR, logger="groupops.plugins"):
        report = engine.run(AT)
    assert [d.member for d in report.decisions] == ["m1", "m2"]
    assert [(f.plugin, f.hook, f.member, f.error) for f in report.failures] == [
        ("Quitter", "groupops_observe_decision", "m1", "SystemExit: 4"),
        ("Quitter", "groupops_observe_decision", "m2", "SystemExit: 4"),
    ]
    assert "plugin 'Quitter' failed in groupops_observe_decision" in caplog.text


def test_hook_observe_decision_keyboard_interrupt_still_stops_the_host():
    class Interrupted:
        @go.hookimpl
        def groupops_observe_decision(self, decision, engine):
            raise KeyboardInterrupt

    engine = _engine(Interrupted())
    engine.ingest(BUYERS)
    with pytest.raises(KeyboardInterrupt):
        engine.run(AT)
    assert len(engine.decisions()) == 2  # committed before observers were told


def test_hook_veto_action_and_observers_may_take_fewer_arguments():
    seen = []

    class Terse:
        @go.hookimpl
        def groupops_veto_action(self, decision):
            return "no" if decision.member == "m1" else None

        @go.hookimpl
        def groupops_observe_decision(self, decision):
            seen.append(decision.member)

    engine = _engine(Terse())
    engine.ingest(BUYERS)
    report = engine.run(AT)
    assert [(d.member, d.status) for d in report.decisions] == [("m1", "vetoed"), ("m2", "applied")]
    assert seen == ["m1", "m2"] and report.failures == ()


@pytest.mark.parametrize("style", ["wrapper", "hookwrapper"])
@pytest.mark.parametrize(
    ("hook", "signature"),
    [
        ("groupops_observe_decision", "decision, engine"),
        ("groupops_veto_action", "decision, membership"),
        ("groupops_register_metrics", "register"),
        ("groupops_register_messengers", "register"),
        ("groupops_register_kinds", "register"),
        ("groupops_create_group", "family, name, book, number, at"),
    ],
)
def test_a_wrapper_of_a_hook_called_one_implementation_at_a_time_is_refused(hook, signature, style):
    namespace: dict[str, object] = {}
    exec(f"def {hook}(self, {signature}):\n    return (yield)\n", namespace)
    plugin = type("Wrapping", (), {hook: go.hookimpl(**{style: True})(namespace[hook])})()
    with pytest.raises(go.PluginError, match=f"implements {hook} as a wrapper") as err:
        go.Engine(BOOK, plugins=[plugin])
    assert (err.value.plugin, err.value.hook) == ("Wrapping", hook)


def test_a_wrapper_of_open_store_runs_around_the_store_plugins():
    seen: list[str] = []

    class AroundOpen:
        @go.hookimpl(wrapper=True)
        def groupops_open_store(self, url, book):
            seen.append(url)
            store = yield
            seen.append(type(store).__name__)
            return store

    engine = go.Engine(BOOK, store="memory:", plugins=[AroundOpen()])
    engine.ingest(BUYERS)
    assert seen == ["memory:", "MemoryStore"]
    assert [d.member for d in engine.run(AT).decisions] == ["m1", "m2"]
