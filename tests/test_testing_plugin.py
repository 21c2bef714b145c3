"""The pytest plugin (entry point ``pytest11``): fixtures exist, are never autouse, the
engine fixtures run the overridable ``groupops_rule_book``, load no installed plugins
unless asked, and stand a recorder in for every messenger the book names."""

import subprocess
import sys
import textwrap
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import groupops as go
from groupops.testing import RecordingMessenger

pytest_plugins = ["pytester"]

TZ = ZoneInfo("Asia/Shanghai")
FIXTURES = ("groupops_engine", "groupops_sqlite_engine", "groupops_messenger", "groupops_rule_book")


def test_no_fixture_is_autouse(request):
    assert not set(FIXTURES) & set(request.fixturenames)


def test_the_default_book_is_the_example(groupops_rule_book):
    assert groupops_rule_book == go.load_rule_book(go.example_path("community.yaml"))


def _season(engine):
    engine.ingest(
        [
            {
                "id": "j",
                "kind": "joined",
                "member": "m1",
                "group": "camp-7",
                "at": "2026-10-20T09:00:00+08:00",
            },
            {
                "id": "c",
                "kind": "checkin",
                "member": "m1",
                "group": "camp-7",
                "at": "2026-10-24T08:00:00+08:00",
            },
        ]
    )
    friday = datetime(2026, 11, 6, 20, tzinfo=TZ)
    engine.run(friday)
    engine.deliver(friday)


@pytest.mark.parametrize("fixture", ["groupops_engine", "groupops_sqlite_engine"])
def test_engines_deliver_to_the_recording_messenger(fixture, request, groupops_messenger):
    engine = request.getfixturevalue(fixture)
    _season(engine)
    assert [(m.action, m.member) for m in groupops_messenger.delivered] == [("notice", "m1")]


def test_the_memory_engine_is_fresh_each_test(groupops_engine):
    assert groupops_engine.decisions() == []
    assert isinstance(groupops_engine.store, go.MemoryStore)


def test_the_sqlite_engine_is_a_file_in_tmp_path(groupops_sqlite_engine, tmp_path):
    _season(groupops_sqlite_engine)
    assert (tmp_path / "groupops.db").is_file()
    assert not isinstance(groupops_sqlite_engine.store, go.MemoryStore)


class TestOverridingTheBook:
    @pytest.fixture
    def groupops_rule_book(self):
        return go.RuleBook.load({"groups": [{"id": "only"}]})

    def test_engines_run_the_overriding_book(self, groupops_engine, groupops_sqlite_engine):
        assert [g.id for g in groupops_engine.book.groups] == ["only"]
        assert [g.id for g in groupops_sqlite_engine.book.groups] == ["only"]


def test_the_plugin_is_registered_by_entry_point(tmp_path):
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            def test_uses_fixtures(groupops_engine, groupops_messenger, request):
                assert groupops_engine.book.groups
                assert "groupops_sqlite_engine" not in request.fixturenames
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    listing = subprocess.run(
        [sys.executable, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider", "test_user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    for name in FIXTURES:
        assert name in listing


# -- fixtures load no installed plugins unless asked; named messengers are stood in ----
# the example book with its camp sent through the example plugin's messenger, as an
# integrator's book names its bot
_INTEGRATOR_CONFTEST = """
import pytest
import groupops as go


@pytest.fixture
def groupops_rule_book():
    data = go.load_rule_book(go.example_path("community.yaml")).to_data()
    for group in data["groups"]:
        if group["id"] == "camp-7":
            group["messenger"] = "example-outbox"
    return go.RuleBook.load(data)
"""

_INTEGRATOR_TEST = """
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from groupops_example_plugin import OUTBOX


def season(engine):
    engine.ingest(
        [
            {"id": "j", "kind": "joined", "member": "m1", "group": "camp-7", "at": "2026-10-20T09:00:00+08:00"},
            {"id": "c", "kind": "checkin", "member": "m1", "group": "camp-7", "at": "2026-10-24T08:00:00+08:00"},
        ]
    )
    friday = datetime(2026, 11, 6, 20, tzinfo=ZoneInfo("Asia/Shanghai"))
    engine.run(friday)
    engine.deliver(friday)


@pytest.mark.parametrize("fixture", ["groupops_engine", "groupops_sqlite_engine"])
def test_the_recording_messenger_gets_the_camps_messages(fixture, request, groupops_messenger):
    sent_before = len(OUTBOX.sent)
    engine = request.getfixturevalue(fixture)
    season(engine)
    assert len(OUTBOX.sent) == sent_before, "the installed plugin's messenger got a test message"
    assert [(m.action, m.member, m.messenger) for m in groupops_messenger.delivered] == [
        ("notice", "m1", "example-outbox")
    ]


@pytest.mark.groupops_entry_points
def test_asked_for_the_installed_plugins_deliver(groupops_engine, groupops_messenger):
    sent_before = len(OUTBOX.sent)
    season(groupops_engine)
    assert [(m.action, m.member) for m in OUTBOX.sent[sent_before:]] == [("notice", "m1")]
    assert groupops_messenger.delivered == []
"""


def _integrator_project(pytester, ini=""):
    pytester.makeconftest(_INTEGRATOR_CONFTEST)
    pytester.makepyfile(test_integrator=_INTEGRATOR_TEST)
    if ini:
        pytester.makeini(ini)


def test_fixtures_load_installed_plugins_only_when_asked(pytester):
    import groupops_example_plugin  # installed by entry point (tests/plugins), as CI does

    assert "example" in go.Engine(go.RuleBook.load({"groups": [{"id": "g"}]})).plugins.names()
    assert groupops_example_plugin.OUTBOX.name == "example-outbox"
    _integrator_project(pytester)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_the_ini_option_loads_installed_plugins_for_every_test(pytester):
    _integrator_project(pytester, ini="[pytest]\ngroupops_entry_points = true\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    # with the plugins loaded, the camp's messages go to the real messenger: the two
    # tests that expect the stand-in fail, the one that asks for the plugin passes
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*the installed plugin's messenger got a test message*"])


def test_the_marker_and_ini_option_are_declared(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.groupops_entry_points*"])
    pytester.makeini("[pytest]\ngroupops_entry_points = true\n")
    assert "unknown config option" not in pytester.runpytest("-W", "error").stdout.str().lower()


def test_a_book_naming_messengers_runs_on_the_fixtures(pytester):
    pytester.makeconftest(
        """
        import pytest
        import groupops as go


        @pytest.fixture
        def groupops_rule_book():
            return go.RuleBook.load(
                {"groups": [{"id": "a", "messenger": "tg"}, {"id": "b", "messenger": "wecom"}, {"id": "c"}]}
            )
        """
    )
    pytester.makepyfile(
        """
        def test_every_named_messenger_is_stood_in(groupops_engine, groupops_sqlite_engine, groupops_messenger):
            for engine in (groupops_engine, groupops_sqlite_engine):
                assert sorted(engine.messengers) == ["console", "recording", "tg", "wecom"]
                assert engine.messengers["tg"].delivered is groupops_messenger.delivered
                assert engine.default_messenger == "recording"
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_recording_engine_stands_in_only_for_messengers_nobody_registers():
    from groupops.testing import recording_engine

    class Telegram:
        name = "tg"
        actions = frozenset({"message"})
        quota = None

        def deliver(self, message):
            raise AssertionError("not delivered in this test")

    class Bot:
        @go.hookimpl
        def groupops_register_messengers(self, register):
            register(Telegram())

    book = go.RuleBook.load({"groups": [{"id": "a", "messenger": "tg"}, {"id": "b", "messenger": "wecom"}]})
    with recording_engine(book) as engine:
        assert sorted(engine.messengers) == ["console", "recording", "tg", "wecom"]
        assert "example" not in engine.plugins.names()
        assert isinstance(engine.messengers["tg"], RecordingMessenger)
    with recording_engine(book, plugins=[Bot()]) as engine:
        assert isinstance(engine.messengers["tg"], Telegram)
        assert isinstance(engine.messengers["wecom"], RecordingMessenger)
    with recording_engine(book, default_messenger="console") as engine:
        assert isinstance(engine.messengers["console"], go.ConsoleMessenger)  # registered: kept
    with recording_engine(book, default_messenger="pager") as engine:
        assert engine.messengers["pager"].delivered is engine.messengers["recording"].delivered
    mine = RecordingMessenger(name="mine")
    with recording_engine(book, messenger=mine, entry_points=True) as engine:
        assert engine.default_messenger == "mine"
        assert "example" in engine.plugins.names()
        assert engine.messengers["wecom"].delivered is mine.delivered
