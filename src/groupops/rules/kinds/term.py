"""The term kind: a group with a ``term`` ends when its term does.

Trigger: each group's own term end. At the end, one ``cohort_end`` decision about the
group (a post in it), and the group is closed: no policy decides anything more on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from typing import ClassVar, Literal

from ..._decision import Decision
from ..._i18n import messages
from ..._model import Group, change_group
from ._registry import GroupRef, Kind, Point, PolicyBase, Runtime, Verdict, catalogued_action

__all__ = ["KIND", "TermEnd", "TermKind", "term_ends"]


class TermEnd(PolicyBase):
    """Close each group of ``groups`` (default: every group with a ``term``, groups
    created at run time included) at the end of its term, with one ``cohort_end`` post.
    It takes no ``on`` or ``delay``: each group's term end is its moment."""

    type: Literal["term"] = "term"
    groups: tuple[GroupRef, ...] = ()

    def group_ids(self) -> tuple[str, ...]:
        return self.groups


def term_ends(
    policy: TermEnd, groups: Iterable[Group], at: datetime, tz: tzinfo
) -> list[tuple[datetime, str]]:
    """``(term end, group id)`` of the open groups of ``policy`` whose term ended by
    ``at``, in time order (calendar lengths counted in ``tz``)."""
    ends = [
        (g.term.end(tz), g.id)
        for g in groups
        if g.term is not None and g.status == "open" and (not policy.groups or g.id in policy.groups)
    ]
    return sorted(e for e in ends if e[0] <= at)


class TermKind(Kind):
    """Ends each cohort at the end of its term."""

    name = "term"
    order = 60
    model = TermEnd
    label: ClassVar[Mapping[str, str]] = messages("policy_type.term")
    actions = (catalogued_action("term.cohort_end", audience="group"),)

    def due(self, policy: TermEnd, rt: Runtime, at: datetime) -> list[Point]:
        return [Point(end, 0, gid) for end, gid in term_ends(policy, rt.groups(), at, rt.tz)]

    def decide_at_point(
        self, policy: TermEnd, point: Point, rt: Runtime, at: datetime
    ) -> tuple[list[Decision], list[Point]]:
        group = rt.group(point.payload)
        if group is None or group.status != "open":
            return [], []
        with rt.isolated(policy.id, None, point.when, group=group.id):
            d = rt.decide_about(
                policy.id, "cohort_end", group=group.id, period=point.when.isoformat(), at=point.when
            )
            recorded = rt.apply(Verdict(d, group=change_group(group, point.when, status="closed")))
            return ([recorded] if recorded is not None else []), []
        return [], []


KIND = TermKind()
