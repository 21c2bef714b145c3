"""What a kind asks of the run: a group's memberships of the statuses it decides on
(``rt.memberships(group, members, status=...)``), the same from every store, whether the
store reads only those (``memberships_with_status``) or the engine filters them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from _books import camp_book

import groupops as go
from groupops.engine._runtime import _Runtime

AT = datetime(2026, 11, 20, 20, tzinfo=ZoneInfo("Asia/Shanghai"))


class _FilteringNothing(go.MemoryStore):
    """A store of a plugin that offers no ``memberships_with_status``."""

    memberships_with_status = None


def _store(kind: str, tmp_path: Path) -> go.Store:
    if kind == "sqlite":
        return go.SQLiteStore(tmp_path / "camp.db")
    return go.MemoryStore() if kind == "memory" else _FilteringNothing()


@pytest.mark.parametrize("kind", ["sqlite", "memory", "plugin store without it"])
def test_a_kind_gets_the_memberships_of_the_statuses_it_asks_for(kind: str, tmp_path: Path) -> None:
    store = _store(kind, tmp_path)
    statuses = {"ann": "active", "bob": "evicted", "cat": "notified", "dan": "left", "eve": "evicted"}
    for member, status in statuses.items():
        store.put_membership(
            go.Membership(
                member=member,
                group="camp",
                status=status,
                joined_at=AT - timedelta(days=30),
                evicted_at=AT - timedelta(days=2) if status == "evicted" else None,
                left_at=AT - timedelta(days=1) if status == "left" else None,
            )
        )
    store.put_membership(go.Membership(member="ann", group="other", joined_at=AT - timedelta(days=3)))
    with go.Engine(go.RuleBook.load(camp_book()), store=store) as engine:
        rt = _Runtime(engine, {})

        def members(*args: object, **kw: object) -> list[str]:
            return [ms.member for ms in rt.memberships(*args, **kw)]  # type: ignore[arg-type]

        assert members("camp") == sorted(statuses)
        assert members("camp", status=("evicted",)) == ["bob", "eve"]
        assert members("camp", status=("notified", "active")) == ["ann", "cat"]
        assert members("camp", status=()) == []
        # a later round of the run: only the members decided on before, by member
        assert members("camp", {"eve", "dan", "ann", "zed"}, status=("evicted", "left")) == ["dan", "eve"]
        assert members("camp", {"eve", "dan", "ann", "zed"}) == ["ann", "dan", "eve"]
        assert rt.memberships("camp", status=("evicted",)) == [
            ms for ms in store.memberships(group="camp") if ms.status == "evicted"
        ]
