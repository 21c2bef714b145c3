"""The command line against inputs that used to break it, as a user meets them: real
files, real SQLite databases, the command run in-process (``cli``; the installed script in
a subprocess where another process matters, ``gops``). Each bad input ends
as a rejected record (with its file and line) or a one-line exit-2 error, and nothing
else is lost."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from test_cli import BOOK, cli, gops
from test_inputs import BILLION_LAUGHS

from groupops.plugins.sqlite import SQLiteStore

JOINED = '{"id": "j1", "kind": "joined", "member": "m1", "group": "club", "at": "2026-11-02T09:00:00+08:00"}'


def _event(i: int, **extra: object) -> str:
    return json.dumps(
        {
            "id": f"e{i}",
            "kind": "checkin",
            "member": "m1",
            "group": "club",
            "at": "2026-11-03T09:00:00+08:00",
            **extra,
        }
    )


def _stored(db: Path) -> list[str]:
    store = SQLiteStore(db)
    try:
        return [e.id for _, e in store.events_after(0)]
    finally:
        store.close()


def _rejects(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def here(tmp_path: Path) -> Path:
    (tmp_path / "book.yaml").write_text(BOOK, encoding="utf-8")
    return tmp_path


# -- ingest: records ----------------------------------------------------------------------


def test_bad_bytes_and_bad_records_are_rejected_line_by_line(here: Path) -> None:
    lines = [_event(i).encode() for i in range(1, 6001)]
    lines[4999] = _event(5000).encode().replace(b'"m1"', b'"m\xff1"')  # line 5,000 of 6,000
    lines[9] = _event(10, data={"text": "\ud800"}).encode()  # json.dumps escapes it: \ud800
    lines[19] = _event(20, data={"a": 1}).encode().replace(b'{"a": 1}', b'{"a": ' * 900 + b"1" + b"}" * 900)
    lines[29] = b'{"a": ' * 5000 + b"1" + b"}" * 5000
    lines[39] = _event(40, value="12").encode()
    lines[49] = _event(50, at="1700000000").encode()
    lines[59] = _event(60, at="9999-12-31T20:00:00Z").encode()
    (here / "big.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    proc = cli("ingest", "--db", "club.db", "big.jsonl", "--json", cwd=here)
    doc = json.loads(proc.stdout)
    assert (doc["events"], doc["rejected"]) == (5993, 7)
    rejected = {r["line"]: r["problems"][0] for r in _rejects(here / "big.jsonl.rejects.jsonl")}
    bad_byte = lines[4999].index(b"\xff") + 1  # counted from 1, in the line
    assert rejected == {
        10: "data.text: '\\ud800' is not valid Unicode text: '\\ud800' at character 0 is a lone surrogate",
        20: "data: nested more than 32 levels deep (the limit)",
        30: "JSON nested too deeply to read (data may nest at most 32 levels)",
        40: "value: '12': input should be a valid number",
        50: "at: '1700000000' is not an ISO 8601 time with an offset like '2026-11-20T08:00:00+08:00'",
        60: "at: '9999-12-31T20:00:00+00:00' is outside the supported range 1970-01-01 to 2200-01-01 UTC",
        5000: f"not UTF-8 text: invalid start byte at byte {bad_byte} of the line",
    }
    assert len(_stored(here / "club.db")) == 5993


def test_an_unclosed_csv_quote_rejects_its_own_line_only(here: Path) -> None:
    (here / "events.csv").write_text(
        "id,kind,member,group,at,value\n"
        'c1,checkin,m1,club,2026-11-03T09:00:00+08:00,"3\n'
        "c2,checkin,m1,club,2026-11-03T10:00:00+08:00,2\n"
        "c3,checkin,m1,club,2026-11-03T11:00:00+08:00,true\n"
        "c4,checkin,m1,club,1700000000,1\n"
        "c5,checkin,m1,club,2026-11-03T12:00:00+08:00,12\n",
        encoding="utf-8",
    )
    proc = cli("ingest", "--db", "club.db", "events.csv", cwd=here)
    assert "Stored 2 events" in proc.stdout
    assert "3 record(s) rejected" in proc.stdout
    rejected = {r["line"]: r["problems"][0] for r in _rejects(here / "events.csv.rejects.jsonl")}
    assert rejected[2].startswith("not valid CSV: unexpected end of data")
    assert rejected[4] == "value: 'true' is not a number like 12 or 2.5"
    assert rejected[5].startswith("at: '1700000000' is not an ISO 8601 time")
    store = SQLiteStore(here / "club.db")
    try:
        values = {e.id: e.value for _, e in store.events_after(0)}
    finally:
        store.close()
    assert values == {"c2": 2.0, "c5": 12.0}


def test_a_bad_byte_in_a_csv_header_rejects_every_line_with_the_reason(here: Path) -> None:
    (here / "bad.csv").write_bytes(b"id,ki\xffnd\nc1,checkin\n")
    proc = cli("ingest", "--db", "club.db", "bad.csv", ok=False, cwd=here)
    assert proc.returncode == 2
    rejected = {r["line"]: r["problems"][0] for r in _rejects(here / "bad.csv.rejects.jsonl")}
    assert rejected[1].startswith("not UTF-8 text")
    assert rejected[2].startswith("the header (line 1) is unusable: not UTF-8 text")


def test_json_lines_named_csv_are_read_as_json_lines(here: Path) -> None:
    (here / "events.csv").write_text(JOINED + "\n" + _event(1) + "\n", encoding="utf-8")
    proc = cli("ingest", "--db", "club.db", "events.csv", cwd=here)
    assert "Stored 2 events" in proc.stdout
    assert _stored(here / "club.db") == ["j1", "e1"]


# -- a database that already holds a bad row ------------------------------------------


def test_a_stored_event_out_of_range_no_longer_breaks_run_report_or_ingest(here: Path) -> None:
    (here / "events.jsonl").write_text(JOINED + "\n", encoding="utf-8")
    cli("ingest", "--db", "club.db", "events.jsonl", cwd=here)
    doom = {**json.loads(_event(666)), "at": "9999-12-31T20:00:00Z", "value": 1.0, "data": {}}
    conn = sqlite3.connect(here / "club.db")
    with conn:
        conn.execute(
            "INSERT INTO events (id, member, grp, kind, at, at_us, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ("e666", "m1", "club", "checkin", doom["at"], 0, json.dumps(doom)),
        )
    conn.close()
    # the script: the warning reaches stderr through logging's handler of last resort,
    # which only a process of its own shows (pytest captures logging in this one)
    run = gops("run", "--db", "club.db", "--rules", "book.yaml", "--at", "2026-11-20T20:00+08:00", cwd=here)
    assert "1 notice" in run.stdout
    assert "skipping stored event #2" in run.stderr and "outside the supported range" in run.stderr
    cli("report", "--db", "club.db", "--rules", "book.yaml", "--out", "r.html", cwd=here)
    (here / "more.jsonl").write_text(_event(1) + "\n", encoding="utf-8")
    more = cli("ingest", "--db", "club.db", "--rules", "book.yaml", "more.jsonl", cwd=here)
    assert "Stored 1 events" in more.stdout


# -- databases ----------------------------------------------------------------------------


def test_a_foreign_database_is_refused_with_exit_2_and_left_alone(here: Path) -> None:
    crm = here / "crm.db"
    conn = sqlite3.connect(crm)
    with conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.close()
    before = crm.read_bytes()
    (here / "events.jsonl").write_text(JOINED + "\n", encoding="utf-8")
    for args in (
        ("ingest", "--db", "crm.db", "events.jsonl"),
        ("run", "--db", "crm.db", "--rules", "book.yaml"),
        ("explain", "--db", "sqlite:///crm.db", "--rules", "book.yaml", "m1"),  # read-only
    ):
        proc = cli(*args, ok=False, cwd=here)
        assert proc.returncode == 2, args
        assert "'crm.db' is a SQLite database but not a groupops store (tables customers)" in proc.stderr, (
            args
        )
    assert crm.read_bytes() == before
    assert sorted(p.name for p in here.iterdir()) == ["book.yaml", "crm.db", "events.jsonl"]


@pytest.mark.parametrize(
    "args",
    [
        ("run", "--db", "typo.db", "--rules", "book.yaml"),
        ("run", "--db", "sqlite:///typo.db", "--rules", "book.yaml", "--dry-run"),
        ("report", "--db", "typo.sqlite", "--rules", "book.yaml", "--out", "r.html"),
        ("diff", "--db", "sqlite:///typo.db", "book.yaml", "book.yaml"),
    ],
)
def test_commands_that_read_refuse_a_missing_database(here: Path, args: tuple[str, ...]) -> None:
    proc = cli(*args, ok=False, cwd=here)
    assert proc.returncode == 2
    assert "no database at" in proc.stderr
    assert sorted(p.name for p in here.iterdir()) == ["book.yaml"]


def test_previews_explain_and_report_take_no_write_lock(here: Path) -> None:
    (here / "events.jsonl").write_text(JOINED + "\n" + _event(1) + "\n", encoding="utf-8")
    cli("ingest", "--db", "club.db", "events.jsonl", cwd=here)
    cli("run", "--db", "club.db", "--rules", "book.yaml", "--at", "2026-11-13T20:00+08:00", cwd=here)
    before = (here / "club.db").read_bytes()
    holder = sqlite3.connect(here / "club.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a long write elsewhere holds the write lock
    # the commands run as the installed script: each its own process, as a user runs them
    try:
        started = time.monotonic()
        at = ("--at", "2026-11-20T20:00+08:00")
        dry = gops("run", "--db", "club.db", "--rules", "book.yaml", *at, "--dry-run", cwd=here)
        assert "1 decision(s) would be made" in dry.stdout
        gops("diff", "--db", "club.db", *at, "book.yaml", "book.yaml", cwd=here)
        gops("explain", "--db", "club.db", "--rules", "book.yaml", "m1", *at, cwd=here)
        gops("report", "--db", "club.db", "--rules", "book.yaml", "--out", "r.html", cwd=here)
        assert time.monotonic() - started < 25  # not one of them waited for the lock (30 s)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (here / "club.db").read_bytes() == before


# -- rule books ---------------------------------------------------------------------------


def test_check_refuses_books_that_would_break_or_hang_a_run(here: Path) -> None:
    (here / "huge.yaml").write_text(
        BOOK.replace("within: 30d", "within: 99999999d")
        .replace("notice: 2d", "notice: 99999999d")
        .replace('"FREQ=WEEKLY;BYDAY=SU;BYHOUR=20"', "FREQ=MINUTELY"),
        encoding="utf-8",
    )
    proc = cli("check", "huge.yaml", ok=False, cwd=here)
    assert proc.returncode == 2
    assert proc.stdout.splitlines() == [
        "policies[0].when.within: '99999999d' is longer than 100 years, the longest duration allowed "
        "(at most 36,525d)",
        "policies[1].schedule: 'FREQ=MINUTELY' fires more often than once an hour (2000-01-03 00:00:00 and "
        "00:01:00); a schedule may fire at most once an hour",
        "policies[1].notice: '99999999d' is longer than 100 years, the longest duration allowed (at most 36,525d)",
    ]


def test_check_refuses_alias_bombs_deep_nesting_and_duplicate_keys(here: Path) -> None:
    (here / "laughs.yaml").write_text(BILLION_LAUGHS, encoding="utf-8")
    (here / "deep.yaml").write_text(
        "groups: [{id: club}]\npolicies:\n  - {id: r, type: revival, groups: [club], within: 7d, when: "
        + "{not: " * 1000
        + "{count: x, at_least: 1}"
        + "}" * 1000
        + "}\n",
        encoding="utf-8",
    )
    (here / "dup.yaml").write_text(BOOK + "timezone: UTC\n", encoding="utf-8")
    for name, message in (
        ("laughs.yaml", "laughs.yaml: holds more than 100,000 values once YAML aliases are expanded"),
        ("deep.yaml", "deep.yaml: line 3: nested more than 64 levels deep (the limit for a rule book)"),
        ("dup.yaml", "dup.yaml: line 18: duplicate key 'timezone' (first on line 2)"),
    ):
        started = time.monotonic()
        proc = cli("check", name, ok=False, cwd=here)
        assert proc.returncode == 2
        assert proc.stdout.startswith(message), proc.stdout
        assert time.monotonic() - started < 20


def test_a_run_that_would_catch_up_too_much_is_an_error(here: Path) -> None:
    (here / "hourly.yaml").write_text(
        BOOK.replace('"FREQ=WEEKLY;BYDAY=SU;BYHOUR=20"', "FREQ=HOURLY").replace(
            "notice: 2d", "notice: 30m\n    start: 2026-01-01T00:00:00+08:00"
        ),
        encoding="utf-8",
    )
    (here / "events.jsonl").write_text(JOINED + "\n", encoding="utf-8")
    cli("ingest", "--db", "club.db", "events.jsonl", cwd=here)
    proc = cli(
        "run",
        "--db",
        "club.db",
        "--rules",
        "hourly.yaml",
        "--at",
        "2026-11-20T20:00+08:00",
        ok=False,
        cwd=here,
    )
    assert proc.returncode == 2
    assert "periods of FREQ=HOURLY are due" in proc.stderr
    assert "one run catches up at most 1,000" in proc.stderr


def test_an_at_outside_the_range_is_a_usage_error(here: Path) -> None:
    proc = cli(
        "run", "--db", "club.db", "--rules", "book.yaml", "--at", "9999-12-31T20:00Z", ok=False, cwd=here
    )
    assert proc.returncode == 2
    assert "'9999-12-31T20:00Z' is outside the supported range 1970-01-01 to 2200-01-01 UTC" in proc.stderr
    assert not (here / "club.db").exists()
