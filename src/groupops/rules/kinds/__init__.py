"""Policy kinds: the registry and the five built-in kinds, one module each."""

from __future__ import annotations

from . import admission, duty, eviction, ladder, points, referral_reward, revival, vote, welcome
from ._registry import (
    ActionSpec,
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
    points.KIND,
    referral_reward.KIND,
    vote.KIND,
    duty.KIND,
)
"""The built-in kinds: the first five in the order the engine has always decided them,
then the engagement kinds."""


def builtin_kinds() -> KindRegistry:
    """A registry of the built-in kinds only."""
    return KindRegistry(BUILTIN_KINDS)
