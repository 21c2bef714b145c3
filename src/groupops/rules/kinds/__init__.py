"""Policy kinds: the registry and the built-in kinds, one module each."""

from __future__ import annotations

from . import (
    admission,
    broadcast,
    campaign,
    capacity,
    composition,
    deadline,
    digest,
    dissolve,
    duty,
    eviction,
    handoff,
    health,
    invite,
    ladder,
    limit,
    migrate,
    points,
    post,
    referral_reward,
    repurpose,
    revival,
    standing,
    term,
    tier,
    violation,
    vote,
    welcome,
)
from ._registry import (
    ActionSpec,
    BookRefs,
    Kind,
    KindRegistry,
    Point,
    PolicyBase,
    Register,
    Runtime,
    ScheduledKind,
    ScheduledPolicy,
    StrategyContext,
    Verdict,
)

__all__ = [
    "BUILTIN_KINDS",
    "ActionSpec",
    "BookRefs",
    "Kind",
    "KindRegistry",
    "Point",
    "PolicyBase",
    "Register",
    "Runtime",
    "ScheduledKind",
    "ScheduledPolicy",
    "StrategyContext",
    "Verdict",
    "builtin_kinds",
]

BUILTIN_KINDS: tuple[Kind, ...] = (
    admission.KIND,
    eviction.KIND,
    revival.KIND,
    ladder.KIND,
    welcome.KIND,
    violation.KIND,
    limit.KIND,
    deadline.KIND,
    capacity.KIND,
    term.KIND,
    points.KIND,
    referral_reward.KIND,
    vote.KIND,
    duty.KIND,
    invite.KIND,
    broadcast.KIND,
    tier.KIND,
    handoff.KIND,
    campaign.KIND,
    standing.KIND,
    digest.KIND,
    dissolve.KIND,
    health.KIND,
    post.KIND,
    repurpose.KIND,
    migrate.KIND,
    composition.KIND,
)
"""The built-in kinds: the first five in the order the engine has always decided them, then
the newer ones in the order they were added."""


def builtin_kinds() -> KindRegistry:
    """A registry of the built-in kinds only."""
    return KindRegistry(BUILTIN_KINDS)
