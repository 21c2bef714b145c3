"""Invariants of membership constraints (issue 12): limits, capacity, removal.

Each is a record-level check with the :class:`~groupops.testing.Invariant` signature;
:data:`MEMBERSHIP_INVARIANTS` holds them all, to pass to
:func:`~groupops.testing.check_invariants` (``invariants=(*INVARIANTS,
*MEMBERSHIP_INVARIANTS)``). Groups are known from the rule book: groups created at run
time are not judged (their kind and capacity are the store's)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from .._decision import Decision
from .._model import Event, Member, Membership
from ..rules._book import RuleBook
from ..rules.kinds.capacity import Capacity
from ..rules.kinds.limit import Limit
from ._invariants import InvariantViolation, _applied, _violation

__all__ = ["MEMBERSHIP_INVARIANTS", "removed_never_revived", "within_capacity", "within_limits"]


def _state(ms: Membership, message: str, invariant: str) -> InvariantViolation:
    return InvariantViolation(
        invariant=invariant, member=ms.member, group=ms.group, decision=None, explanation="", message=message
    )


def within_limits(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """Once a run has acted on every join, no member is present in more of the book's
    groups of one kind than a ``limit`` policy's ``max`` allows, nor in more groups of
    one family than its ``per_family``."""
    limits = [p for p in book.policies if isinstance(p, Limit)]
    groups = {g.id: g for g in book.groups}
    out: list[InvariantViolation] = []
    held: dict[str, list[Membership]] = defaultdict(list)
    for ms in memberships:
        if ms.present and ms.group in groups:
            held[ms.member].append(ms)
    for policy in limits:
        for member, present in sorted(held.items()):
            present = [ms for ms in present if not policy.groups or ms.group in policy.groups]
            by_kind = Counter(groups[ms.group].kind for ms in present)
            by_family = Counter(groups[ms.group].family for ms in present if groups[ms.group].family)
            for kind, n in sorted(by_kind.items()):
                most = policy.max.get(kind)
                if most is not None and n > most:
                    out.append(
                        _state(
                            present[0],
                            f"{member!r} is in {n} {kind} groups; {policy.id!r} allows {most}",
                            "within_limits",
                        )
                    )
            for family, n in sorted(by_family.items(), key=lambda kv: str(kv[0])):
                if policy.per_family is not None and n > policy.per_family:
                    out.append(
                        _state(
                            present[0],
                            f"{member!r} is in {n} groups of family {family!r}; "
                            f"{policy.id!r} allows {policy.per_family}",
                            "within_limits",
                        )
                    )
    return out


def within_capacity(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """Once a run has acted on every join, no group a ``capacity`` policy keeps holds
    more present members than its ``capacity``."""
    policies = [p for p in book.policies if isinstance(p, Capacity)]
    if not policies:
        return []
    kept = {
        g.id: g.capacity
        for g in book.groups
        if g.capacity is not None and any(not p.groups or g.id in p.groups for p in policies)
    }
    present = Counter(ms.group for ms in memberships if ms.present and ms.group in kept)
    return [
        InvariantViolation(
            invariant="within_capacity",
            member=None,
            group=gid,
            decision=None,
            explanation="",
            message=f"{n} present members; capacity {kept[gid]}",
        )
        for gid, n in sorted(present.items())
        if n > (kept[gid] or 0)
    ]


def removed_never_revived(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """No ``revive`` follows a removal (``remove`` or ``refuse``) of the same membership,
    unless the member joined again in between (a ``joined`` event, when ``events`` are
    given)."""
    removals: dict[tuple[str | None, str | None], list[Decision]] = defaultdict(list)
    applied = sorted(_applied(decisions), key=lambda d: d.at)
    joins: dict[tuple[str, str | None], list[Event]] = defaultdict(list)
    for e in events or ():
        if e.kind == "joined":
            joins[(e.member, e.group)].append(e)
    out: list[InvariantViolation] = []
    for d in applied:
        key = (d.member, d.group)
        if d.action in ("remove", "refuse"):
            removals[key].append(d)
        elif d.action == "revive" and removals[key]:
            last = removals[key][-1]
            rejoined = any(last.at <= e.at <= d.at for e in joins.get((d.member or "", d.group), []))
            if not rejoined:
                out.append(
                    _violation(
                        "removed_never_revived", d, f"revived after its removal at {last.at.isoformat()}"
                    )
                )
    return out


MEMBERSHIP_INVARIANTS = (within_limits, within_capacity, removed_never_revived)
"""The membership-constraint checks, in order."""
