"""The capacity kind: a group never holds more present members than its ``capacity``.

Trigger: ``on: joined`` (the default): each join is checked at its own time; a join
beyond the capacity is routed to another open group of the family with room, or
removed. Also the order :func:`route_order` in which routing fills a family's groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import ClassVar, Literal

from ..._decision import Decision
from ..._i18n import messages, text
from ..._model import Event, Group, Membership
from ._membership import REMOVE, joining, present_at, removed
from ._registry import GroupRef, Kind, PolicyBase, Runtime, Verdict, catalogued_action

__all__ = ["CREATE_GROUP", "KIND", "ROUTE", "Capacity", "CapacityKind", "present_count", "route_order"]

ROUTE = catalogued_action("capacity.route", platform=True)
"""A member sent from a full group to another of its family (``target_group``)."""

CREATE_GROUP = catalogued_action("capacity.create_group", platform=True, audience="operators")
"""Opening a family's next group (:func:`groupops.route` decides it; the platform, through
the ``groupops_create_group`` hook, or an operator carries it out)."""


class Capacity(PolicyBase):
    """Keep each group within its ``capacity``: of the present members at a join, those
    beyond the capacity (by join time, ties by member id) are ``route``\\ d to another open
    group of the same family with room (``overflow: route``, the default), else removed;
    with ``overflow: remove`` they are always removed.

    ``groups`` (optional) limits it to those groups; by default every group with a
    ``capacity``, groups created at run time included. A leave frees a place."""

    type: Literal["capacity"] = "capacity"
    groups: tuple[GroupRef, ...] = ()
    overflow: Literal["route", "remove"] = "route"

    default_on: ClassVar[tuple[str, ...]] = ("joined",)


def present_count(memberships: Sequence[Membership], when: datetime) -> int:
    """How many of ``memberships`` were present at ``when``."""
    return sum(1 for ms in memberships if present_at(ms, when))


def route_order(groups: Sequence[tuple[Group, int]]) -> list[Group]:
    """The order routing fills groups, from ``(group, present members)`` pairs: open
    groups with room (no capacity: always room), the fullest first so that groups fill
    one at a time, ties by id."""
    room = [(g, n) for g, n in groups if g.status == "open" and (g.capacity is None or n < g.capacity)]
    return [g for g, _ in sorted(room, key=lambda gn: (-gn[1], gn[0].id))]


class CapacityKind(Kind):
    """Checks each join against its group's capacity."""

    name = "capacity"
    order = 45
    model = Capacity
    label: ClassVar[Mapping[str, str]] = messages("policy_type.capacity")
    actions = (ROUTE, REMOVE, CREATE_GROUP)
    placeholders = frozenset({"reason"})

    def on_event(
        self, policy: Capacity, event: Event, rt: Runtime, when: datetime, at: datetime
    ) -> list[Decision]:
        """Check the join ``event`` opened, at ``when``: beyond the capacity, route or remove."""
        joined = joining(event, policy.groups, rt, when)
        if joined is None or joined[0].capacity is None:
            return []  # another group, not this joining, or a group without a capacity
        group, _ = joined
        # everyone present then, in join order (ties by member id): those beyond the
        # capacity are over it, this join or one at the same instant checked before it
        present = [o for o in rt.memberships(group.id) if present_at(o, when)]
        ranked = sorted(present, key=lambda o: (o.joined_at, o.member))
        made: list[Decision] = []
        for over in ranked[group.capacity :]:
            made += self._overflow(policy, rt, group, over, when)
        return made

    def _overflow(
        self, policy: Capacity, rt: Runtime, group: Group, ms: Membership, when: datetime
    ) -> list[Decision]:
        """Route ``ms`` to a sibling with room, else remove it (once: by its joining)."""
        assert group.capacity is not None
        with rt.isolated(policy.id, ms, when):
            period = f"joined-{ms.joined_at.isoformat()}"
            target = self._target(policy, rt, group, when, ms.member) if policy.overflow == "route" else None
            if target is not None:
                d = rt.decide(policy.id, "route", ms, period, when, None, target_group=target.id)
                after = ms.model_copy(update={"status": "left", "left_at": when}) if ms.present else None
                recorded = rt.apply(Verdict(d, ms, after))
            else:
                d = rt.decide(policy.id, "remove", ms, period, when, None)
                reason = text("capacity.full", rt.locale, capacity=group.capacity)
                after = removed(ms, when) if ms.present else None
                recorded = rt.apply(Verdict(d, ms, after, values={"reason": reason}))
            return [recorded] if recorded is not None else []
        return []

    @staticmethod
    def _target(policy: Capacity, rt: Runtime, full: Group, when: datetime, member: str) -> Group | None:
        if full.family is None:
            return None
        siblings = [g for g in rt.groups() if g.family == full.family and g.id != full.id]
        counted = [(g, present_count(rt.memberships(g.id), when)) for g in siblings]
        # never where a limit would turn the member back
        open_to = (g for g in route_order(counted) if rt.refusal(member, g.id, when, leaving=full.id) is None)
        return next(open_to, None)


KIND = CapacityKind()
