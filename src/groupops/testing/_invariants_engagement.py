"""Invariants of the engagement economy: the points ledger adds up and never goes
negative, a referral reward is paid at most once, a vote's winners are the top N.

``rewards_paid_once`` and ``vote_winners_are_top_n`` are record-level checks (the
:class:`~groupops.testing.Invariant` shape: pass them to ``check_invariants(engine,
invariants=[*INVARIANTS, *ENGAGEMENT_INVARIANTS])``); ``ledger_is_consistent`` needs the
engine's store (its ledger).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from .._decision import Decision
from .._engine import Engine
from .._model import Event, Member, Membership
from ..rules._book import RuleBook
from ..rules._facts_api import LoggedEvent
from ..rules.kinds.referral_reward import ReferralReward
from ..rules.kinds.vote import Vote, tally
from ._invariants import Invariant, InvariantViolation

__all__ = ["ENGAGEMENT_INVARIANTS", "ledger_is_consistent", "rewards_paid_once", "vote_winners_are_top_n"]

_TICK = timedelta(microseconds=1)


def _violation(
    name: str, d: Decision | None, message: str, *, member: str | None = None
) -> InvariantViolation:
    return InvariantViolation(
        invariant=name,
        member=d.member if d is not None else member,
        group=d.group if d is not None else None,
        decision=d,
        explanation=d.reasons() if d is not None else "",
        message=message,
    )


def rewards_paid_once(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """Each referral_reward policy rewards a member at most once, and only when its
    condition held (the reward's own explanation passed)."""
    policies = {p.id for p in book.policies if isinstance(p, ReferralReward)}
    seen: dict[tuple[str, str | None], Decision] = {}
    found: list[InvariantViolation] = []
    for d in decisions:
        if d.policy not in policies or d.status != "applied" or d.action != "reward":
            continue
        first = seen.setdefault((d.policy, d.member), d)
        if first is not d:
            found.append(
                _violation(
                    "rewards_paid_once", d, f"a second reward (the first was at {first.at.isoformat()})"
                )
            )
        if d.explanation is not None and not d.explanation.passed:
            found.append(_violation("rewards_paid_once", d, "rewarded although the condition did not hold"))
    return found


def vote_winners_are_top_n(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """Each vote period's awards are exactly the top ``winners`` of the period's ballots
    by the documented order, recounted from the stored events. Who could be voted for is
    read from the memberships as they are now (joined by the period's end and not gone
    before it), so a member who left and came back around a period's end may be reported."""
    if events is None:
        return []
    votes = {p.id: p for p in book.policies if isinstance(p, Vote)}
    awards: dict[tuple[str, str, str], list[Decision]] = defaultdict(list)
    for d in decisions:
        if d.policy in votes and d.status == "applied" and d.action == "award" and d.group is not None:
            awards[(d.policy, d.group, d.period)].append(d)
    posts = {
        (d.policy, d.group, d.period)
        for d in decisions
        if d.policy in votes and d.status == "applied" and d.member is None and d.group is not None
    }
    found: list[InvariantViolation] = []
    for key in sorted(set(awards) | posts):
        policy_id, group, period = key
        policy = votes[policy_id]
        end = datetime.fromisoformat(period)
        previous = policy.schedule.previous_before(end, book.tz, policy.start) if policy.schedule else None
        start = previous + _TICK if previous is not None else policy.start
        logged = sorted(
            (
                LoggedEvent(member=e.member, at=e.at, value=e.value, data=e.data)
                for e in events
                if e.kind == policy.ballots
                and e.group == group
                and (start is None or e.at >= start)
                and e.at <= end
            ),
            key=lambda b: (b.at, b.member),
        )
        eligible = {
            ms.member
            for ms in memberships
            if ms.group == group
            and ms.joined_at <= end
            and all(t is None or t > end or t < ms.joined_at for t in (ms.left_at, ms.evicted_at))
        }
        expected = tally(
            logged,
            eligible=eligible,
            winners=policy.winners,
            ties=policy.ties,
            one_vote_per_member=policy.one_vote_per_member,
        )
        got = sorted(awards.get(key, []), key=lambda d: (d.rank or 0, d.member or ""))
        want = [(t.member, t.rank) for t in expected]
        have = [(d.member, d.rank) for d in got]
        if sorted(have, key=str) != sorted(want, key=str):
            first = got[0] if got else None
            found.append(
                _violation(
                    "vote_winners_are_top_n",
                    first,
                    f"period ending {period} in {group!r}: awarded {have}, the ballots give {want}",
                )
            )
    return found


def ledger_is_consistent(engine: Engine) -> list[InvariantViolation]:
    """The points ledger: no member's balance is ever negative (at any entry, in time
    order); every entry caused by a decision names an applied decision about that
    member; a member's balance is the sum of their entries."""
    ledger = engine.ledger()
    found: list[InvariantViolation] = []
    running: dict[str, float] = defaultdict(float)
    for entry in ledger:
        running[entry.member] += entry.points
        if running[entry.member] < 0:
            found.append(
                _violation(
                    "ledger_is_consistent",
                    None,
                    f"balance {running[entry.member]} after entry {entry.id} at {entry.at.isoformat()}",
                    member=entry.member,
                )
            )
        if entry.cause_type == "decision":
            cause = engine.store.get_decision(entry.cause)
            if cause is None or cause.status != "applied" or cause.member != entry.member:
                found.append(
                    _violation(
                        "ledger_is_consistent",
                        cause,
                        f"entry {entry.id} names decision {entry.cause!r}, not an applied one about "
                        f"{entry.member!r}",
                        member=entry.member,
                    )
                )
    for member, total in running.items():
        if engine.balance(member) != total:
            found.append(
                _violation(
                    "ledger_is_consistent",
                    None,
                    f"balance {engine.balance(member)} != sum {total}",
                    member=member,
                )
            )
    return found


ENGAGEMENT_INVARIANTS: tuple[Invariant, ...] = (rewards_paid_once, vote_winners_are_top_n)
"""The record-level engagement checks, to add to :data:`INVARIANTS` in
:func:`check_invariants`."""
