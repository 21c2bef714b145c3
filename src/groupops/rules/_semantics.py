"""The pure meaning of each policy type: who qualifies, who fails, when, and which way.

These functions decide nothing on their own and write nothing; the engine calls them
and records what they say. Each takes an evaluation :class:`Context` for one member in
one group at one moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Literal

from .._errors import Problem, RuleError
from .._model import Membership
from ._evaluate import Context, evaluate, holds
from ._explain import Explanation
from ._policies import Admission, Eviction, Ladder, Revival, Welcome
from ._time import to_zone

__all__ = [
    "MAX_CATCH_UP",
    "EvictionCheck",
    "LadderMove",
    "Period",
    "admission_check",
    "eviction_check",
    "eviction_period",
    "eviction_periods",
    "in_grace",
    "ladder_move",
    "revival_check",
    "revival_deadline",
    "revival_open",
    "welcome_due",
]


@dataclass(frozen=True)
class Period:
    """One eviction period: ``start < t <= end``; notices go out at ``notice_at``.

    The first period of a policy with a ``start`` begins at that ``start``. ``key``
    names the period in decision ids: the ISO time of its end in the book's time zone.
    """

    start: datetime
    end: datetime
    notice_at: datetime

    @property
    def key(self) -> str:
        return self.end.isoformat()


def _period_ending(policy: Eviction, tz: tzinfo, end: datetime) -> Period:
    start = policy.schedule.previous_before(end, tz, policy.start)
    if start is None:  # the first occurrence: the period began with the policy
        start = to_zone(policy.start, tz) if policy.start is not None else end
    return Period(start=start, end=end, notice_at=policy.notice.before(end, tz))


def eviction_period(policy: Eviction, tz: tzinfo, at: datetime) -> Period | None:
    """The period ``at`` belongs to (an occurrence ends its own period), or None if the
    schedule has no occurrence at or after ``at``."""
    end = policy.schedule.last_at_or_before(at, tz, policy.start)
    if end is None or end != at:
        end = policy.schedule.next_after(at, tz, policy.start)
    if end is None:
        return None
    return _period_ending(policy, tz, end)


MAX_CATCH_UP = 1000
"""The most eviction periods one run may catch up for one policy (a run long after the
last one, or after a ``start`` far in the past); more is an error, not a hang."""


def _more_due_than(policy: Eviction, tz: tzinfo, after: datetime, until: datetime, limit: int) -> bool:
    """True if more than ``limit`` occurrences fall in ``(after, until]``: counted
    lazily, so a range of millions of occurrences costs no more than ``limit`` of them."""
    seen = 0
    for occurrence in policy.schedule.iter_after(after, tz, policy.start):
        if occurrence > until:
            return False
        seen += 1
        if seen > limit:
            return True
    return False


def eviction_periods(policy: Eviction, tz: tzinfo, after: datetime, until: datetime) -> list[Period]:
    """Periods with something due in ``(after, until]``: a notice time or an end, in order.

    :raises RuleError: more than :data:`MAX_CATCH_UP` periods are due."""
    horizon = policy.notice.after(until, tz)
    if _more_due_than(policy, tz, after, horizon, MAX_CATCH_UP):
        raise RuleError(
            [
                Problem(
                    f"policy {policy.id!r}",
                    f"more than {MAX_CATCH_UP:,} periods of {policy.schedule} are due between "
                    f"{after.isoformat()} and {until.isoformat()}; one run catches up at most "
                    f"{MAX_CATCH_UP:,}: run at earlier times first, or move the policy's start closer",
                )
            ]
        )
    ends = policy.schedule.between(after, horizon, tz, policy.start)
    periods = [_period_ending(policy, tz, end) for end in ends]
    # ``between`` already gives ``after < end``; keep a period only if its end or its
    # notice falls in the range, not one that merely spans it
    return [p for p in periods if p.end <= until or after < p.notice_at <= until]


def in_grace(policy: Eviction, membership: Membership, period: Period, tz: tzinfo) -> bool:
    """Whether the member is still inside the grace period at the period's end.

    Grace runs from joining, or from the last revival if later.
    """
    if policy.grace is None:
        return False
    began = membership.joined_at
    if membership.revived_at is not None and membership.revived_at > began:
        began = membership.revived_at
    return policy.grace.after(began, tz) > period.end


@dataclass(frozen=True)
class EvictionCheck:
    """What an eviction policy says of one member for one period, at one moment.

    ``failing`` is the explanation of ``when`` (passed = the member would be evicted);
    ``exempt`` the explanation of ``exempt`` if the policy has one.
    """

    failing: Explanation
    exempt: Explanation | None
    grace: bool

    @property
    def at_risk(self) -> bool:
        """Would be noticed or evicted: fails ``when``, not exempt, not in grace."""
        return self.failing.passed and not self.grace and not (self.exempt and self.exempt.passed)


def eviction_check(policy: Eviction, ctx: Context, period: Period) -> EvictionCheck:
    """Evaluate ``when`` and ``exempt`` in ``ctx`` (whose ``period_start`` should be the
    period's start) and the grace rule for ``period``."""
    grace = ctx.membership is not None and in_grace(policy, ctx.membership, period, ctx.tz)
    exempt = evaluate(policy.exempt, ctx) if policy.exempt is not None else None
    return EvictionCheck(failing=evaluate(policy.when, ctx), exempt=exempt, grace=grace)


def admission_check(policy: Admission, ctx: Context) -> Explanation:
    """Whether the member qualifies for the paid group now (``when`` in ``ctx``)."""
    return evaluate(policy.when, ctx)


def revival_deadline(policy: Revival, membership: Membership, tz: tzinfo) -> datetime | None:
    """The last moment the member may be revived, or None if not evicted."""
    if membership.evicted_at is None:
        return None
    return policy.within.after(membership.evicted_at, tz)


def revival_open(policy: Revival, membership: Membership, at: datetime, tz: tzinfo) -> bool:
    """Evicted, inside the window (``evicted_at <= at <= deadline``), revivals left."""
    deadline = revival_deadline(policy, membership, tz)
    at = to_zone(at, tz)  # compared as instants, never as wall clocks
    return (
        membership.status == "evicted"
        and deadline is not None
        and membership.evicted_at is not None
        and membership.evicted_at <= at <= deadline
        and membership.revivals < policy.max
    )


def revival_check(policy: Revival, ctx: Context) -> Explanation:
    """Whether the revival criteria hold in ``ctx``."""
    return evaluate(policy.when, ctx)


@dataclass(frozen=True)
class LadderMove:
    """One step up or down the ladder, with the explanation that justified it."""

    action: Literal["promote", "demote"]
    from_role: str
    to_role: str
    explanation: Explanation


def ladder_move(policy: Ladder, ctx: Context) -> LadderMove | None:
    """The step the member should take now, or None to stay.

    Promote when the next step's ``promote`` holds. Otherwise demote when the current
    step's ``keep`` fails and its ``grace`` since the promotion has passed. Locked
    memberships and roles not on the ladder never move.
    """
    ms = ctx.membership
    roles = policy.roles()
    if ms is None or ms.locked or ms.role not in roles:
        return None
    i = roles.index(ms.role)
    if i + 1 < len(roles):
        up = policy.steps[i + 1]
        if up.promote is not None and holds(up.promote, ctx):
            return LadderMove("promote", ms.role, up.role, evaluate(up.promote, ctx))
    step = policy.steps[i]
    if i == 0 or step.keep is None:
        return None
    if step.grace is not None and ms.promoted_at is not None:
        if ctx.at < step.grace.after(ms.promoted_at, ctx.tz):
            return None
    if holds(step.keep, ctx):  # a verdict first: the explanation only for a demotion
        return None
    return LadderMove("demote", ms.role, roles[i - 1], evaluate(step.keep, ctx))


def welcome_due(policy: Welcome, membership: Membership, at: datetime, tz: tzinfo) -> bool:
    """Whether the member's current joining should be welcomed at ``at``: present, and
    joined within ``policy.within`` before ``at`` (and not after it)."""
    at = to_zone(at, tz)  # compared as instants, never as wall clocks
    return membership.present and policy.within.before(at, tz) <= membership.joined_at <= at
