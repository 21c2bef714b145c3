from datetime import datetime, timedelta, timezone

from hypothesis import given, settings

import groupops as go
from groupops.testing import MEMBERSHIP_INVARIANTS, check_invariants, joins_and_leaves

BOOK = go.RuleBook.load({
    "groups": [{"id": "w1", "capacity": 2}, {"id": "w2", "capacity": 2}, {"id": "a1", "kind": "activity"}],
    "policies": [
        {"id": "two-groups", "type": "limit", "max": {"general": 1, "activity": 1}},
        {"id": "capacity", "type": "capacity"},
    ],
})
START = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)


@settings(max_examples=30)
@given(joins_and_leaves(members=["ann", "bob", "cai"], groups=["w1", "w2", "a1"], start=START))
def test_nobody_over_a_limit_and_no_group_over_capacity(events):
    with go.Engine(BOOK, entry_points=False) as engine:
        engine.ingest(events)
        engine.run(START + timedelta(days=30))
        assert check_invariants(engine, invariants=MEMBERSHIP_INVARIANTS) == []
