"""Facts where the events are: the SQLite store answers the facts interface in SQL (and
from histories it reads for the members asked about), exactly as the in-memory
reference does, for generated histories around daylight-saving changes, in several
time zones, with window edges on event times. No engine on a SQLite store replays the
stored events into memory."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import groupops as go
from groupops.engine._world import StoreWorld
from groupops.rules._facts_api import MemoryFacts, Subject
from groupops.testing import conditions

# the long profile draws bigger histories as well as more of them
LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
MAX_EVENTS = 120 if LONG else 30

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Shanghai", "UTC"]
# 2026 clock changes (Berlin 29 March / 25 October, New York 8 March / 1 November) and a
# Shanghai midnight: windows and calendar days that straddle them
ORIGINS = [
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
    datetime(2026, 11, 1, 16, tzinfo=UTC),
]
MEMBERS = ["a", "b", "c", "d"]
GROUPS = [None, "club", "vip"]
KINDS = ["checkin", "purchase", "message"]


@st.composite
def histories(draw: st.DrawFn) -> tuple[ZoneInfo, datetime, list[go.Event]]:
    tz = ZoneInfo(draw(st.sampled_from(ZONES)))
    origin = draw(st.sampled_from(ORIGINS))
    n = draw(st.integers(min_value=0, max_value=MAX_EVENTS))
    events = []
    for i in range(n):
        # minutes, with repeats: several events at one instant, edges on event times
        minutes = draw(st.integers(min_value=-6 * 24 * 60, max_value=6 * 24 * 60).map(lambda m: m - m % 7))
        written_in = ZoneInfo(draw(st.sampled_from(ZONES)))  # any zone names an instant
        data = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "amount": st.integers(0, 50) | st.just(True),
                    "reply_to": st.sampled_from([f"e{j}" for j in range(max(i, 1))]),
                    "topic": st.sampled_from(["jobs", "tools"]),
                },
            )
        )
        events.append(
            go.Event(
                id=f"e{i}",
                kind=draw(st.sampled_from(KINDS)),
                member=draw(st.sampled_from(MEMBERS)),
                group=draw(st.sampled_from(GROUPS)),
                at=(origin + timedelta(minutes=minutes)).astimezone(written_in),
                value=draw(st.sampled_from([1.0, 0.5, 2.0, 0.1, 1e6, -3.0])),
                data=data,
            )
        )
    return tz, origin, events


def _instants(draw: st.DrawFn, origin: datetime, events: list[go.Event]) -> datetime:
    """An instant to ask at: often exactly an event's time (a window edge)."""
    if events and draw(st.booleans()):
        return draw(st.sampled_from(events)).at
    return origin + timedelta(minutes=draw(st.integers(min_value=-7 * 24 * 60, max_value=7 * 24 * 60)))


def _stores(events: list[go.Event], split: int) -> go.SQLiteStore:
    store = go.SQLiteStore(":memory:")
    store.add_events(events[:split])
    return store


@given(histories(), st.data())
def test_sql_facts_equal_the_in_memory_reference(history, data):
    tz, origin, events = history
    split = data.draw(st.integers(min_value=0, max_value=len(events)))
    store = _stores(events, split)
    try:
        # histories read before the rest is stored are dropped when it is
        store.facts(tz=tz).prefetch(MEMBERS)
        store.add_events(events[split:])
        sql = store.facts(tz=tz)
        ref = MemoryFacts(go.rules.Community(tz, events))
        at = _instants(data.draw, origin, events)
        start = data.draw(st.none() | st.just(_instants(data.draw, origin, events)))
        pairs = [(m, g) for m in MEMBERS for g in GROUPS]
        for kind in KINDS:
            assert sql.counts(kind, pairs, start, at) == ref.counts(kind, pairs, start, at)
            for field in (None, "value", "amount"):
                for group in GROUPS:
                    asked = dict(field=field, group=group, limit=data.draw(st.none() | st.integers(0, 4)))
                    assert sql.ranking(kind, MEMBERS, start, at, **asked) == ref.ranking(
                        kind, MEMBERS, start, at, **asked
                    )
        kinds = data.draw(st.none() | st.lists(st.sampled_from(KINDS), unique=True))
        assert sql.last_seen([*MEMBERS, "zz"], at, kinds) == ref.last_seen([*MEMBERS, "zz"], at, kinds)
        kinds = data.draw(st.lists(st.sampled_from(KINDS), unique=True))
        assert sql.group_activity(["club", "vip", "none"], kinds, start, at) == ref.group_activity(
            ["club", "vip", "none"], kinds, start, at
        )
        groups = ["club", "vip", "none"]
        assert sql.group_events(groups, kinds, start, at) == ref.group_events(groups, kinds, start, at)
        assert sql.group_last_seen(groups, kinds, at) == ref.group_last_seen(groups, kinds, at)
        assert sql.group_health(groups, start, at, kinds=["message"], question="checkin") == ref.group_health(
            groups, start, at, kinds=["message"], question="checkin"
        )
        for m in MEMBERS:
            h, r = sql.history(m), ref.history(m)
            for kind in KINDS:
                for g in GROUPS:
                    assert h.distinct_days(kind, g, start, at) == r.distinct_days(kind, g, start, at)
                    assert h.total(kind, "amount", g, start, at) == r.total(kind, "amount", g, start, at)
    finally:
        store.close()


@given(histories(), st.data())
def test_sql_verdicts_equal_the_in_memory_reference(history, data):
    tz, origin, events = history
    store = _stores(events, len(events))
    try:
        condition = data.draw(conditions(event_kinds=st.sampled_from(KINDS), max_leaves=4))
        scope = data.draw(st.sampled_from(["group", "member"]))
        at = _instants(data.draw, origin, events)
        subjects = [
            Subject(
                go.Membership(
                    member=m,
                    group="club",
                    joined_at=_instants(data.draw, origin, events),
                    role=data.draw(st.sampled_from(["member", "admin"])),
                ),
                period_start=data.draw(st.none() | st.just(_instants(data.draw, origin, events))),
            )
            for m in MEMBERS
        ]
        profiles = {m: go.Member(id=m, labels=("A",) if m < "c" else ()) for m in MEMBERS}
        sql = store.facts(tz=tz, profiles=profiles)
        ref = MemoryFacts(go.rules.Community(tz, events), profiles)
        assert sql.holding(condition, subjects, at, default_scope=scope) == ref.holding(
            condition, subjects, at, default_scope=scope
        )
        assert sql.verdicts(condition, subjects, at, default_scope=scope) == ref.verdicts(
            condition, subjects, at, default_scope=scope
        )
    finally:
        store.close()


@st.composite
def _referrals(draw: st.DrawFn, origin: datetime) -> list[go.Event]:
    """``referral`` events (some in a group, some naming no referee, some naming the
    same referee twice or closing a circle), for the referral tree."""
    out = []
    for i in range(draw(st.integers(min_value=0, max_value=6))):
        data = draw(
            st.sampled_from([{}, {"referee": ""}]) | st.sampled_from(MEMBERS).map(lambda m: {"referee": m})
        )
        out.append(
            go.Event(
                id=f"r{i}",
                kind="referral",
                member=draw(st.sampled_from(MEMBERS)),
                group=draw(st.sampled_from(GROUPS)),
                at=origin + timedelta(minutes=draw(st.integers(min_value=-600, max_value=600))),
                data=data,
            )
        )
    return out


@given(histories(), st.data())
def test_sql_world_facts_equal_the_in_memory_reference(history, data):
    """The questions beyond counts (event logs, the referral tree, balances) are answered
    by the store's facts and world (referral events in SQL) exactly as by the reference."""
    tz, origin, events = history
    events = events + data.draw(_referrals(origin))
    store = _stores(events, len(events))
    try:
        referrer = st.none() | st.sampled_from([*MEMBERS, "zz"])
        profiles = {m: go.Member(id=m, referrer=data.draw(referrer)) for m in MEMBERS[:2]}
        for member in profiles.values():
            if member.referrer != member.id:
                store.put_member(member)
        profiles = {m.id: m for m in store.members()}
        entries = [
            go.LedgerEntry.make(
                member=data.draw(st.sampled_from(MEMBERS)),
                at=_instants(data.draw, origin, events),
                points=(points := data.draw(st.sampled_from([1.0, 0.1, -2.5, 10.0]))),
                kind="earn" if points >= 0 else "redeem",
                cause=f"c{i}",
                cause_type="event",
                policy="p",
            )
            for i in range(data.draw(st.integers(min_value=0, max_value=5)))
        ]
        store.add_entries(entries)
        sql_world, ref_world = StoreWorld(store, None, profiles), StoreWorld(store, None, profiles)
        sql = store.facts(tz=tz, profiles=profiles, world=sql_world)
        ref = MemoryFacts(go.rules.Community(tz, events), profiles, world=ref_world)
        sql_world.facts, ref_world.facts = sql, ref
        at = _instants(data.draw, origin, events)
        start = data.draw(st.none() | st.just(_instants(data.draw, origin, events)))
        for kind in [*KINDS, "referral"]:
            assert sql.events_of(kind, at) == ref.events_of(kind, at)
            groups = ["club", "vip", "none"]
            assert sql.event_log(kind, groups, start, at) == ref.event_log(kind, groups, start, at)
        asked = [*MEMBERS, "zz"]
        assert sql.referrers() == ref.referrers()
        assert sql.referees(asked) == ref.referees(asked)
        assert sql.balances(asked, at) == ref.balances(asked, at)
        # without a world both answer from the profiles alone
        bare, bare_ref = (
            store.facts(tz=tz, profiles=profiles),
            MemoryFacts(go.rules.Community(tz, events), profiles),
        )
        assert bare.referees(asked) == bare_ref.referees(asked) and bare.referrers() == bare_ref.referrers()
        assert bare.balances(asked, at) == bare_ref.balances(asked, at)
    finally:
        store.close()


def test_the_sqlite_store_answers_facts_and_the_memory_store_does_not():
    store = go.SQLiteStore(":memory:")
    try:
        assert isinstance(store.facts(tz=UTC), go.StoreFacts)
    finally:
        store.close()
    assert not hasattr(go.MemoryStore(), "facts")  # the engine keeps MemoryFacts for it


def test_events_stored_by_another_process_are_seen_at_the_next_facts(tmp_path: Path):
    at = datetime(2026, 11, 2, tzinfo=UTC)
    ours, theirs = go.SQLiteStore(tmp_path / "g.db"), go.SQLiteStore(tmp_path / "g.db")
    try:
        ours.add_events([go.Event(id="e1", kind="checkin", member="a", at=at)])
        assert ours.facts(tz=UTC).history("a").count("checkin", None, None, at) == 1
        theirs.add_events([go.Event(id="e2", kind="checkin", member="a", at=at)])
        assert ours.facts(tz=UTC).history("a").count("checkin", None, None, at) == 2
    finally:
        ours.close()
        theirs.close()


BOOK = """
timezone: Asia/Shanghai
groups: [{id: club, name: Club}, {id: vip, name: VIP}]
policies:
  - id: vip-threshold
    type: admission
    from: [club]
    to: vip
    when: {count: purchase, within: 30d, at_least: 2}
"""


def test_an_engine_on_sqlite_decides_without_replaying_the_stored_events(tmp_path: Path, monkeypatch):
    (tmp_path / "book.yaml").write_text(BOOK, encoding="utf-8")
    book = go.load_rule_book(tmp_path / "book.yaml")
    t0 = datetime(2026, 11, 2, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    records = [go.Event(id="j", kind="joined", member="m1", group="club", at=t0)]
    records += [
        go.Event(id=f"p{i}", kind="purchase", member="m1", at=t0 + timedelta(days=i)) for i in range(1, 3)
    ]
    with go.Engine(book, store=go.SQLiteStore(tmp_path / "g.db")) as engine:
        engine.ingest(records)

    def replay(self, seq):
        raise AssertionError("every stored event replayed into memory")

    monkeypatch.setattr(go.SQLiteStore, "events_after", replay)
    with go.Engine(book, store=go.SQLiteStore(tmp_path / "g.db")) as engine:
        report = engine.run(t0 + timedelta(days=3))
        assert [(d.action, d.member) for d in report.decisions] == [("invite", "m1")]
        explained = engine.explain("m1", "club", "vip-threshold", t0 + timedelta(days=3))
        assert "purchase" in explained.render()
        assert engine.ingest([go.Event(id="p9", kind="purchase", member="m1", at=t0)]).events == 1


def test_a_row_written_by_hand_is_read_through_its_payload(tmp_path: Path):
    """A row without the store's columns (inserted by hand) is validated from its payload,
    and counted as the payload says."""
    at = datetime(2026, 11, 2, tzinfo=UTC)
    store = go.SQLiteStore(tmp_path / "g.db")
    try:
        store.add_events([go.Event(id="e1", kind="checkin", member="a", at=at)])
        hand = go.Event(id="e2", kind="purchase", member="a", at=at, value=7.0)
        with sqlite3.connect(tmp_path / "g.db") as conn:
            conn.execute(
                "INSERT INTO events (id, member, grp, kind, at, at_us, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                ("e2", "a", None, "purchase", hand.at.isoformat(), 0, hand.model_dump_json()),
            )
        conn.close()
        history = store.facts(tz=UTC).history("a")
        assert history.total("purchase", "value", None, None, at) == 7.0
        assert history.count("checkin", None, None, at) == 1
    finally:
        store.close()


@pytest.mark.parametrize("version", [4, 6])
def test_an_older_file_gains_the_fact_columns_from_its_payloads(tmp_path: Path, version: int):
    from groupops.plugins.sqlite import MIGRATIONS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:version]:
        conn.executescript(script)
    at = datetime(2026, 11, 2, tzinfo=UTC)
    old = [
        go.Event(id="e1", kind="purchase", member="a", at=at, value=3.5, data={"amount": 4}),
        go.Event(id="e2", kind="purchase", member="a", at=at),
    ]
    for e in old:
        conn.execute(
            "INSERT INTO events (id, member, grp, kind, at, at_us, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                e.id,
                e.member,
                e.group,
                e.kind,
                e.at.isoformat(),
                int(at.timestamp()) * 10**6,
                e.model_dump_json(),
            ),
        )
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()
    store = go.SQLiteStore(path)
    try:
        with sqlite3.connect(path) as check:
            rows = check.execute("SELECT id, value, data FROM events ORDER BY seq").fetchall()
        check.close()
        assert rows == [("e1", 3.5, '{"amount":4}'), ("e2", 1.0, None)]
        history = store.facts(tz=UTC).history("a")
        assert history.total("purchase", "value", None, None, at) == 4.5
        assert history.total("purchase", "amount", None, None, at) == 4.0
    finally:
        store.close()


FISSION = """
timezone: Asia/Shanghai
groups: [{id: w1, name: W1}]
policies:
  - id: invite-three
    type: referral_reward
    when: {referees: {all: [{member_of: w1}, {tenure: joined, at_least: 7}]}, at_least: 3}
    reward: {points: 100}
"""


def test_referrals_points_and_standing_on_sqlite_read_no_replay(tmp_path: Path, monkeypatch):
    """The world's questions (a referee's groups and tenure, the referral tree with a
    ``referral`` event, the ledger) go through the store's facts: no stored event is
    replayed into memory by a run, the referral tree or a standing."""
    (tmp_path / "book.yaml").write_text(FISSION, encoding="utf-8")
    book = go.load_rule_book(tmp_path / "book.yaml")
    t0 = datetime(2026, 11, 2, 9, tzinfo=ZoneInfo("Asia/Shanghai"))

    def joined(member: str, day: int) -> go.Event:
        return go.Event(
            id=f"j-{member}", kind="joined", member=member, group="w1", at=t0 + timedelta(days=day)
        )

    with go.Engine(book, store=go.SQLiteStore(tmp_path / "g.db"), entry_points=False) as engine:
        engine.ingest(
            [go.Member(id="ann"), go.Member(id="b", referrer="ann"), go.Member(id="c", referrer="ann")]
        )
        engine.ingest([go.Member(id="d")])
        engine.ingest([joined("b", 0), joined("c", 0), joined("d", 1)])
        engine.ingest([go.Event(id="r1", kind="referral", member="ann", at=t0, data={"referee": "d"})])

    def replay(self, seq):
        raise AssertionError("every stored event replayed into memory")

    monkeypatch.setattr(go.SQLiteStore, "events_after", replay)
    with go.Engine(book, store=go.SQLiteStore(tmp_path / "g.db"), entry_points=False) as engine:
        assert engine.run(t0 + timedelta(days=7)).decisions == ()  # d: six days so far
        rewards = engine.run(t0 + timedelta(days=8)).decisions
        assert [d.member for d in rewards] == ["ann"]  # d counts through the referral event
        assert engine.balance("ann") == 100
        tree = engine.referral_tree()
        assert tree.generation_of == {"ann": 0, "b": 1, "c": 1, "d": 1} and tree.depth == 1
        assert engine.standing("ann", t0 + timedelta(days=9)).member == "ann"  # read without a replay


def test_a_tier_run_on_sqlite_reads_its_members_histories_in_a_few_queries(tmp_path: Path, monkeypatch):
    """A member-wide kind over every member (tier) hints the facts first: the histories
    are read many members per query, not one query per member."""
    book = go.RuleBook.load(
        {
            "timezone": "UTC",
            "groups": [{"id": "club"}],
            "policies": [
                {
                    "id": "status",
                    "type": "tier",
                    "labels": ["none", "paid"],
                    "steps": {"paid": {"count": "payment", "at_least": 1}},
                }
            ],
        }
    )
    at = datetime(2026, 3, 2, 12, tzinfo=UTC)
    members = [go.Member(id=f"m{i:02}") for i in range(40)]
    payments = [go.Event(id=f"p{i}", kind="payment", member=f"m{i:02}", at=at) for i in range(0, 40, 2)]
    with go.Engine(book, store=go.SQLiteStore(tmp_path / "g.db"), entry_points=False) as engine:
        engine.ingest([*members, *payments])
    reads: list[str] = []
    real = go.SQLiteStore._read

    def counted(self, sql, params):
        reads.append(sql)
        return real(self, sql, params)

    monkeypatch.setattr(go.SQLiteStore, "_read", counted)
    with go.Engine(book, store=go.SQLiteStore(tmp_path / "g.db"), entry_points=False) as engine:
        made = engine.run(at).decisions
    assert sorted(d.member for d in made if d.to_role == "paid") == [f"m{i:02}" for i in range(0, 40, 2)]
    assert sum("FROM events WHERE member IN" in sql for sql in reads) <= 2


def test_a_batch_answered_in_sql_reads_the_histories_of_the_members_it_passed_only(
    tmp_path: Path, monkeypatch
):
    """The histories a run reads after a batch question are those the decisions need
    (their explanations): a run over 40 members of which 5 qualify reads 5 histories,
    in one query, not the 40 the kind announced."""
    book = go.RuleBook.load(
        {
            "timezone": "UTC",
            "groups": [{"id": "club"}, {"id": "vip", "kind": "paid"}],
            "policies": [
                {
                    "id": "vip",
                    "type": "admission",
                    "from": ["club"],
                    "to": "vip",
                    "when": {"count": "purchase", "at_least": 2},
                }
            ],
        }
    )
    at = datetime(2026, 3, 2, 12, tzinfo=UTC)
    joins = [go.Event(id=f"j{i}", kind="joined", member=f"m{i:02}", group="club", at=at) for i in range(40)]
    buys = [
        go.Event(id=f"p{i}-{k}", kind="purchase", member=f"m{i:02}", at=at)
        for i in range(0, 40, 8)
        for k in (1, 2)
    ]
    with go.Engine(book, store=go.SQLiteStore(tmp_path / "g.db"), entry_points=False) as engine:
        engine.ingest([*joins, *buys])
    read: list[tuple[str, ...]] = []
    real = go.SQLiteStore._read

    def counted(self, sql, params):
        if "FROM events WHERE member IN" in sql:
            read.append(tuple(params))
        return real(self, sql, params)

    monkeypatch.setattr(go.SQLiteStore, "_read", counted)
    with go.Engine(book, store=go.SQLiteStore(tmp_path / "g.db"), entry_points=False) as engine:
        made = engine.run(at).decisions
    qualified = [f"m{i:02}" for i in range(0, 40, 8)]
    assert sorted(d.member for d in made) == qualified
    assert [sorted(ms) for ms in read] == [qualified]
