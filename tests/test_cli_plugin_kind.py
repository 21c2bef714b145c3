"""A plugin's own policy kind through the real command line: the example plugin
(tests/plugins/groupops_example_plugin, installed by entry point as .ci/run does) adds
``birthday``; ``check``, ``schema`` and ``run`` on a fresh SQLite file all see it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import gops

from groupops.plugins.sqlite import SQLiteStore
from groupops.rules.kinds import BUILTIN_KINDS

try:
    import groupops_example_plugin  # noqa: F401
except ImportError:  # pragma: no cover - CI installs it
    pytest.skip(
        "tests/plugins/groupops_example_plugin is not installed (.ci/run installs it)",
        allow_module_level=True,
    )

BOOK = """\
timezone: Asia/Shanghai
locale: zh
groups:
  - {id: club, name: 俱乐部}
policies:
  - {id: cake, type: birthday, groups: [club]}
"""

DATA = "\n".join(
    [
        '{"id": "m1", "name": "Ann", "attributes": {"birthday": "11-20"}}',
        '{"id": "m2", "name": "Bo", "attributes": {"birthday": "03-01"}}',
        '{"id": "j1", "kind": "joined", "member": "m1", "group": "club", "at": "2026-10-01T09:00:00+08:00"}',
        '{"id": "j2", "kind": "joined", "member": "m2", "group": "club", "at": "2026-10-01T09:00:00+08:00"}',
        "",
    ]
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "book.yaml").write_text(BOOK, encoding="utf-8")
    (tmp_path / "data.jsonl").write_text(DATA, encoding="utf-8")
    return tmp_path


def test_check_and_schema_know_the_plugin_kind(home):
    assert "ok" in gops("check", "book.yaml", cwd=home).stdout
    schema = json.loads(gops("schema", cwd=home).stdout)
    assert '"birthday"' in json.dumps(schema)
    (home / "typo.yaml").write_text(BOOK.replace("type: birthday", "type: brithday"), encoding="utf-8")
    bad = gops("check", "typo.yaml", cwd=home, ok=False)
    known = ", ".join([k.name for k in BUILTIN_KINDS] + ["birthday"])
    assert f"'type' must be one of {known}" in bad.stdout + bad.stderr
    assert "'type' must be one of admission, eviction, revival, ladder, welcome, " in bad.stdout


def test_the_greeting_is_delivered_once_and_a_rerun_adds_nothing(home):
    gops("ingest", "--db", "club.db", "data.jsonl", cwd=home)
    proc = gops(
        "run", "--db", "club.db", "--rules", "book.yaml", "--at", "2026-11-20T10:00+08:00", "--json", cwd=home
    )
    done = json.loads(proc.stdout)
    assert [(d["action"], d["member"]) for d in done["decisions"]] == [("birthday", "m1")]
    assert done["delivery"]["delivered"] == 1
    assert "Ann，生日快乐！俱乐部全体成员祝您生日快乐。" in proc.stderr
    again = gops("run", "--db", "club.db", "--rules", "book.yaml", "--at", "2026-11-20T22:00+08:00", cwd=home)
    assert "生日快乐" not in again.stderr
    store = SQLiteStore(home / "club.db")
    try:
        assert [(d.action, d.member, d.period) for d in store.decisions()] == [
            ("birthday", "m1", "birthday-2026")
        ]
        assert len(store.messages()) == 1
    finally:
        store.close()
