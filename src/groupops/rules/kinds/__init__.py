"""Policy kinds: the registry and the five built-in kinds, one module each."""

from __future__ import annotations

from . import (
    admission,
    broadcast,
    campaign,
    eviction,
    handoff,
    invite,
    ladder,
    revival,
    standing,
    tier,
    welcome,
)
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
    "Verdict",
    "builtin_kinds",
]

BUILTIN_KINDS: tuple[Kind, ...] = (
    admission.KIND,
    eviction.KIND,
    revival.KIND,
    ladder.KIND,
    welcome.KIND,
    invite.KIND,
    broadcast.KIND,
    tier.KIND,
    handoff.KIND,
    campaign.KIND,
    standing.KIND,
)
"""The built-in kinds: the first five in the order the engine has always decided them,
then the segment kinds."""


def builtin_kinds() -> KindRegistry:
    """A registry of the built-in kinds only."""
    return KindRegistry(BUILTIN_KINDS)
