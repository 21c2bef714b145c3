"""The pytest plugin (entry point ``pytest11``): fixtures exist, are never autouse, and
the engine fixtures run the overridable ``groupops_rule_book``."""

import subprocess
import sys
import textwrap
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import groupops as go

TZ = ZoneInfo("Asia/Shanghai")
FIXTURES = ("groupops_engine", "groupops_sqlite_engine", "groupops_messenger", "groupops_rule_book")


def test_no_fixture_is_autouse(request):
    assert not set(FIXTURES) & set(request.fixturenames)


def test_the_default_book_is_the_example(groupops_rule_book):
    assert groupops_rule_book == go.load_rule_book(go.example_path("community.yaml"))


def _season(engine):
    engine.ingest(
        [
            {"id": "j", "kind": "joined", "member": "m1", "group": "camp-7", "at": "2026-10-20T09:00:00+08:00"},
            {"id": "c", "kind": "checkin", "member": "m1", "group": "camp-7", "at": "2026-10-24T08:00:00+08:00"},
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
