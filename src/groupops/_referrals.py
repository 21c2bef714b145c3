"""The referral tree ("fission"): who referred whom, generation by generation, beside the
S = m·2ⁿ plan operators grow by.

Edges come from member profiles (``referrer``) and from ``referral`` events (the event's
member referred ``data.referee``), a profile winning over an event for the same referee.
Profiles cannot form a cycle (ingest rejects one); an event edge that would close a cycle
is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from ._model import Event, Member

__all__ = ["REFERRAL_EVENT", "ReferralGeneration", "ReferralTree", "referral_edges", "referral_tree"]

REFERRAL_EVENT = "referral"
"""The event kind whose ``data.referee`` names a member the event's member referred."""


def referral_edges(members: Iterable[Member], events: Iterable[Event] = ()) -> dict[str, str]:
    """Each referred member's referrer: from profiles, then from ``referral`` events
    (``data.referee``) for members whose profile names none, in time order; an event
    edge that would close a cycle, or name the member itself, is left out."""
    referrer_of = {m.id: m.referrer for m in members if m.referrer is not None}
    for e in sorted((e for e in events if e.kind == REFERRAL_EVENT), key=lambda e: (e.at, e.id)):
        referee = e.data.get("referee")
        if not isinstance(referee, str) or not referee.strip() or referee in referrer_of:
            continue
        if not _closes_cycle(referee, e.member, referrer_of):
            referrer_of[referee] = e.member
    return referrer_of


def _closes_cycle(referee: str, referrer: str, referrer_of: Mapping[str, str]) -> bool:
    seen: set[str] = set()
    current: str | None = referrer
    while current is not None and current not in seen:
        if current == referee:
            return True
        seen.add(current)
        current = referrer_of.get(current)
    return False


def referees_of(referrer_of: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Each referrer's referees, sorted."""
    found: dict[str, list[str]] = {}
    for referee, referrer in referrer_of.items():
        found.setdefault(referrer, []).append(referee)
    return {r: tuple(sorted(ids)) for r, ids in found.items()}


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReferralGeneration(_Value):
    """One generation of the tree: ``generation`` 0 is the seeds (members who referred
    someone and were referred by nobody); ``size`` members in it; ``referrers`` of them
    referred at least one member; ``conversion`` is ``referrers / size``; ``planned`` is
    the plan's size for this generation, ``m·2^generation``."""

    generation: int
    size: int
    referrers: int
    conversion: float
    planned: int


class ReferralTree(_Value):
    """The referral tree's shape beside the S = m·2ⁿ plan.

    ``seeds`` is m (members who referred someone and were referred by nobody), ``depth``
    is n (the deepest generation), ``generations`` each generation from the seeds down,
    ``members`` everyone in the tree (seeds and referees), ``planned`` is S = m·2ⁿ (the
    plan's last generation: every member of every generation bringing exactly two) and
    ``planned_members`` the plan's whole tree, m·(2ⁿ⁺¹ − 1). ``generation_of`` says
    which generation each member is in."""

    seeds: int
    depth: int
    generations: tuple[ReferralGeneration, ...]
    members: int
    planned: int
    planned_members: int
    generation_of: dict[str, int]

    def rows(self) -> list[dict[str, Any]]:
        """The table: one row per generation (JSON-ready)."""
        return [g.model_dump() for g in self.generations]


def referral_tree(members: Iterable[Member], events: Iterable[Event] = ()) -> ReferralTree:
    """The referral tree of ``members`` (and ``referral`` events): sizes per generation,
    depth, conversion, and the S = m·2ⁿ plan for the observed m and n."""
    referrer_of = referral_edges(members, events)
    children = referees_of(referrer_of)
    seeds = sorted(r for r in children if r not in referrer_of)
    generation_of: dict[str, int] = {}
    frontier = seeds
    depth = -1
    while frontier:
        depth += 1
        for member in frontier:
            generation_of[member] = depth
        frontier = sorted({c for x in frontier for c in children.get(x, ()) if c not in generation_of})
    m = len(seeds)
    generations = []
    for g in range(depth + 1):
        in_g = [x for x, gen in generation_of.items() if gen == g]
        referrers = sum(1 for x in in_g if x in children)
        generations.append(
            ReferralGeneration(
                generation=g,
                size=len(in_g),
                referrers=referrers,
                conversion=referrers / len(in_g) if in_g else 0.0,
                planned=m * 2**g,
            )
        )
    n = max(depth, 0)
    return ReferralTree(
        seeds=m,
        depth=n,
        generations=tuple(generations),
        members=len(generation_of),
        planned=m * 2**n,
        planned_members=m * (2 ** (n + 1) - 1),
        generation_of=generation_of,
    )
