"""Ingest's fast path: records of the common shape become events without the model's
validators, and must be exactly what the model makes of them (fields, fields set,
payload); everything else goes to the model, so its errors stay the model's own."""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import groupops as go
from groupops._model import Membership, MembershipChange
from groupops._trusted import built, event_from_mapping
from groupops.plugins._event_rows import event_row, event_row_from_mapping, row_instant

_plain = st.from_regex(r"[A-Za-z0-9_.-][A-Za-z0-9_. -]{0,7}", fullmatch=True)
_texts = st.one_of(
    st.sampled_from(["m1", "e-1", " x ", "", "   ", "签到", "a\ud800", "x" * 70_000]),
    st.text(max_size=8),
)
_offsets = st.one_of(
    st.just("Z"),
    st.builds(
        lambda sign, h, m: f"{sign}{h:02}:{m:02}",
        st.sampled_from("+-"),
        st.integers(0, 25),
        st.sampled_from([0, 30, 45, 59, 60]),
    ),
)
_plain_times = st.builds(
    lambda d, frac, offset: d.strftime("%Y-%m-%dT%H:%M:%S") + frac + offset,
    st.datetimes(min_value=datetime(1969, 12, 30), max_value=datetime(2200, 1, 2)),
    st.sampled_from(["", ".5", ".123", ".123456", ".000001", ".1234567"]),
    _offsets,
)
_times = st.one_of(
    _plain_times,
    st.sampled_from(
        [
            "2026-11-20T08:00:00+08:00",
            "2026-11-20T08:00:00Z",
            "2026-11-20T08:00:00.5-03:30",
            "2026-11-20T08:00:00.123456+00:00",
            "2026-11-20T08:00:00.1234567+08:00",
            "2026-11-20 08:00:00+08:00",
            "2026-11-20T08:00+08:00",
            "2026-11-20T08:00:00+0800",
            "2026-11-20T24:00:00+08:00",
            "2026-11-20T08:00:60+08:00",
            "2026-02-30T08:00:00+08:00",
            "2026-11-20T08:00:00+24:00",
            "2026-11-20T08:00:00+23:59",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "1970-01-01T07:59:59+08:00",
            "2199-12-31T23:59:59-01:00",
            "2200-01-01T00:00:00Z",
            "2026-11-20T08:00:00",
            "２０２６-11-20T08:00:00+08:00",
            "1700000000",
        ]
    ),
    st.datetimes(min_value=datetime(1960, 1, 1), max_value=datetime(2210, 1, 1), timezones=st.just(UTC)).map(
        lambda d: d.isoformat()
    ),
    st.datetimes(timezones=st.just(UTC)),
    st.integers(),
)
_values = st.one_of(
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([True, False, "12", None, 2**53, 2**53 + 1, -(2**53) - 1, 10**400]),
)
_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=4)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)
_data = st.one_of(
    st.dictionaries(st.text(max_size=4), _json, max_size=4),
    st.sampled_from([None, [], "x", {1: 2}, {"role": "admin"}, {"x": float("nan")}]),
)


@st.composite
def _records(draw: st.DrawFn) -> dict[str, object]:
    """Mostly records of the common shape, each field now and then anything at all."""
    record: dict[str, object] = {}
    for name, usual, anything, required in (
        ("id", _plain, _texts, True),
        ("kind", _plain, _texts, True),
        ("member", _plain, _texts, True),
        ("group", _plain, st.one_of(st.none(), _texts), False),
        ("at", _plain_times, _times, True),
        ("value", st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6)), _values, False),
        ("data", st.dictionaries(st.text(max_size=4), _json, max_size=4), _data, False),
    ):
        if draw(st.integers(0, 20)) == 0 if required else draw(st.booleans()):
            continue
        record[name] = draw(anything if draw(st.integers(0, 9)) == 0 else usual)
    if draw(st.integers(0, 20)) == 0:
        record["extra"] = 1
    return record


def _model_beside(record: dict[str, object], fast: object) -> go.Event | None:
    """The model's event for ``record``, to compare with what a fast path made of it
    (``fast``); None where the model refuses the record, which the fast path must have
    left to it too, so that its errors are the model's."""
    try:
        return go.Event.model_validate(dict(record))
    except ValidationError:
        assert fast is None  # a bad record is always left to the model and its errors
        return None


@given(_records())
def test_the_fast_path_makes_what_the_model_makes(record: dict[str, object]) -> None:
    fast = event_from_mapping(record)
    model = _model_beside(record, fast)
    if fast is None or model is None:  # refused, or left to the model: nothing to compare
        return
    assert fast == model
    assert fast.model_fields_set == model.model_fields_set
    assert fast.model_dump_json() == model.model_dump_json()
    assert repr(fast) == repr(model)
    assert fast.at.tzinfo == model.at.tzinfo and fast.at.fold == model.at.fold
    assert type(fast.value) is float and (fast.value == model.value or math.isnan(model.value))
    assert fast.data is not record.get("data")  # a copy, as the model makes


def test_the_common_shape_takes_the_fast_path() -> None:
    record = {
        "id": "e1",
        "kind": "checkin",
        "member": "m1",
        "group": "camp",
        "at": "2026-11-20T08:00:00+08:00",
        "value": 2,
        "data": {"topic": "签到", "items": [1, 2.5, None]},
    }
    fast = event_from_mapping(record)
    assert fast is not None
    assert fast == go.Event.model_validate(record)
    assert fast.at == datetime(2026, 11, 20, 0, tzinfo=UTC)


def test_built_fills_defaults_and_keeps_the_fields_given() -> None:
    at = datetime(2026, 11, 20, 8, tzinfo=UTC)
    fast = built(Membership, member="m1", group="g1", joined_at=at, role="admin")
    model = Membership(member="m1", group="g1", joined_at=at, role="admin")
    assert fast == model and repr(fast) == repr(model)
    assert fast.model_fields_set == model.model_fields_set
    change = built(MembershipChange, at=at, membership=fast, decision=None)
    assert (
        change.model_dump_json() == MembershipChange(at=at, membership=model, decision=None).model_dump_json()
    )
    with pytest.raises(TypeError, match="joined_at is required"):
        built(Membership, member="m1", group="g1")


def test_a_batch_of_joins_and_leaves_makes_the_same_history_as_one_by_one(tmp_path) -> None:
    book = go.RuleBook(groups=(go.Group(id="g1"), go.Group(id="g2")))
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    records = [
        {"id": "j1", "kind": "joined", "member": "m1", "group": "g1", "at": t0.isoformat()},
        {
            "id": "l1",
            "kind": "left",
            "member": "m1",
            "group": "g1",
            "at": (t0 + timedelta(days=2)).isoformat(),
        },
        {
            "id": "j2",
            "kind": "joined",
            "member": "m1",
            "group": "g1",
            "at": (t0 + timedelta(days=3)).isoformat(),
        },
        {
            "id": "j3",
            "kind": "joined",
            "member": "m2",
            "group": "g2",
            "at": t0.isoformat(),
            "data": {"role": "admin"},
        },
        {"id": "j0", "kind": "joined", "member": "m1", "group": "g2", "at": t0.isoformat()},
    ]
    histories = []
    for name, batches in (("one.db", [[r] for r in records]), ("all.db", [records])):
        with go.Engine(book, store=go.SQLiteStore(tmp_path / name)) as engine:
            for batch in batches:
                engine.ingest(batch)
            store = engine.store
            histories.append(
                {
                    key: [c.model_dump_json() for c in store.membership_history(*key)]
                    for key in (("m1", "g1"), ("m2", "g2"), ("m1", "g2"))
                }
            )
            memberships = store.get_memberships([("m1", "g1"), ("m2", "g2"), ("m9", "g1"), ("m1", "g9")])
            assert sorted(memberships) == [("m1", "g1"), ("m2", "g2")]
            assert memberships[("m2", "g2")].role == "admin"
            assert memberships[("m1", "g1")].status == "active"
    assert histories[0] == histories[1]
    assert [len(h) for h in histories[1].values()] == [3, 1, 1]


# ids that need JSON escaping (quotes, backslashes, control characters, DEL) now and then
_ascii_ids = st.one_of(_plain, st.text(st.characters(max_codepoint=127), min_size=1, max_size=6))
_any_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1e-4, 9.999e-5, 1e-5, 1e15, 1e16, 9.99e15, 1e22, 5e-324, 2.0**53]),
    st.integers(-(2**53), 2**53),
)


@st.composite
def _row_records(draw: st.DrawFn) -> dict[str, object]:
    """Records of the common shape, with ids, values and times that stretch how a
    payload is written (escapes, every float's form, fractions and offsets)."""
    record: dict[str, object] = draw(_records())
    if draw(st.booleans()):
        for name in ("id", "kind", "member", "group"):
            if name in record and draw(st.booleans()):
                record[name] = draw(_ascii_ids)
    if "value" in record and draw(st.booleans()):
        record["value"] = draw(_any_floats)
    return record


@given(st.one_of(_records(), _row_records()))
def test_the_fast_row_is_the_row_of_what_the_model_makes(record: dict[str, object]) -> None:
    row = event_row_from_mapping(record)
    model = _model_beside(record, row)
    if row is None or model is None:  # refused, or left to the model: nothing to compare
        return
    assert row == event_row(model)
    assert row[8] == model.model_dump_json()  # the payload, byte for byte
    assert row[4] == model.at.isoformat()
    assert row_instant(row) == model.at and row_instant(row).tzinfo == model.at.tzinfo


@pytest.mark.parametrize(
    "at",
    [
        "2026-11-20T08:00:00+08:00",
        "2026-11-20T08:00:00Z",
        "2026-11-20T08:00:00-00:00",
        "2026-11-20T08:00:00.5+00:00",
    ],
)
@pytest.mark.parametrize("value", [1, 2.5, 1e-5, 1e16, -0.0])
@pytest.mark.parametrize("member", ["m1", 'm"1', "m\\1", "m\x01", "m\x7f"])
def test_the_fast_rows_payload_is_the_models_json(at: str, value: float, member: str) -> None:
    record = {"id": "e1", "kind": "checkin", "member": member, "group": "g", "at": at, "value": value}
    row = event_row_from_mapping(record)
    assert row is not None
    assert row[8] == go.Event.model_validate(record).model_dump_json()


def test_ingest_stores_the_rows_the_models_make(tmp_path) -> None:
    """The events, memberships and their history that ingest writes from JSON lines
    are, byte for byte, those of the validated events stored one by one."""
    book = go.RuleBook(groups=(go.Group(id="g1"), go.Group(id="g2")))
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    records = [
        {"id": "j1", "kind": "joined", "member": "m1", "group": "g1", "at": "2026-11-01T08:00:00+08:00"},
        {
            "id": "j2",
            "kind": "joined",
            "member": "m2",
            "group": "g2",
            "at": "2026-11-01T00:00:00Z",
            "data": {"role": "admin"},
        },
        {
            "id": "c1",
            "kind": "checkin",
            "member": "m1",
            "group": "g1",
            "at": "2026-11-02T08:00:00.25-03:30",
            "value": 3,
        },
        {
            "id": "p1",
            "kind": "purchase",
            "member": "m2",
            "at": "2026-11-03T08:00:00-00:00",
            "value": 1e-5,
            "data": {"sku": "签到", "n": [1, 2.5, None]},
        },
        {
            "id": "l1",
            "kind": "left",
            "member": "m1",
            "group": "g1",
            "at": (t0 + timedelta(days=3)).isoformat(),
        },
        {"id": "c1", "kind": "checkin", "member": "m1", "group": "g1", "at": "2026-11-02T08:00:00Z"},
        {
            "id": "x",
            "kind": "checkin",
            "member": 'say "hi"',
            "group": "g2",
            "at": "2026-11-04T08:00:00+05:45",
        },
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    with go.Engine(book, store=go.SQLiteStore(tmp_path / "fast.db")) as engine:
        report = engine.ingest(lines)
    assert report.events == 6 and report.duplicates == ("c1",)
    with go.Engine(book, store=go.SQLiteStore(tmp_path / "models.db")) as engine:
        for line in lines:  # one validated model at a time, as before rows
            engine.ingest([go.Event.model_validate_json(line)])
    tables = {
        "events": "SELECT seq, id, member, grp, kind, at, at_us, value, data, payload FROM events ORDER BY seq",
        "memberships": "SELECT member, grp, status, payload FROM memberships ORDER BY member, grp",
        "history": "SELECT member, grp, at_us, decision, payload FROM membership_history ORDER BY seq",
    }
    stored = []
    for name in ("fast.db", "models.db"):
        with sqlite3.connect(tmp_path / name) as conn:
            stored.append({t: conn.execute(sql).fetchall() for t, sql in tables.items()})
        conn.close()
    assert stored[0] == stored[1]
    assert [len(rows) for rows in stored[0].values()] == [6, 2, 3]


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 11, 20, 8, tzinfo=timezone(timedelta(hours=8))),
        datetime(2026, 11, 20, 8, 0, 0, 5, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
        datetime(2026, 11, 20, 8, tzinfo=timezone(timedelta(seconds=30))),
        datetime(2026, 11, 20, 8, 0, 0, 5, tzinfo=timezone(timedelta(hours=1, seconds=1, microseconds=7))),
        datetime(2026, 11, 20, 8, tzinfo=UTC),
    ],
)
def test_a_rows_instant_is_its_events(at: datetime) -> None:
    event = go.Event(id="e1", kind="joined", member="m1", group="g", at=at)
    instant = row_instant(event_row(event))
    assert instant == event.at and instant.tzinfo == event.at.tzinfo and instant.utcoffset() == at.utcoffset()


def test_add_event_rows_says_which_rows_are_new(tmp_path) -> None:
    """The first row of an id not stored yet is new; a row whose id was stored before,
    or earlier in the same batch, is not (and is not written)."""
    store = go.SQLiteStore(tmp_path / "rows.db")
    at = datetime(2026, 11, 20, tzinfo=UTC)

    def row(eid: str, kind: str = "checkin") -> tuple:
        return event_row(go.Event(id=eid, kind=kind, member="m1", at=at))

    assert store.add_event_rows([]) == []
    assert store.add_event_rows([row("a"), row("b")]) == [True, True]
    assert store.add_event_rows([row("c"), row("a", "other"), row("c", "other"), row("d"), row("b")]) == [
        True,
        False,
        False,
        True,
        False,
    ]
    with store.transaction():  # inside a transaction, as ingest writes
        assert store.add_event_rows([row("e"), row("e"), row("d")]) == [True, False, False]
    stored = [(e.id, e.kind) for _, e in store.events_after(0)]
    assert stored == [
        ("a", "checkin"),
        ("b", "checkin"),
        ("c", "checkin"),
        ("d", "checkin"),
        ("e", "checkin"),
    ]
    store.close()


def test_a_store_overriding_add_events_alone_still_gets_its_events(tmp_path) -> None:
    """A subclass of SQLiteStore that overrides add_events (to see each event, say) gets
    every event through it, as before rows; one overriding both gets rows."""
    seen: list[str] = []

    class Watching(go.SQLiteStore):
        def add_events(self, events):
            seen.extend(e.id for e in events)
            return super().add_events(events)

    class Rows(Watching):
        def add_event_rows(self, rows):
            seen.extend(f"row {r[0]}" for r in rows)
            return super().add_event_rows(rows)

    book = go.RuleBook(groups=(go.Group(id="g1"),))
    line = '{"id": "e1", "kind": "joined", "member": "m1", "group": "g1", "at": "2026-11-20T08:00:00+08:00"}'
    with go.Engine(book, store=Watching(tmp_path / "w.db")) as engine:
        assert engine.ingest([line]).events == 1
        assert engine.store.get_membership("m1", "g1") is not None
    assert seen == ["e1"]
    seen.clear()
    with go.Engine(book, store=Rows(tmp_path / "r.db")) as engine:
        assert engine.ingest([line]).events == 1
    assert seen == ["row e1"]
