"""Models built without validation, as the evaluator and the SQLite store do for speed,
are the same as the generic ways of building them."""

from __future__ import annotations

import copy
import math
import pickle
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
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
    observed = fields.get("observed")
    if fields["test"] == "count" or not (isinstance(observed, float) and math.isinf(observed)):
        # "never" (inf) is written "Infinity" and read back as a number by a numeric leaf
        # only: no combinator or "has" carries one
        assert Explanation.model_validate_json(fast.model_dump_json()) == Explanation.model_validate(fields)
    if "expect" not in fields:  # a default never shared between nodes
        assert fast.expect == {} and fast.expect is not Explanation.model_construct(**fields).expect


@given(_fields)
def test_nodes_built_alike_share_a_fields_set_that_copies_as_the_generic_one(
    fields: dict[str, object],
) -> None:
    first, second = Explanation.model_construct(**fields), Explanation.model_construct(**fields)
    assert first.model_fields_set is second.model_fields_set  # one set per shape, not per node
    generic = BaseModel.model_construct.__func__(Explanation, **fields)  # type: ignore[attr-defined]
    assert first.model_dump(exclude_unset=True) == generic.model_dump(exclude_unset=True)
    assert first.model_dump_json(exclude_unset=True) == generic.model_dump_json(exclude_unset=True)
    # every copy owns a plain set, so the copy's changes never reach the other nodes
    changed = first.model_copy(update={"passed": not first.passed, "k": 9})
    assert changed.model_fields_set == set(fields) | {"passed", "k"} and type(changed.model_fields_set) is set
    assert second.model_fields_set == set(fields)
    for again in (copy.deepcopy(first), pickle.loads(pickle.dumps(first))):
        assert again == generic and type(again.model_fields_set) is set
        assert again.model_fields_set == set(fields)


def test_a_shared_fields_set_refuses_to_change() -> None:
    node = Explanation.model_construct(test="count", passed=True, observed=1.0)
    for change in (
        lambda s: s.add("k"),
        lambda s: s.update({"k"}),
        lambda s: s.discard("test"),
        lambda s: s.clear(),
        lambda s: s.__ior__({"k"}),
    ):
        with pytest.raises(TypeError, match="shared"):
            change(node.model_fields_set)
    assert Explanation.model_construct(test="count", passed=True, observed=2.0).model_fields_set == {
        "test",
        "passed",
        "observed",
    }


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


def test_decisions_and_stored_memberships_share_one_fields_set_per_shape(tmp_path: Path) -> None:
    at = datetime(2026, 11, 20, 12, tzinfo=UTC)

    def notice(member: str) -> go.Decision:
        return go.Decision.make(
            policy="weekly", action="notice", member=member, group="camp", period="2026-W47", at=at
        )

    first, second = notice("ann"), notice("bob")
    assert first.model_fields_set is second.model_fields_set
    vetoed = first.model_copy(update={"status": "vetoed", "veto_reason": "quiet hours"})
    assert vetoed.model_fields_set == first.model_fields_set | {"status", "veto_reason"}
    assert "status" not in second.model_fields_set  # the copy's change reached no other decision
    assert go.Decision.model_validate_json(first.model_dump_json()) == first

    store = go.SQLiteStore(tmp_path / "m.db")
    try:
        for member in ("ann", "bob"):
            store.put_membership(go.Membership(member=member, group="camp", joined_at=at))
        ann, bob = store.memberships(group="camp")
        assert ann.model_fields_set is bob.model_fields_set
        assert ann.model_copy(update={"status": "notified"}).model_fields_set == ann.model_fields_set | {
            "status"
        }
    finally:
        store.close()
