"""The invite kind: a bulk invitation of a segment into a group, members in no group
included.

Trigger: ``at`` an instant or each occurrence of ``schedule``; reminders at the run's
instant, ``expires`` after each first invitation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal

from ..._decision import Decision
from ..._errors import Problem
from ..._i18n import messages
from ..._model import Membership
from ..._reports import Section
from ..._time import DurationField
from ._registry import BookRefs, GroupRef, Runtime, ScheduledKind, ScheduledPolicy, Verdict
from ._selection import SegmentField, selected
from .admission import INVITE, invitation_phrase

__all__ = ["KIND", "Invite", "InviteKind"]


class Invite(ScheduledPolicy):
    """Invite every member of ``segment`` who is not present in ``to`` — members in no
    group included — ``at`` an instant or at each occurrence of ``schedule``.

    Each member is invited once by the policy (``invite-1``), however many occurrences
    and overlapping segments select them. With ``expires``, a member who has not joined
    ``to`` that long after the invitation, and is still in the segment, is invited once
    more (``invite-2``, decided at that moment), then never again. A member who joins
    ``to`` before the invitation is delivered is not invited: the message is cancelled.
    """

    type: Literal["invite"] = "invite"
    segment: SegmentField
    to: GroupRef
    expires: DurationField | None = None

    def group_ids(self) -> tuple[str, ...]:
        return ()  # members are selected from the whole community, not from groups


def _present(rt: Runtime, member: str, group: str) -> bool:
    ms = rt.membership(member, group)
    return ms is not None and ms.present


class InviteKind(ScheduledKind):
    """Invites a segment at its moments; reminds once after ``expires``."""

    name = "invite"
    order = 35
    model = Invite
    label: ClassVar[Mapping[str, str]] = messages("invite.kind_label")
    placeholders = frozenset({"invitation", "invitation.number", "invitation.max"})
    actions = (INVITE,)

    def book_problems(self, policy: Mapping[str, Any], path: str, book: BookRefs) -> list[Problem]:
        """Its groups, and ``to``, name groups of the book."""
        return [*super().book_problems(policy, path, book), *book.group(f"{path}.to", policy.get("to"))]

    def occurrence(
        self, policy: Invite, rt: Runtime, when: datetime, previous: datetime | None, at: datetime
    ) -> list[Decision]:
        """Invite the members in the segment at ``when`` who were never invited by this
        policy and are not present in ``to``."""
        made: list[Decision] = []
        invited = {d.member for d in rt.decisions(policy=policy.id, action="invite")}
        for member in sorted(set(rt.profiles) - invited):
            recorded = self._invite(policy, rt, member, 1, when)
            if recorded is not None:
                made.append(recorded)
        return made

    def decide(self, policy: Invite, rt: Runtime, at: datetime, members: set[str] | None) -> list[Decision]:
        """The second invitations now due: ``expires`` after a first one, to members still
        in the segment and not present in ``to``, each decided at its own moment."""
        if policy.expires is None:
            return []
        made: list[Decision] = []
        decided = rt.decisions(policy=policy.id, action="invite")
        again = {d.member for d in decided if d.period == "invite-2"}
        for first in decided:
            member = first.member
            if first.period != "invite-1" or first.status != "applied" or member is None or member in again:
                continue
            if members is not None and member not in members:
                continue
            due = policy.expires.after(first.at, rt.tz)
            if due > at:
                continue
            recorded = self._invite(policy, rt, member, 2, due)
            if recorded is not None:
                made.append(recorded)
        return made

    def _invite(
        self, policy: Invite, rt: Runtime, member: str, number: int, when: datetime
    ) -> Decision | None:
        """The ``number``-th invitation of ``member`` at ``when``, decided in isolation:
        None when they are present in ``to`` then, not in the segment, or it is not
        recorded."""
        with rt.isolated(policy.id, None, when, member=member, group=policy.to):
            if _present(rt, member, policy.to):
                return None
            why = selected(policy.segment, rt, member, when)
            if not why.passed:
                return None
            return self._record(policy, rt, member, number, when, why)
        return None  # a plugin failed meanwhile: reported in the run's failures

    def _record(
        self, policy: Invite, rt: Runtime, member: str, number: int, when: datetime, why: Any
    ) -> Decision | None:
        d = rt.decide_about(
            policy.id,
            "invite",
            member=member,
            group=policy.to,
            period=f"invite-{number}",
            at=when,
            explanation=why,
            target_group=policy.to,
        )
        return rt.apply(Verdict(d))

    def stale(self, policy: Invite, decision: Decision, rt: Runtime, at: datetime) -> str | None:
        """An invitation whose member joined ``to`` since is not delivered."""
        if (
            decision.action == "invite"
            and decision.member is not None
            and _present(rt, decision.member, policy.to)
        ):
            return f"{decision.member!r} is present in {policy.to!r} already"
        return None

    def explain(
        self, policy: Invite, rt: Runtime, ms: Membership, at: datetime
    ) -> tuple[list[Any], list[Any]]:
        why = selected(policy.segment, rt, ms.member, at)
        return [Section(kind="invited", values={"group": policy.to}, explanation=why)], []

    def message_values(self, policy: Invite, decision: Decision, locale: str) -> dict[str, str]:
        if decision.action != "invite" or not decision.period.startswith("invite-"):
            return {}
        number = int(decision.period.removeprefix("invite-"))
        of = 2 if policy.expires is not None else 1
        return {
            "invitation": invitation_phrase(number, of, locale),
            "invitation.number": str(number),
            "invitation.max": str(of),
        }


KIND = InviteKind()
