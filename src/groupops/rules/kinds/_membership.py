"""What the membership-constraint kinds share (violation, limit, deadline, capacity):
the ``remove`` action, whose message gives the kind's own ``{reason}``, and reading a
membership as it stood at an instant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..._model import Event, Group, Membership
from ._registry import Runtime, catalogued_action

__all__ = ["REFUSE", "REMOVE", "joining", "present_at", "removed"]

REMOVE = catalogued_action("remove", platform=True)
"""Removal from a group (status ``removed``, which no revival reopens); ``{reason}`` says
why, in the deciding kind's words."""

REFUSE = catalogued_action("refuse", platform=True)
"""A join refused (the member is taken out again; status ``removed``)."""


def present_at(ms: Membership, when: datetime) -> bool:
    """Whether the membership's current joining covers ``when``: joined at or before it,
    and present now or gone only after it."""
    if ms.joined_at > when:
        return False
    if ms.present:
        return True
    ended = ms.left_at or ms.evicted_at
    return ended is not None and ended > when


def joining(
    event: Event, groups: Sequence[str], rt: Runtime, when: datetime
) -> tuple[Group, Membership] | None:
    """The open group and the membership a join ``event`` opened, when its group is one of
    ``groups`` (any, when empty) and that joining still covers ``when``; None otherwise
    (another group, a closed one, a later joining, or gone again before ``when``)."""
    if event.group is None or (groups and event.group not in groups):
        return None
    group = rt.group(event.group)
    ms = rt.membership(event.member, event.group)
    if group is None or group.status != "open" or ms is None:
        return None
    if ms.joined_at != event.at or not present_at(ms, when):
        return None
    return group, ms


def removed(ms: Membership, when: datetime) -> Membership:
    """``ms`` closed with status ``removed`` at ``when``."""
    return ms.model_copy(update={"status": "removed", "left_at": when})
