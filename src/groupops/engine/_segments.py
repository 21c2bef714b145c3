"""Segments over time: campaign reports (a segment at its start, the goal by its end)
and a member's standing under every policy."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .._errors import Problem, RuleError, UnknownMemberError
from .._model import Member
from .._reports import CampaignReport, StandingReport
from .._time import to_zone
from ..rules._evaluate import Context, holds
from ..rules._facts_api import StoreFacts
from ..rules.kinds.campaign import Campaign, campaign_rate, target_met
from ._base import EngineBase
from ._explain import labels_then
from ._runtime import _Runtime
from ._world import StoreWorld


class Segments(EngineBase):
    """Campaign reports and standing: questions about members across every group."""

    def _profile_at(self, member: Member, at: datetime) -> Member:
        """``member`` with the labels the label history says they held at ``at`` (the
        profile's own labels when the history does not say)."""
        held = labels_then(self.store.label_history(member.id), at)
        return member if held is None else member.model_copy(update={"labels": held})

    def _context_then(self, member: Member, at: datetime, read: tuple[StoreFacts, StoreWorld]) -> Context:
        """A member-wide context at ``at`` with the labels the member held then (events
        and other members read through ``read``, the facts and world of the report)."""
        then = self._profile_at(member, at)
        profiles: Mapping[str, Member] = {member.id: then}
        return self.member_context(member.id, at, profiles, read=read)

    def standing(self, member: str, at: datetime) -> StandingReport:
        """Where ``member`` stands at ``at`` under every policy that concerns them, with
        what they meet and what they miss: progress toward the next tier label (``tier``),
        rung (``ladder``) or paid group (``admission``), how far they are from a notice
        (``eviction``: what keeps them, and when the period ends) and what brings them back
        (``revival``). Render it in the member's locale with
        :meth:`StandingReport.render`. Nothing is recorded.

        :class:`UnknownMemberError` for a member the store knows nothing of."""
        at = to_zone(at, self.book.tz)
        profile = self.store.get_member(member)
        if profile is None and not self.store.memberships(member=member):
            raise UnknownMemberError(member)
        profiles = {member: profile} if profile is not None else {}
        return self._standing(member, at, _Runtime(self, profiles))

    def _standing(self, member: str, at: datetime, rt: _Runtime) -> StandingReport:
        items = []
        for policy in self.book.policies:
            kind = self._kind(policy)
            with self._isolated(policy.id, None, at, member=member):
                items += kind.standing(policy, rt, member, at)
        profile = rt.profiles.get(member)
        return StandingReport(member=member, name=profile.name if profile else "", at=at, items=tuple(items))

    def campaign(self, policy: str, at: datetime | None = None) -> CampaignReport:
        """How the ``campaign`` policy ``policy`` stands: the members in its segment at its
        ``start``, how many of them meet its ``goal`` at its ``end`` (or at ``at``, if
        given and earlier: while it runs), the rate and whether it meets the target.

        Labels are read as the store's label history says they were at each moment
        (``tier`` moves are kept there; a member whose history does not reach back is
        read with the labels their profile has now). Nothing is recorded. An empty
        segment has no rate (None) and neither meets nor misses the target (None).
        """
        p = self.book.policy(policy)
        if not isinstance(p, Campaign):
            campaigns = ", ".join(x.id for x in self.book.policies if isinstance(x, Campaign)) or "none"
            raise RuleError(
                [
                    Problem(
                        "policy",
                        f"{policy!r} is a {p.type!r} policy, not a campaign (campaigns: {campaigns})",
                    )
                ]
            )
        end = p.end if at is None else min(p.end, to_zone(at, self.book.tz))
        start = min(p.start, end)
        members = self.store.members()
        read = self._facts_and_world({m.id: m for m in members})  # once for every member
        read[0].prefetch(m.id for m in members)
        at_start = [m for m in members if holds(p.segment, self._context_then(m, start, read))]
        reached = [m for m in at_start if holds(p.goal, self._context_then(m, end, read))]
        rate = campaign_rate(len(at_start), len(reached))
        return CampaignReport(
            policy=p.id,
            start=p.start,
            end=p.end,
            at=end,
            finished=end >= p.end,
            size=len(at_start),
            reached=len(reached),
            rate=rate,
            target=p.target,
            met=target_met(rate, p.target),
            members=tuple(m.id for m in at_start),
            reached_members=tuple(m.id for m in reached),
        )
