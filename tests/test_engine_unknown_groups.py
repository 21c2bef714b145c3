"""Engine.ingest against the rule book's groups: an event naming a group the book does not
know is a bad record (rejected, the rest stored), unless the caller opts out and is told."""

from __future__ import annotations

import groupops as go

BOOK = go.RuleBook.load({"groups": [{"id": "club"}, {"id": "vip", "kind": "paid"}]})
EVENTS = [
    {"id": "e1", "kind": "checkin", "member": "m1", "group": "club", "at": "2026-11-17T08:00:00+08:00"},
    {"id": "e2", "kind": "joined", "member": "m1", "group": "vip-hz", "at": "2026-11-17T09:00:00+08:00"},
    {"id": "e3", "kind": "purchase", "member": "m1", "at": "2026-11-17T10:00:00+08:00"},
    {"id": "m1", "name": "Alice"},
]


def test_an_event_naming_an_unknown_group_is_rejected_and_the_rest_stored(tmp_path):
    with go.Engine(BOOK, store=str(tmp_path / "x.db"), entry_points=False) as engine:
        report = engine.ingest(EVENTS)
        assert (report.events, report.members) == (2, 1)
        [rejected] = report.rejected
        assert rejected.index == 1
        assert rejected.problems == (
            "group: 'vip-hz' is not a group of the rule book (known groups: 'club', 'vip')",
        )
        assert engine.store.get_membership("m1", "vip-hz") is None  # nor did it open a membership
        assert report.unknown_groups == ()
    with go.Engine(BOOK, store=str(tmp_path / "x.db"), entry_points=False) as engine:
        assert sorted(e.id for _, e in engine.store.events_after(0)) == ["e1", "e3"]


def test_with_check_groups_off_the_event_is_stored_and_its_group_reported(tmp_path):
    with go.Engine(BOOK, store=str(tmp_path / "x.db"), entry_points=False) as engine:
        first = engine.ingest(EVENTS[:2], check_groups=False)
        second = engine.ingest(
            [
                {
                    "id": "e4",
                    "kind": "checkin",
                    "member": "m2",
                    "group": "camp",
                    "at": "2026-11-17T08:00:00+08:00",
                }
            ],
            check_groups=False,
        )
        assert first.rejected == () and first.events == 2
        assert first.unknown_groups == ("vip-hz",)
        assert first.merge(second).unknown_groups == ("camp", "vip-hz")
        assert engine.store.get_membership("m1", "vip-hz") is not None
