"""Groups in the store: families and group fields in the rule book, seeding, history,
the group-creation hook and ``groupops groups``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import groupops as go

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 1, tzinfo=CST)

ISSUE_12_BOOK = {
    "timezone": "Asia/Shanghai",
    "families": [
        {
            "id": "welfare",
            "kind": "general",
            "capacity": 200,
            "name": "{city}·XX品牌福利社 {n}群",
            "vars": {"city": "杭州"},
            "announcement": "每周三福利",
            "welcome": "欢迎 {member.name} 加入 {group.name}",
        }
    ],
    "groups": [
        {
            "id": "w1",
            "name": "杭州·XX品牌福利社 1群",
            "kind": "general",
            "family": "welfare",
            "capacity": 200,
        },
        {
            "id": "c7",
            "name": "萌芽微创业营 第7期",
            "kind": "general",
            "capacity": 100,
            "term": {"start": "2026-03-01T00:00:00+08:00", "length": "1y"},
        },
    ],
}


def book(**changes: object) -> go.RuleBook:
    data = {**ISSUE_12_BOOK, **changes}
    return go.RuleBook.load(data)


# -- the rule book ------------------------------------------------------------------------


def test_the_issue_12_book_loads_with_families_terms_and_open_kinds() -> None:
    b = book()
    welfare = b.family("welfare")
    assert (welfare.kind, welfare.capacity) == ("general", 200)
    assert welfare.group_name(2) == "杭州·XX品牌福利社 2群"
    c7 = b.group("c7")
    assert c7.term is not None and c7.term.end(b.tz) == datetime(2027, 3, 1, tzinfo=CST)
    assert b.group("w1").status == "open"
    flash = book(groups=[{"id": "f1", "kind": "flash", "ends_at": "2026-10-08T00:00:00+08:00"}])
    assert flash.groups[0].kind == "flash"
    assert go.RuleBook.load(b.to_data()) == b


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"groups": [{"id": "g", "family": "wefare"}]},
            "groups[0].family: unknown family 'wefare' (families: welfare)",
        ),
        (
            {"groups": [{"id": "g", "capacity": 0}]},
            "groups[0].capacity: 0: input should be greater than or equal to 1",
        ),
        (
            {"families": [{"id": "welfare", "capacity": 0}]},
            "families[0].capacity: 0: input should be greater than or equal to 1",
        ),
        (
            {"families": [{"id": "welfare", "name": "{city}·XX品牌福利社 {n}群"}]},
            "families[0].name: '{city}·XX品牌福利社 {n}群': unknown placeholder {city} "
            "(known: {n}; declare it in families[0].vars)",
        ),
        (
            {"families": [{"id": "welfare", "name": "{n}群 {brand}", "vars": {"city": "杭州"}}]},
            "unknown placeholder {brand} (known: {n}, {city}; declare it in families[0].vars)",
        ),
        (
            {"families": [{"id": "welfare"}, {"id": "welfare"}]},
            "families[1].id: duplicate family id 'welfare'",
        ),
        (
            {"groups": [{"id": "g", "status": "closed"}]},
            "groups[0].status: 'closed': a group's status is kept by the store",
        ),
        (
            {"groups": [{"id": "g", "term": {"start": "2026-03-01T00:00:00+08:00", "length": "1x"}}]},
            "groups[0].term.length: '1x' is not a duration like '7d' (units: m, h, d, w, mo, y)",
        ),
        (
            {"groups": [{"id": "g", "term": {"start": "2026-03-01T00:00:00", "length": "1y"}}]},
            "groups[0].term.start",
        ),
    ],
)
def test_bad_families_and_groups_are_named_with_path_and_value(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(go.RuleError) as caught:
        book(**change)
    assert message in str(caught.value)


def test_a_book_without_families_keeps_family_as_a_free_label() -> None:
    b = go.RuleBook.load({"groups": [{"id": "camp-7", "family": "camp"}]})
    assert b.group("camp-7").family == "camp"


def test_the_json_schema_describes_families_and_terms() -> None:
    schema = go.rule_book_schema()
    assert "families" in schema["properties"]
    family = schema["$defs"]["Family"]["properties"]
    assert {"id", "kind", "capacity", "name", "announcement", "rules", "welcome", "vars"} <= set(family)
    group = schema["$defs"]["Group"]["properties"]
    assert {"term", "ends_at", "announcement", "rules", "family", "kind"} <= set(group)
    assert "y" in schema["$defs"]["Term"]["properties"]["length"]["pattern"]


# -- the pure change helper -----------------------------------------------------------------


def test_change_group_returns_the_new_state_and_what_changed() -> None:
    g = book().group("w1")
    change = go.change_group(g, T0, decision="d-1", name="杭州·MarTech交流群", capacity=200)
    assert change.group.name == "杭州·MarTech交流群" and change.group.id == "w1"
    assert change.fields == ("name",) and change.decision == "d-1" and change.source == "decision"
    assert g.name == "杭州·XX品牌福利社 1群"  # values are frozen: the old state is untouched
    closed = go.change_group(change.group, T0 + timedelta(days=1), status="closed")
    assert (closed.group.status, closed.source) == ("closed", "host")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": "archived"}, "status"),
        ({"capacity": 0}, "capacity"),
        ({"id": "w2"}, "id: a group's id cannot change (from 'w1' to 'w2')"),
        ({"colour": "red"}, "colour: 'colour' is not a field of a group"),
    ],
)
def test_change_group_refuses_bad_changes_by_name(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        go.change_group(book().group("w1"), T0, **fields)


# -- seeding and names in messages, on a real SQLite file ------------------------------------

WELCOME = {
    "id": "hello",
    "type": "welcome",
    "groups": ["w1"],
    "templates": {"welcome": "欢迎加入{group.name}"},
}


def sqlite_engine(path: object, b: go.RuleBook) -> go.Engine:
    return go.Engine(b, store=str(path), entry_points=False)


def joined(member: str, at: datetime) -> go.Event:
    return go.Event(id=f"join-{member}", kind="joined", member=member, group="w1", at=at)


def test_a_run_seeds_the_books_groups_into_the_store(tmp_path) -> None:
    db = tmp_path / "g.db"
    with sqlite_engine(db, book()) as engine:
        engine.run(T0)
        assert [g.id for g in engine.store.groups()] == ["c7", "w1"]
        w1 = engine.store.get_group("w1")
        assert w1 is not None and (w1.status, w1.family, w1.capacity) == ("open", "welfare", 200)
        [seeded] = engine.store.group_history("w1")
        assert (seeded.at, seeded.source, seeded.decision) == (T0, "book", None)
        engine.run(T0 + timedelta(days=1))  # the same book: nothing more is recorded
        assert len(engine.store.group_history("w1")) == 1
    store = go.SQLiteStore(db)  # and it is on the file
    try:
        assert [g.id for g in store.groups(family="welfare")] == ["w1"]
    finally:
        store.close()


def test_a_changed_book_updates_the_fields_it_changed_and_keeps_groups_it_dropped(tmp_path) -> None:
    db = tmp_path / "g.db"
    with sqlite_engine(db, book()) as engine:
        engine.run(T0)
        # a decision renamed c7 at run time (issue 15's repurpose will do this)
        c7 = engine.store.get_group("c7")
        assert c7 is not None
        engine.store.record_group(
            go.change_group(c7, T0 + timedelta(hours=1), decision="d-r", name="MarTech")
        )
    changed = {
        **ISSUE_12_BOOK,
        "groups": [
            {**ISSUE_12_BOOK["groups"][0], "capacity": 150, "announcement": "本周三福利"},  # type: ignore[dict-item]
            {**ISSUE_12_BOOK["groups"][1], "capacity": 120},  # type: ignore[dict-item]
        ],
    }
    later = T0 + timedelta(days=2)
    with sqlite_engine(db, go.RuleBook.load(changed)) as engine:
        engine.run(later)
        w1 = engine.store.get_group("w1")
        assert w1 is not None and (w1.capacity, w1.announcement) == (150, "本周三福利")
        last = engine.store.group_history("w1")[-1]
        assert (last.at, last.source, set(last.fields)) == (later, "book", {"capacity", "announcement"})
        c7 = engine.store.get_group("c7")
        # the book changed c7's capacity, not its name: the rename made at run time stays
        assert c7 is not None and (c7.name, c7.capacity) == ("MarTech", 120)
    only_w1 = {**changed, "groups": changed["groups"][:1]}
    with sqlite_engine(db, go.RuleBook.load(only_w1)) as engine:
        engine.run(later + timedelta(days=1))
        assert [g.id for g in engine.store.groups()] == ["c7", "w1"]  # c7 stays


def test_messages_use_the_groups_current_name_from_the_store(tmp_path) -> None:
    b = book(policies=[WELCOME])
    with sqlite_engine(tmp_path / "g.db", b) as engine:
        engine.ingest([joined("m1", T0)])
        engine.run(T0 + timedelta(minutes=1))
        w1 = engine.store.get_group("w1")
        assert w1 is not None
        engine.store.record_group(
            go.change_group(w1, T0 + timedelta(hours=1), decision="d-r", name="杭州·MarTech交流群")
        )
        engine.ingest([joined("m2", T0 + timedelta(hours=2))])
        engine.run(T0 + timedelta(hours=2, minutes=1))
        texts = {m.member: m.text for m in engine.store.messages()}
    assert texts == {"m1": "欢迎加入杭州·XX品牌福利社 1群", "m2": "欢迎加入杭州·MarTech交流群"}


# -- the group-creation hook -----------------------------------------------------------------


class Platform:
    """A host that creates groups on its platform (a real plugin, through pluggy)."""

    def __init__(self, answer: object = "wecom-chat-42") -> None:
        self.answer = answer
        self.calls: list[tuple[str, str, int, datetime]] = []

    @go.hookimpl
    def groupops_create_group(self, family, name, book, number, at):  # type: ignore[no-untyped-def]
        assert isinstance(book, go.RuleBook)
        self.calls.append((family.id, name, number, at))
        return self.answer


class NotMine:
    @go.hookimpl
    def groupops_create_group(self, family, name, book, number, at):  # type: ignore[no-untyped-def]
        return None


def test_hook_create_group_keeps_the_group_the_host_created(tmp_path) -> None:
    host = Platform()
    with go.Engine(
        book(), store=str(tmp_path / "g.db"), plugins=[NotMine(), host], entry_points=False
    ) as engine:
        engine.run(T0)  # seeds w1, the family's first group
        made = go.create_group(engine, "welfare", T0 + timedelta(days=1), decision="d-route")
        assert host.calls == [("welfare", "杭州·XX品牌福利社 2群", 2, T0 + timedelta(days=1))]
        assert made.task is None and made.plugin is not None and made.number == 2
        stored = engine.store.get_group("wecom-chat-42")
        assert stored == made.group
        assert stored is not None and (
            stored.name,
            stored.family,
            stored.kind,
            stored.capacity,
            stored.status,
        ) == ("杭州·XX品牌福利社 2群", "welfare", "general", 200, "open")
        assert (
            stored.announcement == "每周三福利" and stored.welcome == "欢迎 {member.name} 加入 {group.name}"
        )
        [created] = engine.store.group_history("wecom-chat-42")
        assert (created.decision, created.source) == ("d-route", "decision")
        assert [g.id for g in engine.store.groups(family="welfare", status="open")] == ["w1", "wecom-chat-42"]
        assert engine.store.messages() == []


def test_hook_create_group_unanswered_queues_one_operator_task(tmp_path) -> None:
    with go.Engine(book(), store=str(tmp_path / "g.db"), plugins=[NotMine()], entry_points=False) as engine:
        engine.run(T0)
        first = go.create_group(engine, "welfare", T0 + timedelta(days=1))
        again = go.create_group(engine, "welfare", T0 + timedelta(days=2))
        assert first.group is None and first.task is not None and again.task is not None
        assert first.task.key == again.task.key == "create_group:welfare:2"
        [task] = engine.store.messages()
        assert (task.action, task.recipient) == ("task", "operators")
        assert "杭州·XX品牌福利社 2群" in task.text
        assert [g.id for g in engine.store.groups(family="welfare")] == ["w1"]  # nothing until it exists


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("", "returned '' from groupops_create_group: a group id is a non-blank string"),
        (42, "returned 42 from groupops_create_group"),
        ("w1", "returned 'w1' from groupops_create_group, an id the store already holds"),
    ],
)
def test_hook_create_group_bad_answers_are_plugin_errors_and_record_nothing(
    tmp_path, answer: object, message: str
) -> None:
    with go.Engine(
        book(), store=str(tmp_path / "g.db"), plugins=[Platform(answer)], entry_points=False
    ) as engine:
        engine.run(T0)
        with pytest.raises(go.PluginError, match=message) as caught:
            go.create_group(engine, "welfare", T0)
        assert caught.value.hook == "groupops_create_group"
        assert [g.id for g in engine.store.groups()] == ["c7", "w1"] and engine.store.messages() == []


def test_create_group_names_an_unknown_family() -> None:
    with go.Engine(book(), entry_points=False) as engine:
        with pytest.raises(go.RuleError, match="family: unknown family 'wefare' \\(families: welfare\\)"):
            go.create_group(engine, "wefare", T0)


# -- groupops groups, the real CLI in a subprocess -------------------------------------------

GROUPOPS = Path(sys.executable).parent / "groupops"


def gops(*args: str | Path, cwd: Path, code: int = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GROUPOPS_LOCALE"}
    env["PYTHONUTF8"] = "1"
    proc = subprocess.run(
        [str(GROUPOPS), *map(str, args)], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


def _cli_community(tmp_path: Path) -> Path:
    (tmp_path / "book.yaml").write_text(yaml.safe_dump(ISSUE_12_BOOK, allow_unicode=True), encoding="utf-8")
    lines = [
        {"id": "j1", "kind": "joined", "member": "m1", "group": "w1", "at": "2026-03-02T09:00:00+08:00"},
        {"id": "j2", "kind": "joined", "member": "m2", "group": "w1", "at": "2026-03-02T09:00:00+08:00"},
        {"id": "l2", "kind": "left", "member": "m2", "group": "w1", "at": "2026-03-03T09:00:00+08:00"},
        {"id": "j3", "kind": "joined", "member": "m3", "group": "c7", "at": "2026-03-02T09:00:00+08:00"},
    ]
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    gops("ingest", "--db", "ops.db", "--rules", "book.yaml", "events.jsonl", cwd=tmp_path)
    return tmp_path / "ops.db"


def test_groups_cli_lists_each_groups_state_read_only(tmp_path: Path) -> None:
    db = _cli_community(tmp_path)
    before = db.read_bytes()
    none = gops("groups", "--db", "ops.db", cwd=tmp_path)
    assert "No groups in ops.db" in none.stdout  # nothing seeded before a run
    seeded = json.loads(
        gops("groups", "--db", "ops.db", "--rules", "book.yaml", "--json", cwd=tmp_path).stdout
    )
    assert db.read_bytes() == before  # --rules showed the seeding; nothing was written
    assert [(g["id"], g["status"], g["present"], g["capacity"]) for g in seeded] == [
        ("c7", "open", 1, 100),
        ("w1", "open", 1, 200),  # m2 left: present members only
    ]
    assert seeded[0]["term_end"] == "2027-03-01T00:00:00+08:00" and seeded[1]["family"] == "welfare"

    gops("run", "--db", "ops.db", "--rules", "book.yaml", "--at", "2026-03-04T09:00:00+08:00", cwd=tmp_path)
    store = go.SQLiteStore(db)  # a decision renames w1 and closes c7 (as issue 15's kinds will)
    try:
        for gid, fields in (("w1", {"name": "杭州·MarTech交流群"}), ("c7", {"status": "closed"})):
            current = store.get_group(gid)
            assert current is not None
            store.record_group(
                go.change_group(current, T0 + timedelta(days=5), decision=f"d-{gid}", **fields)
            )
    finally:
        store.close()
    text = gops("groups", "--db", "ops.db", cwd=tmp_path).stdout.splitlines()
    assert text[0].split() == [
        "id",
        "name",
        "kind",
        "family",
        "status",
        "members",
        "score",
        "playbooks",
        "term",
        "ends",
    ]
    assert text[1].split() == [
        "c7",
        "萌芽微创业营",
        "第7期",
        "general",
        "closed",
        "1/100",
        "2027-03-01",
        "00:00",
    ]
    assert text[2].split()[:6] == ["w1", "杭州·MarTech交流群", "general", "welfare", "open", "1/200"]
    assert text[2].split()[7] == "active"  # its health (issue 15): no health policy, so active
    zh = gops("groups", "--db", "ops.db", "--locale", "zh", cwd=tmp_path).stdout
    assert "已关闭" in zh and "期满" in zh


def test_groups_cli_refuses_a_missing_database_with_exit_2(tmp_path: Path) -> None:
    proc = gops("groups", "--db", "typo.db", cwd=tmp_path, code=2)
    assert "no database at 'typo.db'" in proc.stderr and not (tmp_path / "typo.db").exists()
    err = json.loads(gops("groups", "--db", "memory:", "--json", cwd=tmp_path, code=2).stdout)
    assert err["error"] == "--rules is needed to read groups from 'memory:' (not a SQLite file)"
    (tmp_path / "book.yaml").write_text(yaml.safe_dump(ISSUE_12_BOOK, allow_unicode=True), encoding="utf-8")
    shown = json.loads(
        gops("groups", "--db", "memory:", "--rules", "book.yaml", "--json", cwd=tmp_path).stdout
    )
    assert [(g["id"], g["present"]) for g in shown] == [("c7", 0), ("w1", 0)]  # seeded, rolled back


def test_seeding_joins_the_callers_transaction_and_rolls_back_with_it() -> None:
    store = go.MemoryStore()
    from groupops._groups import seed_groups

    with pytest.raises(RuntimeError), store.transaction():  # groupops groups --rules: look, then roll back
        seed_groups(store, book(), T0)
        assert len(store.groups()) == 2
        raise RuntimeError("discard")
    assert store.groups() == [] and store.get_state("groups:declared:w1") is None


class LegacyStore:
    """A host's store written before groups were kept: every Store method but the group ones."""

    def __init__(self) -> None:
        self._inner = go.MemoryStore()

    def __getattr__(self, name: str) -> object:
        if name in ("put_group", "record_group", "get_group", "groups", "group_history"):
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_a_store_without_group_operations_still_runs_with_the_books_names() -> None:
    with go.Engine(book(policies=[WELCOME]), store=LegacyStore(), entry_points=False) as engine:  # type: ignore[arg-type]
        engine.ingest([joined("m1", T0)])
        [made] = engine.run(T0 + timedelta(minutes=1)).decisions
        assert made.action == "welcome"
        assert [m.text for m in engine.store.messages()] == ["欢迎加入杭州·XX品牌福利社 1群"]


_group_fields = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["一群", "二群", "MarTech"]),
        "kind": st.sampled_from(["general", "flash", "paid"]),
        "capacity": st.integers(min_value=1, max_value=3),
        "announcement": st.sampled_from(["", "周三福利"]),
    },
)
_books = st.lists(
    st.tuples(st.sampled_from(["g1", "g2", "g3"]), _group_fields),
    min_size=1,
    max_size=3,
    unique_by=lambda t: t[0],
).map(lambda gs: go.RuleBook.load({"groups": [{"id": gid, **fields} for gid, fields in gs]}))


@given(books=st.lists(_books, min_size=1, max_size=4), renamed=st.booleans())
def test_seeding_a_sequence_of_books_follows_the_last_book_and_keeps_what_it_did_not_change(
    books: list[go.RuleBook], renamed: bool
) -> None:
    from groupops._groups import declared_fields, seed_groups

    store = go.MemoryStore()
    at = T0
    runtime_names: dict[str, str] = {}  # groups renamed by a decision since the book last renamed them
    last_declared: dict[str, str] = {}  # the name the last book naming the group gave it
    for i, b in enumerate(books):
        at += timedelta(days=1)
        seed_groups(store, b, at)
        assert seed_groups(store, b, at + timedelta(hours=1)) == []  # seeding again changes nothing
        for g in b.groups:
            stored = store.get_group(g.id)
            assert stored is not None and stored.status == "open"
            want, have = declared_fields(g), declared_fields(stored)
            if g.id in runtime_names and last_declared.get(g.id) == g.name:
                # the book did not change the name since: the decision's rename stays
                assert have.pop("name") == runtime_names[g.id]
                want.pop("name")
            else:
                runtime_names.pop(g.id, None)
            assert have == want
            last_declared[g.id] = g.name
        if renamed:  # a decision renames the book's first group after each seeding
            first = store.get_group(b.groups[0].id)
            assert first is not None
            store.record_group(
                go.change_group(first, at + timedelta(hours=2), decision="d", name="运行时改名")
            )
            runtime_names[first.id] = "运行时改名"
        ids_so_far = {g.id for bk in books[: i + 1] for g in bk.groups}
        assert {g.id for g in store.groups()} == ids_so_far  # nothing is ever deleted
