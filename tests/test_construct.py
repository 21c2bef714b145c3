"""Models built without validation, as the evaluator and the SQLite store do for speed,
are the same as the generic ways of building them."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

import groupops as go
from groupops.rules._explain import Explanation

_fields = st.fixed_dictionaries(
    {"test": st.sampled_from(["all", "count", "has"]), "passed": st.booleans()},
    optional={
        "subject": st.one_of(st.none(), st.text(max_size=3), st.lists(st.text(max_size=3), max_size=2)),
        "observed": st.one_of(st.none(), st.floats(allow_nan=False), st.text(max_size=3)),
        "expect": st.dictionaries(st.sampled_from(["at_least", "below"]), st.integers(0, 9), max_size=2),
        "window": st.one_of(st.none(), st.just("7d")),
        "window_start": st.one_of(st.none(), st.just(datetime(2026, 11, 1, tzinfo=UTC))),
        "k": st.one_of(st.none(), st.integers(1, 3)),
        "negated": st.booleans(),
        "children": st.just((Explanation(test="has", passed=True),)),
        "decided_by": st.just((0,)),
    },
)


@given(_fields)
def test_explanation_model_construct_is_pydantics(fields: dict[str, object]) -> None:
    fast = Explanation.model_construct(**fields)
    generic = BaseModel.model_construct.__func__(Explanation, **fields)  # type: ignore[attr-defined]
    assert fast == generic and repr(fast) == repr(generic)
    assert fast.model_fields_set == generic.model_fields_set == set(fields)
    assert fast.model_dump_json() == generic.model_dump_json()
    assert Explanation.model_validate_json(fast.model_dump_json()) == Explanation.model_validate(fields)
    if "expect" not in fields:  # a default never shared between nodes
        assert fast.expect == {} and fast.expect is not Explanation.model_construct(**fields).expect


def test_explanation_model_construct_without_a_required_field_is_pydantics() -> None:
    fast = Explanation.model_construct(test="all")
    assert fast.model_fields_set == {"test"} and not hasattr(fast, "passed")


def test_a_group_changed_by_another_process_is_read_as_it_is_now(tmp_path: Path) -> None:
    store = go.SQLiteStore(tmp_path / "g.db")
    try:
        store.put_group(go.Group(id="camp", name="Camp"))
        first = store.get_group("camp")
        assert first == go.Group(id="camp", name="Camp") and store.get_group("camp") is first
        with sqlite3.connect(tmp_path / "g.db") as conn:  # another writer renames it
            conn.execute(
                "UPDATE groups SET payload = json_set(payload, '$.name', 'Camp 2') WHERE id = 'camp'"
            )
        conn.close()
        assert store.get_group("camp") == go.Group(id="camp", name="Camp 2")
    finally:
        store.close()
