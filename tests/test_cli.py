"""The ``groupops`` command line against real files: exit codes, output, and what ends
up in the database.

Most tests run the command in-process with click's ``CliRunner`` (:func:`cli`): the same
``main`` the script calls, with its own stdout, stderr and exit code, without starting a
Python process for each call. Every command also has at least one test through the
installed script in a subprocess (:func:`gops`): the entry point, a process's exit code and
streams, plugins installed on its path, and a demo that is the same in another process.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

import groupops
from groupops.cli import main
from groupops.plugins.sqlite import SQLiteStore

GROUPOPS = Path(sys.executable).parent / "groupops"
EXAMPLES = Path(groupops.__file__).parent / "examples"
COMMUNITY = EXAMPLES / "community.yaml"


def gops(*args: str | Path, cwd: Path, ok: bool | None = True) -> subprocess.CompletedProcess[str]:
    """Run the installed script; ``ok`` True/False asserts the exit code is 0 / not 0."""
    env = {k: v for k, v in os.environ.items() if k != "GROUPOPS_LOCALE"}
    env["PYTHONUTF8"] = "1"
    proc = subprocess.run(
        [str(GROUPOPS), *map(str, args)], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )
    if ok is True:
        assert proc.returncode == 0, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    elif ok is False:
        assert proc.returncode != 0, proc.stdout[-2000:]
    return proc


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click 8.1: keep stderr apart
    except TypeError:
        return CliRunner()  # click >= 8.2 always keeps it apart


def cli(*args: str | Path, cwd: Path, ok: bool | None = True) -> subprocess.CompletedProcess[str]:
    """Run the command in this process (``main``, as the script does) in ``cwd``, with
    GROUPOPS_LOCALE unset; the result and ``ok`` as for :func:`gops`. An exception that
    escapes ``main`` fails the test (the script would print a raw traceback)."""
    with contextlib.chdir(cwd):
        result = _runner().invoke(
            main,
            [str(a) for a in args],
            prog_name="groupops",
            env={"GROUPOPS_LOCALE": None},
            catch_exceptions=False,
        )
    proc = subprocess.CompletedProcess(
        ["groupops", *map(str, args)], result.exit_code, result.stdout, result.stderr
    )
    if ok is True:
        assert proc.returncode == 0, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    elif ok is False:
        assert proc.returncode != 0, proc.stdout[-2000:]
    return proc


def test_the_script_is_installed():
    assert GROUPOPS.exists(), "reinstall: .venv/bin/pip install -e '.[dev]'"


# -- a small community for run / diff / explain / ingest -------------------------------

BOOK = """\
version: 1
timezone: Asia/Shanghai
groups:
  - {id: club, name: Club}
  - {id: vip, name: VIP, kind: paid}
policies:
  - id: vip-invite
    type: admission
    from: [club]
    to: vip
    when: {count: purchase, within: 30d, at_least: 2}
  - id: weekly
    type: eviction
    groups: [club]
    schedule: "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20"
    notice: 2d
    when: {days_since: checkin, at_least: 7}
"""
# the same data under a looser threshold and a more patient eviction
NEW_BOOK = BOOK.replace("at_least: 2}", "at_least: 1}").replace("at_least: 7}", "at_least: 10}")
FRIDAY = "2026-11-20T20:00:00+08:00"  # notices for the period ending Sunday 20:00

MEMBERS_CSV = """\
id,name,labels,attributes,source,referrer
m1,Wang Fang,A|premium,"{""city"": ""杭州""}",sales,
m2,Li Na,B,,content,m1
m3,Zhang Wei,B;B+,,partner,
m4,Chen Jing,,,content,
m5,Liu Yang,,,staff,
"""
EVENTS_JSONL = "\n".join(
    [
        *(
            json.dumps(
                {
                    "id": f"j{i}",
                    "kind": "joined",
                    "member": f"m{i}",
                    "group": "club",
                    "at": f"2026-11-02T0{i}:00:00+08:00",
                }
            )
            for i in range(1, 6)
        ),
        '{"id": "p1", "kind": "purchase", "member": "m1", "at": "2026-11-10T10:00:00+08:00", "value": 99}',
        '{"id": "p2", "kind": "purchase", "member": "m1", "at": "2026-11-12T10:00:00+08:00", "value": 59}',
        '{"id": "p3", "kind": "purchase", "member": "m2", "at": "2026-11-12T11:00:00+08:00", "value": 59}',
        '{"id": "c1", "kind": "checkin", "member": "m3", "group": "club", "at": "2026-11-12T09:00:00+08:00"}',
        '{"id": "c2", "kind": "checkin", "member": "m5", "group": "club", "at": "2026-11-19T09:00:00+08:00"}',
        "",
    ]
)


@pytest.fixture
def club(tmp_path: Path) -> Path:
    """A directory with the rule books, the data files, and club.db holding the data."""
    (tmp_path / "book.yaml").write_text(BOOK, encoding="utf-8")
    (tmp_path / "new.yaml").write_text(NEW_BOOK, encoding="utf-8")
    (tmp_path / "members.csv").write_text(MEMBERS_CSV, encoding="utf-8")
    (tmp_path / "events.jsonl").write_text(EVENTS_JSONL, encoding="utf-8")
    cli("ingest", "--db", "club.db", "members.csv", "events.jsonl", cwd=tmp_path)
    return tmp_path


def _decisions(db: Path) -> list[groupops.Decision]:
    store = SQLiteStore(db)
    try:
        return store.decisions()
    finally:
        store.close()


# -- demo ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The demo run once with --json: its directory (demo.db, demo.yaml) and its output."""
    where = tmp_path_factory.mktemp("demo")
    proc = cli("demo", "--db", "demo.db", "--json", cwd=where)
    return where, json.loads(proc.stdout)


def _all(doc: dict) -> list[dict]:
    return [d for w in doc["weeks"] for d in w["decisions"]]


def test_demo_makes_every_kind_of_decision_with_reasons(demo):
    where, doc = demo
    decisions = _all(doc)
    by_action = Counter(d["action"] for d in decisions)
    for action in ("invite", "notice", "spare", "evict", "revive", "promote"):
        assert by_action[action] > 0, action
    assert dict(by_action) == doc["summary"]["by_action"]
    assert len(decisions) == doc["summary"]["decisions"] == doc["summary"]["messages"]
    assert len(doc["weeks"]) == 8
    assert 200 <= doc["summary"]["members"] <= 400
    assert all(d["reasons"] for d in decisions)
    assert all(d["explanation"] for d in decisions)
    assert {d["group"] for d in decisions if d["action"] == "invite"} == {"vip-hz"}
    assert {d["group"] for d in decisions if d["action"] in ("evict", "notice")} == {"camp-7", "welfare-hz"}
    assert all(d["from_role"] and d["to_role"] for d in decisions if d["action"] in ("promote", "demote"))
    assert (where / "demo.db").exists() and (where / "demo.yaml").exists()


def test_demo_decisions_follow_the_rules(demo):
    _, doc = demo
    decisions = _all(doc)
    notices = {(d["member"], d["group"], d["period"]) for d in decisions if d["action"] == "notice"}
    # nobody is evicted or spared without notice for that very period
    for d in decisions:
        if d["action"] in ("evict", "spare"):
            assert (d["member"], d["group"], d["period"]) in notices, d
    # every revival follows an eviction of the same member from the same group
    for r in (d for d in decisions if d["action"] == "revive"):
        assert any(
            e["action"] == "evict" and e["member"] == r["member"] and e["at"] < r["at"] for e in decisions
        ), r
        assert "makeup_task" in r["reasons"] or "payment" in r["reasons"]
    # camp evictions happen on Sunday evenings, notices two days earlier
    for d in decisions:
        if d["group"] == "camp-7" and d["action"] == "evict":
            assert d["at"].endswith("T20:00:00+08:00")
    # the two spammers: three violations, evicted at the end of the second week, and their
    # payment afterwards does not bring them back
    spam = [d for d in decisions if d["action"] == "evict" and "violation 3 times" in d["reasons"]]
    assert len(spam) == 2
    assert {d["at"] for d in spam} == {"2026-09-20T20:00:00+08:00"}
    assert not any(d["action"] == "revive" and d["member"] in {s["member"] for s in spam} for d in decisions)
    # the monthly clean-up of the welfare group on 1 October and 1 November
    welfare = {d["at"][:10] for d in decisions if d["group"] == "welfare-hz" and d["action"] == "evict"}
    assert welfare == {"2026-10-01", "2026-11-01"}
    # the paid group screens members after a month in a general group, as the method says
    # (after one to three months), and "bought more than twice" is three purchases or more
    store = SQLiteStore(demo[0] / "demo.db")
    try:
        memberships = store.memberships()
    finally:
        store.close()
    joined = {(m.member, m.group): m.joined_at for m in memberships}
    invites = [d for d in decisions if d["action"] == "invite"]
    assert invites
    for d in invites:
        at = datetime.fromisoformat(d["at"])
        assert any(
            at - joined.get((d["member"], g), at) >= timedelta(days=30) for g in ("welfare-hz", "flash-gw")
        ), d
        assert re.search(r"days since joined; needs at least 30 days", d["reasons"]), d
        if "purchase" in d["reasons"]:
            assert re.search(r"purchase ([3-9]|\d\d+) times", d["reasons"]), d


def test_demo_narrative_matches_json_and_every_run_is_the_same(demo, tmp_path):
    _, doc = demo
    text = cli("demo", "--db", "again.db", cwd=tmp_path).stdout
    # one line per decision, under its week
    lines = [ln for ln in text.splitlines() if re.match(r"^  \d\d-\d\d \d\d:\d\d  ", ln)]
    assert len(lines) == doc["summary"]["decisions"]
    for week in doc["weeks"]:
        assert f"Week {week['week']} · " in text
        assert f"· {len(week['decisions'])} decisions" in text
    # the summary table: one row per action with its total in the last column
    table = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+) .* (\d+)$", text, re.M)}
    for action, n in doc["summary"]["by_action"].items():
        assert table[action] == n, action
    assert table["total"] == doc["summary"]["decisions"]
    # a reason is shown with each decision
    first_evict = next(d for d in _all(doc) if d["action"] == "evict")
    assert first_evict["reasons"] in text
    # deterministic: another run (another file) prints exactly the same JSON
    again = gops("demo", "--db", "third.db", "--json", cwd=tmp_path).stdout
    assert json.loads(again) == doc


def test_demo_refuses_to_overwrite_other_files(tmp_path):
    (tmp_path / "notes.db").write_text("my notes", encoding="utf-8")
    proc = cli("demo", "--db", "notes.db", cwd=tmp_path, ok=False)
    assert proc.returncode == 2
    assert (tmp_path / "notes.db").read_text(encoding="utf-8") == "my notes"
    assert proc.stderr.count("\n") == 1 and "not a SQLite database" in proc.stderr


# -- check, schema ---------------------------------------------------------------------------

THREE_ERRORS = """\
version: 1
timezone: Asia/Shanghai
groups:
  - {id: camp, kind: general}
policies:
  - id: weekly
    type: eviction
    groups: [camp, nowhere]
    schedule: "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20"
    notice: 2x
    when: {count: checkin, within: 7d, below: 4}
  - id: comeback
    type: revival
    groups: [camp]
    within: 14d
    when: {cnt: makeup_task}
"""


def test_check_reports_every_error_as_path_and_message(tmp_path):
    (tmp_path / "rules.yaml").write_text(THREE_ERRORS, encoding="utf-8")
    proc = gops("check", "rules.yaml", cwd=tmp_path, ok=False)
    assert proc.returncode == 2
    lines = proc.stdout.splitlines()
    assert len(lines) == 3
    assert all(re.match(r"^[\w\[\].]+: \S", ln) for ln in lines), lines
    paths = sorted(ln.split(":", 1)[0] for ln in lines)
    assert paths == ["policies[0].groups[1]", "policies[0].notice", "policies[1].when"]
    assert "'2x'" in proc.stdout and "'nowhere'" in proc.stdout
    assert "3 problem" in proc.stderr
    assert "Traceback" not in proc.stderr

    doc = json.loads(gops("check", "rules.yaml", "--json", cwd=tmp_path, ok=False).stdout)
    assert doc["ok"] is False and len(doc["problems"]) == 3


def test_check_reports_every_group_with_the_same_problem(tmp_path):
    (tmp_path / "bots.yaml").write_text(
        "groups:\n"
        "  - {id: a, messenger: tg}\n"
        "  - {id: b}\n"
        "  - {id: c, messenger: tg}\n"
        "  - {id: d, messenger: wecom}\n"
        "policies:\n"
        "  - {id: p, type: admission, from: [a], to: b, when: {metric: nobody_registers_me, at_least: 1}}\n",
        encoding="utf-8",
    )
    proc = cli("check", "bots.yaml", cwd=tmp_path, ok=False)
    out = proc.stdout
    # before: only groups[0] was reported, and nothing past the unregistered metric
    for path in (
        "groups[0].messenger: no messenger named 'tg'",
        "groups[2].messenger: no messenger named 'tg'",
        "groups[3].messenger: no messenger named 'wecom'",
        "metric 'nobody_registers_me' is not registered by any plugin",
    ):
        assert path in out, out
    doc = json.loads(cli("check", "bots.yaml", "--json", cwd=tmp_path, ok=False).stdout)
    assert len(doc["problems"]) == 4


@pytest.mark.parametrize("book", ["community.yaml", "demo.yaml"])
def test_check_passes_the_examples(book, tmp_path):
    proc = cli("check", EXAMPLES / book, cwd=tmp_path)
    assert "ok" in proc.stdout
    doc = json.loads(cli("check", EXAMPLES / book, "--json", cwd=tmp_path).stdout)
    assert doc["ok"] is True and doc["problems"] == [] and doc["revision"]


def test_schema_is_json_schema_that_validates_the_examples(tmp_path):
    schema = json.loads(gops("schema", cwd=tmp_path).stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for book in ("community.yaml", "demo.yaml"):
        jsonschema.validate(yaml.safe_load((EXAMPLES / book).read_text(encoding="utf-8")), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"version": 1, "groups": [], "oops": 1}, schema)


# -- ingest ---------------------------------------------------------------------------------


def test_ingest_csv_with_a_malformed_line_stores_the_rest(tmp_path):
    (tmp_path / "events.csv").write_text(
        "id,kind,member,group,at,value,data\n"
        "e1,checkin,m1,club,2026-11-17T08:00:00+08:00,1,\n"
        "e2,checkin,m1,club,2026-11-18T08:00:00+08:00\n"  # too few fields
        "e3,purchase,m2,,2026-11-18T10:00:00+08:00,abc,\n"  # not a number
        "e4,checkin,m2,club,2026-11-18T08:00:00,1,\n"  # naive time
        'e5,purchase,m2,,2026-11-19T10:00:00+08:00,99,"{""sku"": ""A1""}"\n'
        "\n"
        "e6,checkin,m3,club,2026-11-19T08:00:00+08:00,,\n",
        encoding="utf-8",
    )
    proc = cli("ingest", "--db", "x.db", "events.csv", cwd=tmp_path)
    assert "Stored 3 events" in proc.stdout
    assert "3 record(s) rejected" in proc.stdout and "events.csv.rejects.jsonl" in proc.stdout
    rejects = [json.loads(ln) for ln in (tmp_path / "events.csv.rejects.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [3, 4, 5]
    assert all(r["file"] == "events.csv" and r["problems"] for r in rejects)
    assert "has 5 fields; the header has 7" in rejects[0]["problems"][0]
    assert rejects[1]["problems"][0].startswith("value:") and rejects[1]["record"]["value"] == "abc"
    assert "timezone" in rejects[2]["problems"][0]
    assert "events.csv:3:" in proc.stderr
    store = SQLiteStore(tmp_path / "x.db")
    try:
        stored = {e.id: e for _, e in store.events_after(0)}
    finally:
        store.close()
    assert sorted(stored) == ["e1", "e5", "e6"]
    assert stored["e5"].data == {"sku": "A1"} and stored["e5"].value == 99


def test_ingest_jsonl_members_duplicates_and_json_output(tmp_path):
    (tmp_path / "members.csv").write_text(MEMBERS_CSV, encoding="utf-8")
    (tmp_path / "events.jsonl").write_text(EVENTS_JSONL + "{not json\n", encoding="utf-8")
    doc = json.loads(
        cli(
            "ingest",
            "--db",
            "x.db",
            "--rejects",
            "bad.jsonl",
            "members.csv",
            "events.jsonl",
            "--json",
            cwd=tmp_path,
        ).stdout
    )
    assert (doc["events"], doc["members"], doc["rejected"]) == (10, 5, 1)
    assert doc["rejects"][0]["file"] == "events.jsonl" and doc["rejects"][0]["line"] == 11
    assert "not valid JSON" in doc["rejects"][0]["problems"][0]
    assert (tmp_path / "bad.jsonl").exists()
    again = json.loads(cli("ingest", "--db", "x.db", "events.jsonl", "--json", cwd=tmp_path).stdout)
    assert again["events"] == 0 and again["duplicates"] == 10
    store = SQLiteStore(tmp_path / "x.db")
    try:
        m1 = store.get_member("m1")
        m3 = store.get_member("m3")
    finally:
        store.close()
    assert m1 is not None and m1.labels == ("A", "premium") and m1.attributes == {"city": "杭州"}
    assert m3 is not None and m3.labels == ("B", "B+") and m3.source == "partner"


_TYPO_EVENTS = (
    '{"id": "e1", "kind": "checkin", "member": "m1", "group": "club", "at": "2026-11-17T08:00:00+08:00"}\n'
    '{"id": "e2", "kind": "checkin", "member": "m1", "group": "clbu", "at": "2026-11-18T08:00:00+08:00"}\n'
    '{"id": "e3", "kind": "purchase", "member": "m1", "at": "2026-11-18T09:00:00+08:00"}\n'
)


def test_ingest_with_rules_rejects_events_naming_a_group_the_book_does_not_know(tmp_path):
    (tmp_path / "rules.yaml").write_text(BOOK, encoding="utf-8")
    (tmp_path / "events.jsonl").write_text(_TYPO_EVENTS, encoding="utf-8")
    proc = cli("ingest", "--db", "x.db", "--rules", "rules.yaml", "events.jsonl", cwd=tmp_path)
    assert "Stored 2 events" in proc.stdout
    assert "1 record(s) rejected" in proc.stdout
    [reject] = [json.loads(ln) for ln in (tmp_path / "events.jsonl.rejects.jsonl").read_text().splitlines()]
    assert reject["line"] == 2
    assert reject["problems"] == [
        "group: 'clbu' is not a group of the rule book (known groups: 'club', 'vip')"
    ]
    store = SQLiteStore(tmp_path / "x.db")
    try:
        assert sorted(e.id for _, e in store.events_after(0)) == ["e1", "e3"]
    finally:
        store.close()


def test_ingest_without_rules_lists_the_groups_it_could_not_check(tmp_path):
    (tmp_path / "events.jsonl").write_text(_TYPO_EVENTS, encoding="utf-8")
    proc = cli("ingest", "--db", "x.db", "events.jsonl", cwd=tmp_path)
    assert "Stored 3 events" in proc.stdout
    assert "Events name 2 group(s) no rule book was given to check: clbu, club" in proc.stdout
    doc = json.loads(cli("ingest", "--db", "y.db", "events.jsonl", "--json", cwd=tmp_path).stdout)
    assert doc["unknown_groups"] == ["clbu", "club"] and doc["events"] == 3


def test_ingest_with_every_record_rejected_exits_2(tmp_path):
    (tmp_path / "e.jsonl").write_text("nonsense\n[]\n", encoding="utf-8")
    proc = gops("ingest", "--db", "x.db", "e.jsonl", cwd=tmp_path, ok=False)
    assert proc.returncode == 2 and "Nothing stored" in proc.stdout


# -- run -------------------------------------------------------------------------------------


def test_run_dry_run_records_nothing_then_run_does(club):
    dry = json.loads(
        cli(
            "run", "--db", "club.db", "--rules", "book.yaml", "--at", FRIDAY, "--dry-run", "--json", cwd=club
        ).stdout
    )
    assert dry["dry_run"] is True and dry["delivery"] is None
    assert {d["status"] for d in dry["decisions"]} == {"preview"}
    planned = {(d["action"], d["member"]) for d in dry["decisions"]}
    assert planned == {
        ("invite", "m1"),
        ("notice", "m1"),
        ("notice", "m2"),
        ("notice", "m3"),
        ("notice", "m4"),
    }
    assert _decisions(club / "club.db") == []

    proc = cli("run", "--db", "club.db", "--rules", "book.yaml", "--at", FRIDAY, "--json", cwd=club)
    done = json.loads(proc.stdout)  # the console messenger did not garble stdout
    assert {(d["action"], d["member"]) for d in done["decisions"]} == planned
    assert done["delivery"]["delivered"] == 5
    assert proc.stderr.count("[notice] club → ") == 4  # messages went to stderr
    assert {(d.action, d.member) for d in _decisions(club / "club.db")} == planned

    again = cli("run", "--db", "club.db", "--rules", "book.yaml", "--at", FRIDAY, cwd=club)
    assert "Nothing due" in again.stdout


def test_run_prints_a_table_of_decisions_with_reasons(club):
    proc = cli(
        "run", "--db", "club.db", "--rules", "book.yaml", "--at", "2026-11-20T20:00", "--dry-run", cwd=club
    )
    header, *rows = proc.stdout.split("\n\n")[0].splitlines()
    assert header.split() == ["when", "action", "group", "member", "reason"]
    assert len(rows) == 5
    invite = next(r for r in rows if " invite " in r)
    assert (
        "Wang Fang (m1)" in invite
        and "purchase 2 times in the last 30 days; needs at least 2 times" in invite
    )
    notice = next(r for r in rows if "(m3)" in r)
    assert "checked in 8 days ago; needs fewer than 7 days" in notice
    assert "Dry run at 2026-11-20 20:00" in proc.stdout and "nothing was recorded" in proc.stdout


# -- diff, explain -----------------------------------------------------------------------------


def test_diff_shows_both_directions_with_counts(club):
    doc = json.loads(
        cli("diff", "--db", "club.db", "book.yaml", "new.yaml", "--at", FRIDAY, "--json", cwd=club).stdout
    )
    assert [(d["action"], d["member"]) for d in doc["only_new"]] == [("invite", "m2")]
    assert [(d["action"], d["member"]) for d in doc["only_old"]] == [("notice", "m3")]
    assert doc["counts"] == {"only_new": {"invite": 1}, "only_old": {"notice": 1}, "same": 4}
    assert "purchase 1 time in the last 30 days; needs at least 1 time" in doc["only_new"][0]["reasons"]

    text = cli("diff", "--db", "club.db", "book.yaml", "new.yaml", "--at", FRIDAY, cwd=club).stdout
    assert "Only under new.yaml (1): 1 invite" in text
    assert "Only under book.yaml (1): 1 notice" in text
    assert "Li Na (m2)" in text and "Zhang Wei (m3)" in text
    assert "Under both: 4 decision(s)" in text
    assert _decisions(club / "club.db") == []  # nothing recorded


def test_explain_prints_the_requirement_table(club):
    proc = cli("explain", "--db", "club.db", "--rules", "book.yaml", "m3", "--at", FRIDAY, cwd=club)
    out = proc.stdout
    assert "Zhang Wei (m3) in club · weekly (eviction)" in out
    assert "✗ checked in 8 days ago; needs fewer than 7 days" in out
    assert "Zhang Wei (m3) in club · vip-invite (admission)" in out
    assert "✗ purchase 0 times in the last 30 days; needs at least 2 times" in out
    only = cli(
        "explain",
        "--db",
        "club.db",
        "--rules",
        "book.yaml",
        "m1",
        "--policy",
        "vip-invite",
        "--at",
        FRIDAY,
        cwd=club,
    )
    assert "weekly" not in only.stdout and "✓ purchase 2 times" in only.stdout
    doc = json.loads(
        cli(
            "explain",
            "--db",
            "club.db",
            "--rules",
            "book.yaml",
            "m1",
            "--group",
            "club",
            "--at",
            FRIDAY,
            "--json",
            cwd=club,
        ).stdout
    )
    assert [r["policy"] for r in doc] == ["vip-invite", "weekly"]
    assert doc[0]["sections"][0]["explanation"]["passed"] is True
    assert doc[0]["membership"]["role"] == "member"


LADDER_BOOK = """\
timezone: Asia/Shanghai
groups: [{id: club, name: Club}]
policies:
  - id: roles
    type: ladder
    groups: [club]
    steps:
      - {role: member}
      - role: active
        promote: {count: message, within: 7d, at_least: 3}
        KEEP
"""


@pytest.mark.parametrize(
    ("keep", "note_en", "note_zh"),
    [
        ("", "no keep condition, so no rule demotes it", "也没有保持条件，不会被规则降级"),
        (
            "keep: {count: message, within: 14d, at_least: 1}",
            "the role is kept while the condition above holds",
            "满足上面的条件即保持该角色",
        ),
    ],
)
def test_explain_of_a_top_rung_says_it_is_the_top_and_what_keeps_it(tmp_path, keep, note_en, note_zh):
    (tmp_path / "book.yaml").write_text(LADDER_BOOK.replace("KEEP", keep), encoding="utf-8")
    (tmp_path / "e.jsonl").write_text(
        '{"id": "j", "kind": "joined", "member": "m1", "group": "club", "at": "2026-11-02T09:00:00+08:00", "data": {"role": "active"}}\n',
        encoding="utf-8",
    )
    cli("ingest", "--db", "x.db", "--rules", "book.yaml", "e.jsonl", cwd=tmp_path)
    args = ("explain", "--db", "x.db", "--rules", "book.yaml", "m1", "--at", FRIDAY)
    en = cli(*args, cwd=tmp_path).stdout
    # before: the header and the membership line, and nothing else
    assert "note: active is the top rung of this ladder: there is no higher role to be promoted to" in en
    assert note_en in en
    assert ("to stay active:" in en) is bool(keep)
    assert ("✗ message 0 times in the last 14 days; needs at least 1 time" in en) is bool(keep)
    zh = cli(*args, "--locale", "zh", cwd=tmp_path).stdout
    assert "说明：active 是此阶梯的最高一级" in zh and note_zh in zh
    head = zh.splitlines()[0]
    assert head == "m1 在 club · 规则 roles（阶梯）· 时间 2026-11-20T20:00:00+08:00"
    assert "状态 在群" in zh


# -- report ----------------------------------------------------------------------------------


def test_report_is_one_html_file_with_charts_and_numbers(demo, tmp_path):
    where, demo_doc = demo
    out = tmp_path / "report.html"
    doc = json.loads(
        cli(
            "report",
            "--db",
            where / "demo.db",
            "--rules",
            where / "demo.yaml",
            "--out",
            out,
            "--json",
            cwd=tmp_path,
        ).stdout
    )
    page = out.read_text(encoding="utf-8")
    assert (
        page.startswith("<!DOCTYPE html>") and page.count("<svg") == 6
    )  # with the referral tree and group health charts
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page)  # nothing to fetch
    summary = demo_doc["summary"]
    assert doc["members"] == summary["members"] and doc["decisions"] == summary["decisions"]
    assert doc["totals"] == summary["by_action"]
    assert doc["at"] == "2026-11-01T20:00:00+08:00"
    # the numbers are beside the charts
    for tile in (summary["members"], summary["events"], summary["by_action"]["evict"]):
        assert f"<b>{tile}</b>" in page
    funnel = doc["funnel"]
    assert {r["source"] for r in funnel} >= {"content", "partner", "sales", "staff", "referral"}
    for r in funnel:
        assert r["acquired"] >= r["activated"] >= r["retained"] and r["acquired"] >= r["converted"]
        assert f"<td>{r['source'] or 'unknown channel'}</td><td class=n>{r['acquired']}</td>" in page
    assert sum(r["acquired"] for r in funnel) == doc["members"]  # every member is in one row
    assert sum(r["converted"] for r in funnel) > 0
    assert [p["start"][:10] for p in doc["periods"]][:2] == ["2026-09-07", "2026-09-14"]
    assert sum(p["counts"].get("evict", 0) for p in doc["periods"]) == summary["by_action"]["evict"]
    vip = next(r for r in doc["composition"] if r["group"] == "vip-hz")
    assert vip["counts"]["guests"] == 4 and vip["total"] == sum(vip["counts"].values())
    assert "target" in page and "72%" in page  # the default target mix, summing to 100 %
    # the referral tree beside S = m·2ⁿ: the demo's referred customers
    referrals = doc["referrals"]
    assert referrals["seeds"] > 0 and referrals["planned"] == referrals["seeds"] * 2 ** referrals["depth"]
    assert sum(g["size"] for g in referrals["generations"]) == referrals["members"]
    assert "Referral tree per generation against S = m·2ⁿ" in page

    zh = tmp_path / "zh.html"
    cli(
        "report",
        "--db",
        where / "demo.db",
        "--rules",
        where / "demo.yaml",
        "--out",
        zh,
        "--locale",
        "zh",
        cwd=tmp_path,
    )
    assert "角色构成与目标比例" in zh.read_text(encoding="utf-8")


def test_report_rejects_a_bad_target_mix(demo, tmp_path):
    where, _ = demo
    proc = cli(
        "report",
        "--db",
        where / "demo.db",
        "--rules",
        where / "demo.yaml",
        "--out",
        tmp_path / "r.html",
        "--target-mix",
        "1,2,3",
        cwd=tmp_path,
        ok=False,
    )
    assert proc.returncode == 2 and "--target-mix" in proc.stderr
    args = ("report", "--db", where / "demo.db", "--rules", where / "demo.yaml", "--out", tmp_path / "r.html")
    proc = cli(*args, "--target-mix", "50,50,50,50,50", cwd=tmp_path, ok=False)  # before: accepted
    assert proc.returncode == 2 and "'50,50,50,50,50' sums to 250 %, not 100 %" in proc.stderr
    assert not (tmp_path / "r.html").exists()


# -- errors, locale, help ----------------------------------------------------------------------


def test_a_user_error_is_one_line_and_verbose_adds_the_traceback(club):
    proc = gops("explain", "--db", "club.db", "--rules", "book.yaml", "nobody", cwd=club, ok=False)
    assert proc.returncode == 2
    assert proc.stderr == "groupops: error: unknown member 'nobody'\n"
    verbose = gops(
        "explain", "--db", "club.db", "--rules", "book.yaml", "nobody", "--verbose", cwd=club, ok=False
    )
    assert verbose.returncode == 2
    assert "Traceback (most recent call last)" in verbose.stderr
    assert verbose.stderr.rstrip().endswith("groupops: error: unknown member 'nobody'")


def test_user_errors_exit_2_without_a_traceback(club):
    for args in (
        ("run", "--db", "missing.db", "--rules", "book.yaml", "--dry-run"),
        ("run", "--db", "club.db", "--rules", "book.yaml", "--at", "yesterday"),
        ("explain", "--db", "club.db", "--rules", "book.yaml", "m1", "--policy", "nope"),
        ("check", "no-such-file.yaml"),
    ):
        proc = cli(*args, cwd=club, ok=False)
        assert proc.returncode == 2, args
        assert "Traceback" not in proc.stderr, args
    (club / "bad.yaml").write_text(THREE_ERRORS, encoding="utf-8")
    proc = cli("run", "--db", "club.db", "--rules", "bad.yaml", "--json", cwd=club, ok=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("groupops: error: bad.yaml: policies[") == 3
    assert json.loads(proc.stdout)["exit_code"] == 2


def test_locale_zh_changes_the_language(club):
    en = cli(
        "explain",
        "--db",
        "club.db",
        "--rules",
        "book.yaml",
        "m3",
        "--policy",
        "weekly",
        "--at",
        FRIDAY,
        cwd=club,
    )
    zh = cli(
        "explain",
        "--db",
        "club.db",
        "--rules",
        "book.yaml",
        "m3",
        "--policy",
        "weekly",
        "--at",
        FRIDAY,
        "--locale",
        "zh",
        cwd=club,
    )
    assert "needs fewer than 7" in en.stdout and "要求少于 7 天" in zh.stdout
    assert "留下的条件" in zh.stdout
    run = cli(
        "run",
        "--db",
        "club.db",
        "--rules",
        "book.yaml",
        "--at",
        FRIDAY,
        "--dry-run",
        "--locale",
        "zh",
        cwd=club,
    )
    assert "预演" in run.stdout and "预警" in run.stdout
    err = cli(
        "explain", "--db", "club.db", "--rules", "book.yaml", "nobody", "--locale", "zh", cwd=club, ok=False
    )
    assert err.stderr.startswith("groupops: 错误:")


def test_help_documents_the_exit_codes(tmp_path):
    top = gops("--help", cwd=tmp_path).stdout
    assert "Exit codes:" in top and "2  user error" in top
    assert set(main.commands) >= {
        "demo",
        "check",
        "schema",
        "ingest",
        "run",
        "diff",
        "explain",
        "groups",
        "report",
    }
    for command in main.commands:
        assert command in top, command
        text = cli(command, "--help", cwd=tmp_path).stdout
        assert "Exit codes:" in text and "--json" in text and "--locale" in text and "--verbose" in text, (
            command
        )


# -- plugins fail alone ------------------------------------------------------------------------


def _install_plugin(where: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> None:
    """Make ``source`` an installed plugin of the ``groupops`` entry-point group, as a
    package would (a module and its dist-info), on the PYTHONPATH of the subprocess."""
    site = where / "site"
    site.mkdir(exist_ok=True)
    (site / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[groupops]\n{name} = {name}\n", encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(site))


def test_run_a_failing_veto_hook_is_named_and_the_rest_is_done(club, monkeypatch):
    _install_plugin(
        club,
        monkeypatch,
        "crm_veto",
        """
        import groupops as go

        @go.hookimpl
        def groupops_veto_action(decision, membership):
            if decision.member == "m2":
                raise ValueError("no such customer")
            if decision.member == "m3":
                return False  # not a veto: a plugin error
            return None
    """,
    )
    proc = gops("run", "--db", "club.db", "--rules", "book.yaml", "--at", FRIDAY, cwd=club, ok=None)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("groupops:")]
    assert errors == [
        "groupops: internal error: plugin 'crm_veto' failed in groupops_veto_action (policy 'weekly', "
        "member 'm2', group 'club'): ValueError: no such customer",
        "groupops: internal error: plugin 'crm_veto' failed in groupops_veto_action (policy 'weekly', "
        "member 'm3', group 'club'): plugin 'crm_veto' returned False from groupops_veto_action: a veto is "
        "a non-blank string (the reason), or None to let the decision through",
    ]
    # the other decisions were recorded and their messages delivered
    assert {(d.action, d.member) for d in _decisions(club / "club.db")} == {
        ("invite", "m1"),
        ("notice", "m1"),
        ("notice", "m4"),
    }
    assert proc.stderr.count("[notice] club → ") == 2
    # the next run asks again about m2 and m3 only
    again = gops(
        "run", "--db", "club.db", "--rules", "book.yaml", "--at", FRIDAY, "--json", cwd=club, ok=None
    )
    assert again.returncode == 1
    assert [(f["plugin"], f["member"]) for f in json.loads(again.stdout)["failures"]] == [
        ("crm_veto", "m2"),
        ("crm_veto", "m3"),
    ]


def test_run_an_observer_raising_system_exit_does_not_end_the_run(club, monkeypatch):
    _install_plugin(
        club,
        monkeypatch,
        "quitter",
        """
        import groupops as go

        @go.hookimpl
        def groupops_observe_decision(decision, engine):
            raise SystemExit(4)
    """,
    )
    proc = gops("run", "--db", "club.db", "--rules", "book.yaml", "--at", FRIDAY, "--json", cwd=club, ok=None)
    assert proc.returncode == 1  # not 4, and not silent
    doc = json.loads(proc.stdout)
    assert doc["delivery"]["delivered"] == 5  # delivery was not skipped
    assert proc.stderr.count("plugin 'quitter' failed in groupops_observe_decision") >= 5


def test_run_console_messages_escape_terminal_control_codes(club):
    # a member whose name would clear the screen and forge a line of output
    (club / "evil.jsonl").write_text(
        json.dumps({"id": "m1", "name": "Wang\x1b[2J\x1b[H\nfake line\u202e"}) + "\n", encoding="utf-8"
    )
    cli("ingest", "--db", "club.db", "evil.jsonl", cwd=club)
    proc = gops("run", "--db", "club.db", "--rules", "book.yaml", "--at", FRIDAY, cwd=club)
    assert "\x1b" not in proc.stderr and "\u202e" not in proc.stderr
    [invite] = [line for line in proc.stderr.splitlines() if line.startswith("[invite]")]
    assert "Wang\\x1b[2J\\x1b[H\\nfake line\\u202e" in invite
    assert not any(line.startswith("fake line") for line in proc.stderr.splitlines())


def test_every_command_a_cli_module_defines_is_registered():
    # a new command is a module plus one add_command line in groupops/cli/__init__.py:
    # a module whose command was never registered fails here, not in a user's shell
    import importlib
    import pkgutil

    import click

    import groupops.cli

    defined = {
        value.name: value
        for info in pkgutil.iter_modules(groupops.cli.__path__)
        for value in vars(importlib.import_module(f"groupops.cli.{info.name}")).values()
        if isinstance(value, click.Command) and value is not main
    }
    assert set(defined) == set(main.commands)
    assert all(main.commands[name] is command for name, command in defined.items())
