"""The dissolve kind: end a group at its moment, inviting its members elsewhere.

Trigger: its own moment (``at``, else the group's ``ends_at`` as the store keeps it),
decided in time order with every other trigger of the run, so a late run dissolves the
group at that moment and nothing is decided on it after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar, Literal

from ..._decision import Decision
from ..._i18n import messages, text
from ..._model import Group, Time, change_group
from ._registry import GroupRef, Kind, Point, PolicyBase, Runtime, Verdict, catalogued_action

__all__ = ["KIND", "Dissolve", "DissolveKind", "dissolve_moment", "moved_invitation"]


class Dissolve(PolicyBase):
    """Dissolve ``group`` at ``at`` (default: the group's ``ends_at``): one ``dissolve``
    decision (a post in the group; the platform action of dissolving it), the group's
    status ``dissolved`` in the store, and no decision of any policy on it afterwards.
    With ``invite_to``, each present member not already present there is invited
    (``invite``) just before, so the invitation still names the old group.

    A group with neither ``at`` nor ``ends_at`` is never dissolved by this policy."""

    type: Literal["dissolve"] = "dissolve"
    group: GroupRef
    at: Time | None = None
    invite_to: GroupRef | None = None

    own_moments: ClassVar[str] = "a dissolve is due at its 'at' (or the group's ends_at)"

    def group_ids(self) -> tuple[str, ...]:
        return (self.group,)


def dissolve_moment(policy: Dissolve, group: Group | None) -> datetime | None:
    """When ``policy`` dissolves ``group`` (as the store keeps it): its ``at``, else the
    group's ``ends_at``; None when neither is known."""
    if policy.at is not None:
        return policy.at
    return group.ends_at if group is not None else None


def moved_invitation(old: str, locale: str) -> str:
    """The ``{invitation}`` of an invitation made because ``old`` ends."""
    return text("dissolve.moved", locale, old=old)


def invite_elsewhere(
    rt: Runtime, policy_id: str, members: list[str], old: str, to: str, when: datetime, period: str
) -> list[Decision]:
    """Invite each of ``members`` (present in ``old``) to ``to`` unless present there:
    one ``invite`` per member, its id keyed by ``period``."""
    made: list[Decision] = []
    old_group = rt.group(old)
    old_name = old_group.display_name if old_group is not None else old
    for member in members:
        source = rt.membership(member, old)
        with rt.isolated(policy_id, source, when):
            target = rt.membership(member, to)
            if target is not None and target.present:
                continue
            d = rt.decide_about(
                policy_id, "invite", member=member, group=to, period=period, at=when, target_group=to
            )
            values = {"invitation": moved_invitation(old_name, rt.locale)}
            recorded = rt.apply(Verdict(d, target, None, about=source, values=values))
            if recorded is not None:
                made.append(recorded)
    return made


def dissolve_group(rt: Runtime, policy_id: str, group: str, when: datetime) -> Decision | None:
    """One ``dissolve`` decision for ``group`` at ``when``, its status ``dissolved``."""
    current = rt.group(group)
    if current is None or current.status != "open":
        return None
    with rt.isolated(policy_id, None, when, group=group):
        d = rt.decide_about(policy_id, "dissolve", group=group, period="dissolve", at=when)
        return rt.apply(Verdict(d, group=change_group(current, when, status="dissolved")))
    return None


class DissolveKind(Kind):
    """Due once, at the group's end: invitations elsewhere, then ``dissolve``."""

    name = "dissolve"
    model = Dissolve
    label: ClassVar[Mapping[str, str]] = messages("dissolve.label")
    actions = (
        catalogued_action("dissolve.dissolve", label="dissolve.label", platform=True, audience="group"),
    )

    def due(self, policy: Dissolve, rt: Runtime, at: datetime) -> list[Point]:
        group = rt.group(policy.group)
        when = dissolve_moment(policy, group)
        if group is None or group.status != "open" or when is None or when > at:
            return []
        return [Point(when, 0)]

    def decide_at_point(
        self, policy: Dissolve, point: Point, rt: Runtime, at: datetime
    ) -> tuple[list[Decision], list[Point]]:
        made: list[Decision] = []
        if policy.invite_to is not None:
            # present at the moment (a join stored late but dated after it does not count)
            present = [
                ms.member for ms in rt.memberships(policy.group) if ms.present and ms.joined_at <= point.when
            ]
            made += invite_elsewhere(
                rt, policy.id, present, policy.group, policy.invite_to, point.when, "dissolve"
            )
        d = dissolve_group(rt, policy.id, policy.group, point.when)
        if d is not None:
            made.append(d)
        return made, []


KIND = DissolveKind()
