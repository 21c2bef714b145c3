"""Invariant checks for group operations (issue 15), in the signature of
:class:`~groupops.testing.Invariant`: ``(book, decisions, memberships, *, events,
members)`` returning the violations.

- :func:`nothing_decided_after_dissolution`: no decision about a group at or after the
  decision that dissolved it (but that one);
- :func:`health_changes_once`: per health policy and group, state decisions at distinct
  moments, each a change (never dormant and dead at once, never the same twice running);
- :func:`migration_invites_repliers`: a migration that ended invited exactly the members
  who replied in its window.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from .._decision import Decision
from .._engine import Engine
from .._model import Event, Member, Membership
from ..rules._book import RuleBook
from ..rules.kinds.health import Health
from ..rules.kinds.migrate import Migrate, repliers
from ._invariants import InvariantViolation, _applied, check_invariants

__all__ = [
    "GROUP_INVARIANTS",
    "check_group_invariants",
    "health_changes_once",
    "migration_invites_repliers",
    "nothing_decided_after_dissolution",
]

_STATES = ("group_active", "group_dormant", "group_dead")


def nothing_decided_after_dissolution(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """No decision about a group dated at or after its ``dissolve`` decision."""
    made = _applied(decisions)
    ended: dict[str, Decision] = {}
    for d in made:
        if d.action == "dissolve" and d.member is None and d.group is not None:
            ended.setdefault(d.group, d)
    out = []
    for d in made:
        end = ended.get(d.group) if d.group is not None else None
        if end is not None and d.id != end.id and d.at >= end.at:
            out.append(
                InvariantViolation(
                    "nothing_decided_after_dissolution",
                    d.member,
                    d.group,
                    d,
                    "",
                    f"{d.action} at {d.at.isoformat()}, the group was dissolved at {end.at.isoformat()}",
                )
            )
    return out


def health_changes_once(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """Per health policy and group: one state decision per moment, each a change from
    the one before (a group starts active)."""
    policies = {p.id for p in book.policies if isinstance(p, Health)}
    by_key: dict[tuple[str, str | None], list[Decision]] = defaultdict(list)
    for d in _applied(decisions):
        if d.policy in policies and d.action in _STATES:
            by_key[(d.policy, d.group)].append(d)
    out = []
    for (_, group), made in by_key.items():
        made.sort(key=lambda d: d.at)
        before: str = "group_active"
        last_at = None
        for d in made:
            if d.at == last_at:
                out.append(
                    InvariantViolation("health_changes_once", None, group, d, "", "two states at one moment")
                )
            elif d.action == before:
                out.append(
                    InvariantViolation(
                        "health_changes_once",
                        None,
                        group,
                        d,
                        "",
                        f"{d.action} again without a change between",
                    )
                )
            before, last_at = d.action, d.at
    return out


def migration_invites_repliers(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """A migration whose window ended (its ``dissolve`` was decided) invited exactly the
    members whose reply is in ``[start, start + window]`` (needs ``events``)."""
    if events is None:
        return []
    made = _applied(decisions)
    out = []
    for p in book.policies:
        if not isinstance(p, Migrate):
            continue
        if not any(d.policy == p.id and d.action == "dissolve" for d in made):
            continue
        end = p.window.after(p.start, book.tz)
        window = sorted(
            (e for e in events if e.group == p.from_ and e.kind == p.replies and p.start <= e.at <= end),
            key=lambda e: (e.at, e.id),
        )
        want = set(repliers(window, p.reply))
        invited = {
            d.member for d in made if d.policy == p.id and d.action == "invite" and d.member is not None
        }
        for who, what in (
            (want - invited, "replied in the window, not invited"),
            (invited - want, "invited without a reply in the window"),
        ):
            out += [
                InvariantViolation("migration_invites_repliers", member, p.from_, None, "", what)
                for member in sorted(who)
            ]
    return out


GROUP_INVARIANTS = (nothing_decided_after_dissolution, health_changes_once, migration_invites_repliers)
"""The group operations checks, in the order :func:`check_group_invariants` runs them."""


def check_group_invariants(engine: Engine) -> list[InvariantViolation]:
    """Run :data:`GROUP_INVARIANTS` against an engine's store."""
    return check_invariants(engine, at_times=(), invariants=GROUP_INVARIANTS)
