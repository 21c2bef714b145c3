"""Issue 12: member discipline and membership constraints — groups created at run time
accepted by ingest, violations, limits, deadlines from joining, capacity, routing, terms."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import groupops as go

CST = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, tzinfo=CST)


class Platform:
    """A host plugin that creates groups on the platform: ids chat-1, chat-2, ..."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    @go.hookimpl
    def groupops_create_group(self, family, name, book, number, at):  # type: ignore[no-untyped-def]
        self.calls.append((family.id, name, number))
        return f"chat-{len(self.calls)}"


def welfare_book(*policies, capacity=2, **extra):
    return go.RuleBook.load(
        {
            "timezone": "Asia/Shanghai",
            "families": [
                {
                    "id": "welfare",
                    "kind": "general",
                    "capacity": capacity,
                    "name": "{city}·XX品牌福利社 {n}群",
                    "vars": {"city": "杭州"},
                    "welcome": "欢迎 {member.name} 加入{group.name}！",
                }
            ],
            "groups": [
                {"id": "w1", "name": "杭州·XX品牌福利社 1群", "family": "welfare", "capacity": capacity},
                *extra.pop("groups", []),
            ],
            "policies": list(policies),
            **extra,
        }
    )


def ev(eid, kind, member, group, at, **data):
    return go.Event(id=eid, kind=kind, member=member, group=group, at=at, data=data)


# -- groups created at run time are groups events may name --------------------------------


def test_ingest_accepts_a_group_created_at_run_time_and_still_refuses_a_typo(tmp_path):
    host = Platform()
    with go.Engine(welfare_book(), store=str(tmp_path / "g.db"), plugins=[host], entry_points=False) as engine:
        engine.run(T0)
        made = go.create_group(engine, "welfare", T0)
        assert made.group is not None and made.group.id == "chat-1"
        report = engine.ingest(
            [
                ev("j1", "joined", "ann", "chat-1", T0 + timedelta(hours=1)),
                ev("j2", "joined", "bob", "chat-9", T0 + timedelta(hours=1)),
            ]
        )
        assert report.events == 1
        [rejected] = report.rejected
        assert rejected.problems == (
            "group: 'chat-9' is not a group of the rule book (known groups: 'chat-1', 'w1')",
        )
        ms = engine.membership("ann", "chat-1")
        assert ms is not None and ms.present
    # a new process over the same store knows the group too
    with go.Engine(welfare_book(), store=str(tmp_path / "g.db"), entry_points=False) as engine:
        assert engine.ingest([ev("l1", "left", "ann", "chat-1", T0 + timedelta(hours=2))]).events == 1
        assert engine.membership("ann", "chat-1").status == "left"
