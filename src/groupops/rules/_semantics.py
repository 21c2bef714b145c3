"""The pure meaning of the built-in policy types, now in their kind modules
(:mod:`groupops.rules.kinds`); re-exported here where they were always imported from."""

from __future__ import annotations

from .kinds.admission import admission_check
from .kinds.eviction import (
    MAX_CATCH_UP,
    EvictionCheck,
    Period,
    eviction_check,
    eviction_period,
    eviction_periods,
    in_grace,
)
from .kinds.ladder import LadderMove, ladder_move
from .kinds.revival import revival_check, revival_deadline, revival_open
from .kinds.welcome import welcome_due

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
