"""Names that left the top level of :mod:`groupops` (issue 17): importable from it for
one more release, each access warning with a :class:`DeprecationWarning` that names the
new path. docs/engine.md ("Public API") lists them; tests/test_exported_members.py checks
every one warns and is the object at its new path."""

from __future__ import annotations

import importlib
import warnings
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._model import Group
    from .rules import Eviction, Period, TermEnd

_TO_RULES = (
    # evaluation
    "CompiledCondition",
    "Community",
    "Context",
    "History",
    "MetricFunction",
    "compile_condition",
    "evaluate",
    # conditions
    "AllOf",
    "AnyOf",
    "AtLeastOf",
    "Attr",
    "Condition",
    "Count",
    "DaysSince",
    "DistinctDays",
    "Label",
    "MemberOf",
    "Metric",
    "Not",
    "Referrer",
    "Role",
    "Segment",
    "Source",
    "Sum",
    "Tenure",
    # the built-in policies' models
    "Admission",
    "Broadcast",
    "Campaign",
    "Capacity",
    "Composition",
    "Deadline",
    "Digest",
    "Dissolve",
    "Eviction",
    "Handoff",
    "Health",
    "Invite",
    "Ladder",
    "LadderStep",
    "Limit",
    "Migrate",
    "Penalty",
    "Post",
    "Repurpose",
    "Revival",
    "Standing",
    "TermEnd",
    "Tier",
    "Violation",
    "Welcome",
    # semantics helpers and what they return
    "EvictionCheck",
    "GroupHealth",
    "LadderMove",
    "Period",
    "RoleShare",
    "TierMove",
    "admission_check",
    "current_tier",
    "deadline_moments",
    "eviction_check",
    "eviction_period",
    "eviction_periods",
    "group_health",
    "handoff_assignee",
    "health_score",
    "in_grace",
    "ladder_move",
    "limit_breach",
    "offence_step",
    "revival_check",
    "revival_deadline",
    "revival_open",
    "role_mix",
    "route_order",
    "term_ends",
    "tier_move",
    "welcome_due",
)

MOVED: dict[str, str] = {
    **dict.fromkeys(_TO_RULES, "groupops.rules"),
    "RecordingMessenger": "groupops.testing",
}
"""Each name that moved, and the namespace that holds it now."""

REMOVED: dict[str, str] = {
    "ACTIONS": "actions are registered by kinds: ask the engine's registry "
    "(engine.kinds.action_names(), engine.kinds.action(name))",
}
"""Each name that goes with no new home, and what to use instead."""


def _eviction_period(policy: Eviction, tz: tzinfo, at: datetime) -> Period | None:
    from .rules import eviction_period

    return eviction_period(policy, at, tz)


def _eviction_periods(policy: Eviction, tz: tzinfo, after: datetime, until: datetime) -> list[Period]:
    from .rules import eviction_periods

    return eviction_periods(policy, after, until, tz)


def _term_ends(policy: TermEnd, groups: list[Group], tz: tzinfo, at: datetime) -> list[tuple[datetime, str]]:
    from .rules import term_ends

    return term_ends(policy, groups, at, tz)


# the helpers whose arguments were put in the one order (policy, subject, moment, time
# zone): the old top-level names keep their old order until they go
OLD_ORDER = {
    "eviction_period": ("(policy, at, tz)", _eviction_period),
    "eviction_periods": ("(policy, after, until, tz)", _eviction_periods),
    "term_ends": ("(policy, groups, at, tz)", _term_ends),
}


def alias(name: str) -> object:
    """The object a deprecated top-level ``name`` stands for, after warning; an
    :class:`AttributeError` for a name groupops never had."""
    if name in REMOVED:
        from . import _model

        warnings.warn(
            f"groupops.{name} is deprecated and will be removed: {REMOVED[name]}",
            DeprecationWarning,
            stacklevel=3,
        )
        return getattr(_model, name)
    module = MOVED.get(name)
    if module is None:
        raise AttributeError(f"module 'groupops' has no attribute {name!r}")
    message = f"groupops.{name} is deprecated and will be removed: import it from {module} ({module}.{name})"
    if name in OLD_ORDER:
        order, old = OLD_ORDER[name]
        warnings.warn(
            f"{message}, which takes {order}; groupops.{name} keeps the old order until it goes",
            DeprecationWarning,
            stacklevel=3,
        )
        return old
    warnings.warn(message, DeprecationWarning, stacklevel=3)
    return getattr(importlib.import_module(module), name)
