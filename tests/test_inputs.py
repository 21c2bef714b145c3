"""Inputs that must not break a database or a run, through the API: records with
extreme times, bad text, deep data or loose types; foreign and read-only SQLite files;
rule books with huge durations, schedules that fire too often, alias bombs, deep
nesting and duplicate keys. Each must end as a rejected record or a clear error, with
nothing else lost."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

import groupops as go
from groupops._model import EARLIEST_TIME, LATEST_TIME
from groupops.plugins.sqlite import APPLICATION_ID, SCHEMA_VERSION, SQLiteStore
from groupops.rules._book import MAX_BOOK_DEPTH, MAX_BOOK_VALUES
from groupops.rules._semantics import MAX_CATCH_UP

SHANGHAI = ZoneInfo("Asia/Shanghai")
BOOK = go.RuleBook.load(
    {
        "timezone": "Asia/Shanghai",
        "groups": [{"id": "club"}],
        "policies": [
            {
                "id": "weekly",
                "type": "eviction",
                "groups": ["club"],
                "schedule": "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20",
                "when": {"days_since": "checkin", "at_least": 7},
            }
        ],
    }
)
AT = "2026-11-02T09:00:00+08:00"


def event(**fields: object) -> dict[str, object]:
    return {"id": "e1", "kind": "checkin", "member": "m1", "group": "club", "at": AT, **fields}


def problems(record: object) -> str:
    """The one-line problems of a record the engine rejects."""
    with go.Engine(BOOK, entry_points=False) as engine:
        report = engine.ingest([record])
    assert report.events == 0 and report.members == 0, record
    (rejected,) = report.rejected
    return "; ".join(rejected.problems)


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    return value


# -- event times -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "ok"),
    [
        ("9999-12-31T20:00:00Z", False),
        ("2200-01-01T00:00:00Z", False),
        ("1969-12-31T23:59:59Z", False),
        ("1970-01-01T00:00:00Z", True),
        ("2199-12-31T23:59:59Z", True),
    ],
)
def test_event_times_are_bounded(at: str, ok: bool) -> None:
    if ok:
        assert go.Event(**event(at=at)).at == datetime.fromisoformat(at)  # type: ignore[arg-type]
        return
    with pytest.raises(pydantic.ValidationError) as info:
        go.Event(**event(at=at))  # type: ignore[arg-type]
    assert "outside the supported range 1970-01-01 to 2200-01-01 UTC" in str(info.value)
    assert info.value.errors()[0]["loc"] == ("at",)


def test_membership_and_policy_times_are_bounded() -> None:
    with pytest.raises(pydantic.ValidationError, match="outside the supported range"):
        go.Membership(member="m1", group="club", joined_at=datetime(9999, 1, 1, tzinfo=UTC))
    with pytest.raises(go.RuleError, match=r"policies\[0\]\.start: .*outside the supported range"):
        go.RuleBook.load(
            {
                "groups": [{"id": "club"}],
                "policies": [
                    {
                        "id": "weekly",
                        "type": "eviction",
                        "groups": ["club"],
                        "schedule": "FREQ=WEEKLY",
                        "start": "9000-01-01T00:00:00Z",
                        "when": {"days_since": "checkin", "at_least": 7},
                    }
                ],
            }
        )


def _insert_raw_event(db: Path, record: dict[str, object]) -> None:
    """Write an event row behind the model's back, as an older groupops or a hand-written
    INSERT could have."""
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "INSERT INTO events (id, member, grp, kind, at, at_us, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record["id"],
                record["member"],
                record["group"],
                record["kind"],
                record["at"],
                0,
                json.dumps(record),
            ),
        )
    conn.close()


def test_a_stored_event_out_of_range_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "club.db"
    with go.Engine(BOOK, store=str(db), entry_points=False) as engine:
        engine.ingest([event(id="j1", kind="joined")])
    _insert_raw_event(db, {**event(id="doom", at="9999-12-31T20:00:00Z"), "value": 1.0, "data": {}})
    with caplog.at_level(logging.WARNING, logger="groupops.store"):
        with go.Engine(BOOK, store=str(db), entry_points=False) as engine:
            report = engine.run(datetime(2026, 11, 20, 20, tzinfo=SHANGHAI))
            # the run went on without it: m1 never checked in, and is noticed
            assert [(d.action, d.member) for d in report.decisions] == [("notice", "m1")]
            assert engine.ingest([event(id="c1")]).events == 1
    warned = [
        r.getMessage() for r in caplog.records if "doom" in r.getMessage() or "event #2" in r.getMessage()
    ]
    assert warned and "outside the supported range" in warned[0]


# -- strict types ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"value": "12"}, "value: '12': input should be a valid number"),
        ({"value": True}, "value: True: input should be a valid number"),
        ({"at": "1700000000"}, "at: '1700000000' is not an ISO 8601 time with an offset"),
        ({"at": 1700000000}, "at: 1700000000 is not an ISO 8601 time with an offset"),
        ({"at": "2026-11-02T09:00:00"}, "at: '2026-11-02T09:00:00': input should have timezone info"),
    ],
)
def test_no_silent_coercions(fields: dict[str, object], message: str) -> None:
    assert message in problems(event(**fields))


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"revivals": "1"}, "revivals"),
        ({"revivals": True}, "revivals"),
        ({"locked": "yes"}, "locked"),
        ({"locked": 1}, "locked"),
    ],
)
def test_memberships_are_strict_too(fields: dict[str, object], loc: str) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        go.Membership(member="m1", group="club", joined_at=AT, **fields)  # type: ignore[arg-type]
    assert info.value.errors()[0]["loc"] == (loc,)


def test_numbers_stay_numbers() -> None:
    assert go.Event(**event(value=12)).value == 12.0  # type: ignore[arg-type]
    assert go.Event.model_validate_json(json.dumps(event(value=3))).value == 3.0
    member = go.Member(id="m1", attributes={"orders": "12", "vip": True})
    assert member.attributes == {"orders": "12", "vip": True}


# -- records that used to lose their whole batch ----------------------------------------


def test_one_bad_record_never_loses_its_batch(tmp_path: Path) -> None:
    deep_json = (
        '{"id": "x", "kind": "k", "member": "m1", "at": "'
        + AT
        + '", "data": '
        + "[" * 5000
        + "]" * 5000
        + "}"
    )
    batch: list[object] = [
        event(id="good1"),
        event(id="surrogate", data={"text": "\ud800"}),
        {"id": "m\udc00", "name": "lone"},
        event(id="deep-data", data=nested(900)),
        deep_json,
        event(id="many", data={"xs": list(range(20_000))}),
        event(id="long", data={"text": "x" * 70_000}),
        "{" + " " * 1_100_000 + "}",
        event(id="good2", kind="purchase"),
        {"id": "m2", "name": "Li Na"},
    ]
    with go.Engine(BOOK, store=str(tmp_path / "club.db"), entry_points=False) as engine:
        report = engine.ingest(batch)
        assert (report.events, report.members) == (2, 1)
        stored = [e.id for _, e in engine.store.events_after(0)]
        assert stored == ["good1", "good2"]
    why = {r.index: "; ".join(r.problems) for r in report.rejected}
    assert sorted(why) == [1, 2, 3, 4, 5, 6, 7]
    assert (
        why[1]
        == "data.text: '\\ud800' is not valid Unicode text: '\\ud800' at character 0 is a lone surrogate"
    )
    assert "id: 'm\\udc00' is not valid Unicode text" in why[2]
    assert why[3] == "data: nested more than 32 levels deep (the limit)"
    assert why[4].startswith("JSON nested too deeply to read")
    assert why[5] == "data: holds more than 10,000 values (the limit)"
    assert why[6] == "data.text: is 70,000 characters long; the limit is 65,536"
    assert why[7] == "is 1,100,002 characters long; a record is at most 1,048,576"


# -- SQLite files ----------------------------------------------------------------------


def _foreign(path: Path, *, user_version: int = 0) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('Wang')")
        conn.execute(f"PRAGMA user_version = {user_version}")
    conn.close()


def _shape(path: Path) -> tuple[list[str], str, int, int]:
    conn = sqlite3.connect(path)
    try:
        tables = [n for (n,) in conn.execute("SELECT name FROM sqlite_master ORDER BY name")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        return tables, mode, app, version
    finally:
        conn.close()


@pytest.mark.parametrize("user_version", [0, 1, 99])
def test_a_foreign_database_is_refused_untouched(tmp_path: Path, user_version: int) -> None:
    path = tmp_path / "crm.db"
    _foreign(path, user_version=user_version)
    before = _shape(path)
    for read_only in (False, True):
        with pytest.raises(
            go.StoreError, match=r"is a SQLite database but not a groupops store \(tables customers\)"
        ):
            SQLiteStore(path, read_only=read_only)
    assert _shape(path) == before == (["customers"], "delete", 0, user_version)


def test_a_new_store_is_marked_and_an_unmarked_one_of_ours_still_opens(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    SQLiteStore(path).close()
    assert _shape(path)[2:] == (APPLICATION_ID, SCHEMA_VERSION)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 0")  # as files made before the marker
    conn.close()
    store = SQLiteStore(path)
    store.close()


def test_a_newer_schema_is_refused_before_anything_changes(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(go.StoreError, match="newer than the version"):
        SQLiteStore(path)
    assert _shape(path)[1] == "delete"


def test_a_read_only_store_never_creates_writes_or_locks(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    with pytest.raises(go.StoreError, match="no SQLite store at"):
        SQLiteStore(missing, read_only=True)
    assert not missing.exists()

    path = tmp_path / "ops.db"
    path.touch()
    with pytest.raises(go.StoreError, match="is empty: nothing ingested into it yet"):
        SQLiteStore(path, read_only=True)
    assert path.read_bytes() == b""
    with go.Engine(BOOK, store=str(path), entry_points=False) as engine:
        engine.ingest([event(id="j1", kind="joined")])
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process is writing: hold the write lock
    try:
        started = time.monotonic()
        store = SQLiteStore(path, read_only=True, timeout=1)
        with go.Engine(BOOK, store=store, entry_points=False) as engine:
            preview = engine.run(datetime(2026, 11, 20, 20, tzinfo=SHANGHAI), dry_run=True)
            assert [d.status for d in preview.decisions] == ["preview"]
            # a write goes to the private copy only
            engine.ingest([event(id="c9")])
            assert [e.id for _, e in engine.store.events_after(0)] == ["j1", "c9"]
        assert time.monotonic() - started < 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store = SQLiteStore(path)
    try:
        assert [e.id for _, e in store.events_after(0)] == ["j1"]
        assert store.decisions() == [] and store.get_state("last_run_at") is None
    finally:
        store.close()


# -- rule books --------------------------------------------------------------------------


def _book(policy: dict[str, object]) -> dict[str, object]:
    return {"groups": [{"id": "club"}, {"id": "vip"}], "policies": [{"id": "p", **policy}]}


WHEN = {"count": "checkin", "at_least": 1}


@pytest.mark.parametrize(
    ("policy", "path"),
    [
        ({"type": "revival", "groups": ["club"], "within": "99999999d", "when": WHEN}, "policies[0].within"),
        (
            {
                "type": "eviction",
                "groups": ["club"],
                "schedule": "FREQ=WEEKLY",
                "notice": "36526d",
                "when": WHEN,
            },
            "policies[0].notice",
        ),
        (
            {
                "type": "eviction",
                "groups": ["club"],
                "schedule": "FREQ=WEEKLY",
                "grace": "1201mo",
                "when": WHEN,
            },
            "policies[0].grace",
        ),
        (
            {"type": "admission", "from": ["club"], "to": "vip", "expires": "5218w", "when": WHEN},
            "policies[0].expires",
        ),
        (
            {"type": "welcome", "groups": ["club"], "within": "52596001m"},
            "policies[0].within",
        ),
        (
            {
                "type": "revival",
                "groups": ["club"],
                "within": "7d",
                "when": {"count": "x", "within": "876601h", "at_least": 1},
            },
            "policies[0].when.within",
        ),
    ],
)
def test_durations_longer_than_100_years_are_refused(policy: dict[str, object], path: str) -> None:
    with pytest.raises(go.RuleError) as info:
        go.RuleBook.load(_book(policy))
    (problem,) = info.value.problems
    assert problem.path == path
    assert "is longer than 100 years, the longest duration allowed" in problem.message


def test_durations_up_to_100_years_are_fine() -> None:
    book = go.RuleBook.load(
        _book({"type": "revival", "groups": ["club"], "within": "36525d", "max": 1, "when": WHEN})
    )
    with go.Engine(book, entry_points=False) as engine:
        engine.ingest([event(id="j1", kind="joined", at="2199-12-31T00:00:00Z")])
        engine.run(datetime(2199, 12, 31, 12, tzinfo=UTC))


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=SECONDLY",
        "FREQ=MINUTELY",
        "FREQ=MINUTELY;INTERVAL=59",
        "FREQ=HOURLY;BYMINUTE=0,30",
        "FREQ=DAILY;BYHOUR=20;BYMINUTE=0,1,2",
        "DTSTART:21000101T000000Z\nRRULE:FREQ=MINUTELY",
    ],
)
def test_schedules_finer_than_an_hour_are_refused(rule: str) -> None:
    started = time.monotonic()
    with pytest.raises(go.RuleError) as info:
        go.RuleBook.load(_book({"type": "eviction", "groups": ["club"], "schedule": rule, "when": WHEN}))
    assert time.monotonic() - started < 2
    (problem,) = info.value.problems
    assert problem.path == "policies[0].schedule"
    assert "fires more often than once an hour" in problem.message


@pytest.mark.parametrize("rule", ["FREQ=HOURLY", "FREQ=MINUTELY;INTERVAL=60", "FREQ=DAILY;BYHOUR=8,20"])
def test_hourly_and_coarser_schedules_pass(rule: str) -> None:
    go.RuleBook.load(_book({"type": "eviction", "groups": ["club"], "schedule": rule, "when": WHEN}))


def test_a_run_catches_up_a_bounded_number_of_periods() -> None:
    book = go.RuleBook.load(
        _book(
            {
                "type": "eviction",
                "groups": ["club"],
                "schedule": "FREQ=HOURLY",
                "start": "2026-01-01T00:00:00Z",
                "notice": "30m",
                "when": WHEN,
            }
        )
    )
    with go.Engine(book, entry_points=False) as engine:
        started = time.monotonic()
        with pytest.raises(go.RuleError, match=rf"one run catches up at most {MAX_CATCH_UP:,}"):
            engine.run(datetime(2026, 3, 1, tzinfo=UTC))
        assert time.monotonic() - started < 10
        # within the bound, the run goes through
        engine.run(datetime(2026, 1, 20, tzinfo=UTC))
    # two million hourly periods since 1970: refused as fast, none of them generated
    far = book.model_copy(
        update={
            "policies": (book.policies[0].model_copy(update={"start": datetime(1970, 1, 1, tzinfo=UTC)}),)
        }
    )
    with go.Engine(far, entry_points=False) as engine:
        started = time.monotonic()
        with pytest.raises(go.RuleError, match="more than 1,000 periods of FREQ=HOURLY are due"):
            engine.run(datetime(2199, 1, 1, tzinfo=UTC))
        assert time.monotonic() - started < 5


BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
groups: [{id: club}]
"""


def _load_text(tmp_path: Path, name: str, text: str) -> go.RuleBook:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return go.load_rule_book(path)


def test_an_alias_bomb_is_refused_without_expanding_it(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(go.RuleError, match=f"holds more than {MAX_BOOK_VALUES:,} values once YAML aliases"):
        _load_text(tmp_path, "laughs.yaml", BILLION_LAUGHS)
    assert time.monotonic() - started < 2


def test_aliases_within_the_limit_still_work(tmp_path: Path) -> None:
    book = _load_text(
        tmp_path,
        "ok.yaml",
        "groups: [{id: club}]\npolicies:\n"
        "  - {id: r, type: revival, groups: [club], within: 7d, when: &active {count: checkin, at_least: 1}}\n"
        "  - {id: s, type: revival, groups: [club], within: 14d, when: *active}\n",
    )
    assert book.policies[0].when == book.policies[1].when


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    with pytest.raises(go.RuleError, match=r"contains itself"):
        _load_text(tmp_path, "rec.yaml", "groups: &g [{id: club}, *g]\n")


def _deep_when(depth: int) -> str:
    return "{not: " * depth + "{count: x, at_least: 1}" + "}" * depth


@pytest.mark.parametrize("depth", [100, 1000, 20_000])
def test_deep_nesting_is_refused_in_every_format(tmp_path: Path, depth: int) -> None:
    head = "groups: [{id: club}]\npolicies:\n  - {id: r, type: revival, groups: [club], within: 7d, when: "
    with pytest.raises(go.RuleError, match=f"nested more than {MAX_BOOK_DEPTH} levels deep"):
        _load_text(tmp_path, "deep.yaml", head + _deep_when(depth) + "}\n")
    when = '{"not": ' * depth + '{"count": "x", "at_least": 1}' + "}" * depth
    doc = '{"groups": [{"id": "club"}], "policies": [{"id": "r", "type": "revival", "groups": ["club"], '
    with pytest.raises(go.RuleError, match=f"nested more than {MAX_BOOK_DEPTH} levels deep"):
        _load_text(tmp_path, "deep.json", doc + '"within": "7d", "when": ' + when + "}]}")
    toml = '[[groups]]\nid = "club"\n\n[[policies]]\nid = "r"\ntype = "revival"\ngroups = ["club"]\n'
    toml += (
        'within = "7d"\nwhen = ' + "{ not = " * depth + '{ count = "x", at_least = 1 }' + " }" * depth + "\n"
    )
    with pytest.raises(go.RuleError, match=f"nested more than {MAX_BOOK_DEPTH} levels deep"):
        _load_text(tmp_path, "deep.toml", toml)
    data: dict[str, object] = {"count": "x", "at_least": 1}
    for _ in range(depth):
        data = {"not": data}
    with pytest.raises(go.RuleError, match=f"nested more than {MAX_BOOK_DEPTH} levels deep"):
        go.RuleBook.load(_book({"type": "revival", "groups": ["club"], "within": "7d", "when": data}))


def test_ordinary_nesting_loads() -> None:
    when = json.loads('{"not": ' * 20 + '{"count": "x", "at_least": 1}' + "}" * 20)
    go.RuleBook.load(_book({"type": "revival", "groups": ["club"], "within": "7d", "when": when}))


def test_duplicate_keys_are_refused_with_key_and_line(tmp_path: Path) -> None:
    with pytest.raises(go.RuleError) as info:
        _load_text(
            tmp_path,
            "dup.yaml",
            "groups: [{id: club}]\npolicies:\n  - id: r\n    type: revival\n    groups: [club]\n"
            "    within: 7d\n    when: {count: x, at_least: 1}\n    within: 30d\n",
        )
    assert info.value.problems[0].message == "line 8: duplicate key 'within' (first on line 6)"
    with pytest.raises(go.RuleError, match="not valid JSON: duplicate key 'groups'"):
        _load_text(tmp_path, "dup.json", '{"groups": [{"id": "a"}], "groups": [{"id": "b"}]}')


def test_a_merge_key_may_be_overridden(tmp_path: Path) -> None:
    book = _load_text(
        tmp_path,
        "merge.yaml",
        "groups: [{id: club}]\npolicies:\n"
        "  - &base {id: r, type: revival, groups: [club], within: 7d, when: {count: x, at_least: 1}}\n"
        "  - {<<: *base, id: s, within: 14d}\n",
    )
    assert [str(p.within) for p in book.policies] == ["7d", "14d"]  # type: ignore[union-attr]


# -- a law: nothing a host sends can break the store ------------------------------------

# text of any code point, lone surrogates included (as json.loads gives for "\ud800")
_ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=12) | st.sampled_from(
    ["\ud800", "a\udfffb", "", " ", "x" * 70_000]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_ANY_TEXT, inner, max_size=3),
    max_leaves=12,
)
_TIMES = (
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)).map(
        datetime.isoformat
    )
    | st.integers(min_value=0, max_value=2**40).map(str)
    | st.integers()
    | _ANY_TEXT
)
_RECORDS = st.fixed_dictionaries(
    {"id": _ANY_TEXT, "kind": _ANY_TEXT, "member": _ANY_TEXT, "at": _TIMES},
    optional={"value": _JSON, "data": _JSON | st.just(nested(40)), "group": _ANY_TEXT},
) | st.fixed_dictionaries({"id": _ANY_TEXT}, optional={"name": _ANY_TEXT, "attributes": _JSON})


@given(batch=st.lists(_RECORDS | _ANY_TEXT, max_size=8))
def test_no_batch_of_records_can_break_the_store(batch: list[object]) -> None:
    store = SQLiteStore(":memory:")
    with go.Engine(BOOK, store=store, entry_points=False) as engine:
        report = engine.ingest(batch)  # never raises: each record is stored or rejected
        events = [e for _, e in store.events_after(0)]
        assert report.events == len(events)
        assert report.events + report.members + len(report.duplicates) + len(report.rejected) == len(batch)
        for e in events:
            assert EARLIEST_TIME <= e.at < LATEST_TIME
            assert go.Event.model_validate_json(e.model_dump_json()) == e
        engine.run(datetime(2026, 11, 20, 20, tzinfo=SHANGHAI))
