"""The example books read the method the same way: "bought more than twice" is three
purchases or more, in every book that has the paid-group threshold."""

from __future__ import annotations

from pathlib import Path

import pytest

import groupops as go
from groupops.rules._conditions import Count, iter_leaves

ROOT = Path(__file__).resolve().parent.parent
BOOKS = [
    go.example_path("community.yaml"),
    go.example_path("demo.yaml"),
    ROOT / "docs" / "examples" / "rules" / "vip.toml",
]


@pytest.mark.parametrize("path", BOOKS, ids=lambda p: Path(p).name)
def test_bought_more_than_twice_means_three_purchases_or_more(path):
    book = go.load_rule_book(path)
    leaves = [
        leaf
        for policy in book.policies_of(go.rules.Admission)
        for leaf in iter_leaves(policy.when)
        if isinstance(leaf, Count) and leaf.count == "purchase"
    ]
    assert leaves, f"{path} has no purchase threshold"
    for leaf in leaves:
        assert not leaf.check(2.0), f"{path}: two purchases pass {leaf!r}"
        assert leaf.check(3.0), f"{path}: three purchases fail {leaf!r}"
