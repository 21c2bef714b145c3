"""Policy kinds: the registry and the five built-in kinds, one module each."""

from __future__ import annotations

from . import admission, eviction, ladder, revival, welcome
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
)
"""The five built-in kinds, in the order the engine has always decided them."""


def builtin_kinds() -> KindRegistry:
    """A registry of the built-in kinds only."""
    return KindRegistry(BUILTIN_KINDS)
