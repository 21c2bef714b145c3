"""Invariant checks for the segment kinds (issue 13): broadcasts, invitations, tiers and
handoffs, in the shape of :data:`~groupops.testing.INVARIANTS` (and run by
:func:`~groupops.testing.check_invariants` by default)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from .._decision import Decision
from .._model import Event, Member, Membership
from ..rules._book import RuleBook
from ..rules.kinds.broadcast import Broadcast
from ..rules.kinds.handoff import Handoff
from ..rules.kinds.invite import Invite
from ..rules.kinds.tier import Tier
from ._invariants import InvariantViolation, _decided, _policies, _violation

__all__ = [
    "SEGMENT_INVARIANTS",
    "handoff_at_most_once",
    "invited_at_most_twice",
    "one_message_per_broadcast",
    "tier_label_in_set",
]


def one_message_per_broadcast(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """No member gets two messages of one broadcast: at most one ``broadcast`` decision
    per policy, member and occurrence, however many segments the member is in."""
    made = [d for d, _ in _decided(decisions, _policies(book, Broadcast), ("broadcast",))]
    seen = Counter((d.policy, d.member, d.at) for d in made)
    return [
        _violation(
            "one_message_per_broadcast", d, f"broadcast {seen[(d.policy, d.member, d.at)]} times at {d.at}"
        )
        for d in made
        if seen[(d.policy, d.member, d.at)] > 1 and d.period == d.at.isoformat()
    ]


def invited_at_most_twice(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """An ``invite`` policy invites a member at most twice (the invitation and, with
    ``expires``, one reminder no sooner than ``expires`` after it), once without."""
    policies = _policies(book, Invite)
    out: list[InvariantViolation] = []
    by_member: dict[tuple[str, str | None], list[Decision]] = {}
    for d, _ in _decided(decisions, policies, ("invite",)):
        by_member.setdefault((d.policy, d.member), []).append(d)
    for (pid, _), made in by_member.items():
        policy = policies[pid]
        assert isinstance(policy, Invite)
        allowed = 1 if policy.expires is None else 2
        if len(made) > allowed:
            out.append(
                _violation("invited_at_most_twice", made[-1], f"invited {len(made)} times; at most {allowed}")
            )
        first = min(made, key=lambda d: d.at)
        for d in made:
            if (
                d is not first
                and policy.expires is not None
                and d.at < policy.expires.after(first.at, book.tz)
            ):
                out.append(
                    _violation("invited_at_most_twice", d, f"invited again before {policy.expires} passed")
                )
    return out


def tier_label_in_set(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """A tier label is always one of the set: every ``tier`` decision moves to a label of
    its policy, and a member a tier policy decided on holds exactly one of its labels."""
    policies = _policies(book, Tier)
    out: list[InvariantViolation] = []
    profiles = {m.id: m for m in members}
    last: dict[tuple[str, str | None], Decision] = {}
    for d, policy in _decided(decisions, policies, ("tier",)):
        if d.to_role not in policy.labels:
            out.append(
                _violation(
                    "tier_label_in_set", d, f"moved to {d.to_role!r}, not one of {list(policy.labels)}"
                )
            )
        last[(d.policy, d.member)] = d
    for (pid, member), d in last.items():
        policy = policies[pid]
        assert isinstance(policy, Tier)
        profile = profiles.get(member or "")
        if profile is None:
            continue
        held = [x for x in profile.labels if x in policy.labels]
        if held != [d.to_role]:
            out.append(
                _violation(
                    "tier_label_in_set", d, f"holds {held} of {list(policy.labels)}, not [{d.to_role!r}]"
                )
            )
    return out


def handoff_at_most_once(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """A ``handoff`` policy hands a member to sales at most once, ever."""
    made = [d for d, _ in _decided(decisions, _policies(book, Handoff), ("handoff",))]
    seen = Counter((d.policy, d.member) for d in made)
    return [
        _violation("handoff_at_most_once", d, f"handed off {seen[(d.policy, d.member)]} times")
        for d in made
        if seen[(d.policy, d.member)] > 1
    ]


SEGMENT_INVARIANTS = (
    one_message_per_broadcast,
    invited_at_most_twice,
    tier_label_in_set,
    handoff_at_most_once,
)
"""The segment kinds' checks, in the order :func:`check_invariants` runs them (after the
others)."""
