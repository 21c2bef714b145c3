"""Conditions compiled to SQL give the reference verdicts: for generated conditions and
histories around daylight-saving changes, in several time zones, asked at window edges,
the reference evaluator (``evaluate``), the compiled closures (``holds``), SQLite SQL and
DuckDB SQL agree on every subject. DuckDB also over the same events loaded from Parquet
and Arrow. DuckDB's part is skipped, with the reason printed, where the ``duckdb`` extra
is not installed (CI installs it)."""

from __future__ import annotations

import importlib.util
import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_sqlite_facts import ORIGINS, ZONES  # zones, and instants around their clock changes

import groupops as go
from groupops.rules._facts_api import MemoryFacts, Subject
from groupops.rules._sql import compile_sql
from groupops.testing import conditions

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
HAS_DUCKDB = all(importlib.util.find_spec(m) is not None for m in ("duckdb", "sqlglot", "pyarrow"))
NO_DUCKDB = "the duckdb extra (duckdb, sqlglot, pyarrow) is not installed: pip install 'groupops[duckdb]'"
# DuckDB opens a database per example: fewer of them in the default run
DUCK_EXAMPLES = 2000 if LONG else 40

MEMBERS = ["a", "b", "c", "d"]
GROUPS = [None, "club", "vip"]
KINDS = ["checkin", "purchase", "violation"]
SQL_LEAVES = ("count", "days_since", "tenure", "label", "role")


@st.composite
def histories(draw: st.DrawFn) -> tuple[ZoneInfo, datetime, list[go.Event]]:
    tz = ZoneInfo(draw(st.sampled_from(ZONES)))
    origin = draw(st.sampled_from(ORIGINS))
    events = []
    for i in range(draw(st.integers(min_value=0, max_value=120 if LONG else 25))):
        # whole minutes, with repeats: several events at one instant, edges on event times
        minutes = draw(st.integers(min_value=-40 * 24 * 60, max_value=2 * 24 * 60).map(lambda m: m - m % 7))
        written_in = ZoneInfo(draw(st.sampled_from(ZONES)))  # any zone names an instant
        events.append(
            go.Event(
                id=f"e{i}",
                kind=draw(st.sampled_from(KINDS)),
                member=draw(st.sampled_from(MEMBERS)),
                group=draw(st.sampled_from(GROUPS)),
                at=(origin + timedelta(minutes=minutes)).astimezone(written_in),
            )
        )
    return tz, origin, events


def _instant(draw: st.DrawFn, origin: datetime, events: list[go.Event]) -> datetime:
    """Often an event's time, or an event's time plus a whole number of days or weeks
    (where a trailing window starts exactly on an event), or any minute nearby."""
    how = draw(st.sampled_from(["event", "edge", "any"]))
    if events and how == "event":
        return draw(st.sampled_from(events)).at
    if events and how == "edge":
        days = draw(st.sampled_from([1, 2, 3, 7, 14, 21, 30]))
        return draw(st.sampled_from(events)).at + timedelta(days=days)
    return origin + timedelta(minutes=draw(st.integers(min_value=-30 * 24 * 60, max_value=7 * 24 * 60)))


@st.composite
def cases(draw: st.DrawFn) -> tuple[ZoneInfo, list[go.Event], object, str, datetime, list[Subject], dict]:
    tz, origin, events = draw(histories())
    condition = draw(
        conditions(
            leaf_types=SQL_LEAVES,
            event_kinds=st.sampled_from(KINDS),
            labels=st.sampled_from(["A", "B"]),
            roles=st.sampled_from(["member", "admin"]),
            max_leaves=4,
        )
    )
    scope = draw(st.sampled_from(["group", "member"]))
    at = _instant(draw, origin, events)
    if events and draw(st.booleans()):
        # a trailing window that starts exactly on an event (where the calendar allows:
        # a day across a clock change is 23 or 25 hours, a month is a calendar month)
        edge = draw(st.sampled_from(events))
        window = draw(st.sampled_from(["12h", "1d", "2d", "7d", "2w", "1mo", "30d"]))
        test = draw(st.sampled_from(["at_least", "at_most", "equals"]))
        leaf = go.rules.Count(count=edge.kind, within=window, **{test: draw(st.integers(0, 3))})
        both = (leaf, condition)
        condition = go.rules.AllOf(all=both) if draw(st.booleans()) else go.rules.AnyOf(any=both)
        at = leaf.within.after(edge.at, tz)

    def moment() -> datetime | None:
        return draw(st.none() | st.just(_instant(draw, origin, events)))

    subjects = [
        Subject(
            go.Membership(
                member=m,
                group=draw(st.sampled_from(["club", "vip"])),
                joined_at=_instant(draw, origin, events),
                evicted_at=moment(),
                revived_at=moment(),
                promoted_at=moment(),
                role=draw(st.sampled_from(["member", "admin"])),
            ),
            period_start=moment(),
        )
        for m in MEMBERS
    ]
    profiles = {
        m: go.Member(id=m, labels=tuple(draw(st.lists(st.sampled_from(["A", "B", "C"]), unique=True))))
        for m in MEMBERS[:3]  # "d" has no profile
    }
    return tz, events, condition, scope, at, subjects, profiles


def _reference(tz, events, condition, scope, at, subjects, profiles) -> tuple[list[bool], list[bool]]:
    facts = MemoryFacts(go.rules.Community(tz, events), profiles)
    explained = [e.passed for e in facts.verdicts(condition, subjects, at, default_scope=scope)]
    return explained, facts.holding(condition, subjects, at, default_scope=scope)


@given(cases())
def test_sqlite_sql_gives_the_reference_verdicts(case):
    tz, events, condition, scope, at, subjects, profiles = case
    explained, closures = _reference(*case)
    assert closures == explained
    store = go.SQLiteStore(":memory:")
    try:
        store.add_events(events)
        query = compile_sql(condition, at=at, tz=tz, default_scope=scope, dialect="sqlite")
        assert store._verdicts(query, subjects, profiles) == explained
        # and through the store's facts, which take the SQL path for histories not read yet
        facts = store.facts(tz=tz, profiles=profiles)
        assert facts.holding(condition, subjects, at, default_scope=scope) == explained
    finally:
        store.close()


@pytest.mark.skipif(not HAS_DUCKDB, reason=NO_DUCKDB)
@settings(max_examples=DUCK_EXAMPLES)
@given(cases())
def test_duckdb_sql_gives_the_reference_verdicts(case):
    tz, events, condition, scope, at, subjects, profiles = case
    explained, _ = _reference(*case)
    store = go.SQLiteStore(":memory:")
    try:
        store.add_events(events)
        with go.DuckDBEvents.from_sqlite(store) as duck:
            facts = duck.facts(tz=tz, profiles=profiles)
            assert facts.holding(condition, subjects, at, default_scope=scope) == explained
    finally:
        store.close()


def _arrow(events: list[go.Event]):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    return pa.table(
        {
            "id": [e.id for e in events],
            "member": [e.member for e in events],
            "grp": pa.array([e.group for e in events], type=pa.string()),
            "kind": [e.kind for e in events],
            "at_us": pa.array(
                [(e.at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) for e in events],
                type=pa.int64(),
            ),
            "value": pa.array([e.value for e in events], type=pa.float64()),
            "data": pa.array([None] * len(events), type=pa.string()),
        }
    )


@pytest.mark.skipif(not HAS_DUCKDB, reason=NO_DUCKDB)
@settings(max_examples=DUCK_EXAMPLES // 2)
@given(cases())
def test_duckdb_over_arrow_and_parquet_gives_the_reference_verdicts(tmp_path_factory, case):
    import pyarrow.parquet as pq

    tz, events, condition, scope, at, subjects, profiles = case
    explained, _ = _reference(*case)
    table = _arrow(events)
    path = tmp_path_factory.mktemp("parquet") / "events.parquet"
    pq.write_table(table, path)
    for loaded in (go.DuckDBEvents.from_arrow(table), go.DuckDBEvents.from_parquet(path)):
        with loaded:
            facts = loaded.facts(tz=tz, profiles=profiles)
            assert facts.holding(condition, subjects, at, default_scope=scope) == explained
            # the other questions are answered from the same table
            assert [facts.history(m).count("checkin", None, None, at) for m in MEMBERS] == [
                sum(1 for e in events if e.member == m and e.kind == "checkin" and e.at <= at)
                for m in MEMBERS
            ]


def test_a_leaf_without_a_sql_form_is_named():
    at = datetime(2026, 11, 20, 20, tzinfo=UTC)
    with pytest.raises(go.NotCompilable, match=r"'sum': 'purchase'.*floating-point") as info:
        compile_sql({"all": [{"count": "x", "at_least": 1}, {"sum": "purchase", "above": 2}]}, at=at, tz=UTC)
    assert info.value.test == "sum"
    with pytest.raises(ValueError, match=r"dialect: 'oracle' is not one of sqlite, duckdb, spark"):
        compile_sql({"count": "x", "at_least": 1}, at=at, tz=UTC, dialect="oracle")


def test_every_number_and_name_is_a_parameter_never_sql_text():
    at = datetime(2026, 11, 20, 20, tzinfo=UTC)
    sneaky = "x'); DROP TABLE events; --"
    for dialect in ("sqlite", "duckdb", "spark"):
        query = compile_sql(
            {"any": [{"count": sneaky, "within": "30d", "at_least": 0.1}, {"role": [sneaky]}]},
            at=at,
            tz=ZoneInfo("Europe/Berlin"),
            dialect=dialect,
        )
        assert sneaky not in query.sql and "0.1" not in query.sql
        assert sneaky in query.params.values() and 0.1 in query.params.values()
        assert query.kinds == (sneaky,)


PROFILE_CONDITIONS = [
    {"source": ["sdr", "mall"]},
    {"referrer": "any"},
    {"referrer": ["b", "zz"]},
    {"not": {"source": "sdr"}},
    {"at_least_of": 2, "of": [{"referrer": "any"}, {"source": "mall"}, {"label": "A"}]},
]


@pytest.mark.parametrize("condition", PROFILE_CONDITIONS)
def test_profile_leaves_in_sql_give_the_reference_verdicts(condition):
    at = datetime(2026, 11, 20, 20, tzinfo=UTC)
    profiles = {
        "a": go.Member(id="a", source="sdr", referrer="b", labels=("A",)),
        "b": go.Member(id="b", source="mall"),
        "c": go.Member(id="c", referrer="zz", labels=("A",)),
    }  # "d" has no profile
    subjects = [Subject(go.Membership(member=m, group="club", joined_at=at)) for m in MEMBERS]
    want = [
        e.passed
        for e in MemoryFacts(go.rules.Community(UTC, []), profiles).verdicts(
            condition, subjects, at, default_scope="group"
        )
    ]
    assert len(set(want)) == 2  # some hold, some do not
    store = go.SQLiteStore(":memory:")
    try:
        query = compile_sql(condition, at=at, tz=UTC, dialect="sqlite")
        assert store._verdicts(query, subjects, profiles) == want
        if HAS_DUCKDB:
            with go.DuckDBEvents.from_sqlite(store) as duck:
                assert (
                    duck.facts(tz=UTC, profiles=profiles).holding(
                        condition, subjects, at, default_scope="group"
                    )
                    == want
                )
    finally:
        store.close()


def test_a_row_written_by_hand_is_judged_by_its_payload_not_its_columns(tmp_path):
    """A row not written by the store (no value column) is validated from its payload by
    the closures; SQL over its columns would read it at the wrong time, so neither the
    SQLite store nor DuckDB answers in SQL while such a row is stored."""
    import sqlite3

    at = datetime(2026, 11, 20, 20, tzinfo=UTC)
    path = tmp_path / "g.db"
    store = go.SQLiteStore(path)
    try:
        store.add_events([go.Event(id="e1", kind="checkin", member="a", at=at)])
        hand = go.Event(id="e2", kind="purchase", member="a", at=at - timedelta(hours=1))
        with sqlite3.connect(path) as conn:
            conn.execute(
                "INSERT INTO events (id, member, grp, kind, at, at_us, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                ("e2", "a", None, "purchase", hand.at.isoformat(), 0, hand.model_dump_json()),
            )
        conn.close()
        condition = {"count": "purchase", "within": "1d", "at_least": 1}
        subjects = [Subject(go.Membership(member="a", group="club", joined_at=at))]
        facts = store.facts(tz=UTC)
        assert facts.holding(condition, subjects, at, default_scope="member") == [True]
        if HAS_DUCKDB:
            with go.DuckDBEvents.from_sqlite(store) as duck:
                assert duck.facts(tz=UTC).holding(condition, subjects, at, default_scope="member") == [True]
    finally:
        store.close()
