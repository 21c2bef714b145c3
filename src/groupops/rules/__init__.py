"""groupops.rules: the rule language, for evaluating conditions and policies outside an engine.

The public API is exactly the names in ``__all__`` (the modules in this package are
private; :mod:`groupops` holds what running rules needs: the engine, the rule book, the
domain types, stores, plugin hooks and errors):

- evaluation: :func:`evaluate` (an :class:`~groupops.Explanation`: whether a condition
  holds and why) and :func:`holds` (only whether; ``holds(c, ctx) ==
  evaluate(c, ctx).passed`` always), both in a :class:`Context`; :func:`compile_condition`
  compiles a condition once for an instant (:class:`CompiledCondition`); a plugin metric
  is a :class:`MetricFunction`; :class:`History` and :class:`Community` hold the events
  a context reads;
- conditions: :data:`Condition` (any of them) and its models, :class:`Count`,
  :class:`Sum`, :class:`DistinctDays`, :class:`DaysSince`, :class:`Tenure`,
  :class:`Label`, :class:`Attr`, :class:`Role`, :class:`Source`, :class:`Referrer`,
  :class:`MemberOf`, :class:`Metric`, :class:`Segment` and the combinators
  :class:`AllOf`, :class:`AnyOf`, :class:`AtLeastOf` and :class:`Not`;
- the built-in policies' models (:class:`Eviction`, :class:`Admission`, ...) and their
  semantics helpers: pure functions saying what a policy means for one subject at one
  moment (:func:`eviction_check`, :func:`in_grace`, :func:`revival_open`,
  :func:`welcome_due`, :func:`tier_move`, ...).

The semantics helpers take their arguments in one order: the **policy** first, then the
**subject** (a membership, a :class:`Context`, a member, groups), then the **moment**
(``at``, a ``period``, or ``after`` and ``until``), and the **time zone** last:
``eviction_period(policy, at, tz)``, ``in_grace(policy, membership, period, tz)``,
``revival_open(policy, membership, at, tz)``, ``term_ends(policy, groups, at, tz)``.

Everything here is pure (pydantic and dateutil): no store, no plugins, no clock.
"""

from .._public import publish as _publish
from ._compile import CompiledCondition, compile_condition
from ._conditions import (
    AllOf,
    AnyOf,
    AtLeastOf,
    Attr,
    Condition,
    Count,
    DaysSince,
    DistinctDays,
    Label,
    MemberOf,
    Metric,
    Not,
    Referrer,
    Role,
    Segment,
    Source,
    Sum,
    Tenure,
)
from ._evaluate import Context, MetricFunction, evaluate, holds
from ._explain import Explanation
from ._facts import Community, History
from ._policies import Admission, Eviction, Ladder, LadderStep, Revival, Welcome
from ._semantics import (
    EvictionCheck,
    LadderMove,
    Period,
    admission_check,
    eviction_check,
    eviction_period,
    eviction_periods,
    in_grace,
    ladder_move,
    revival_check,
    revival_deadline,
    revival_open,
    welcome_due,
)
from ._spark import spark_verdicts
from ._sql import SQLCondition, compile_sql
from .kinds.broadcast import Broadcast
from .kinds.campaign import Campaign
from .kinds.capacity import Capacity, route_order
from .kinds.composition import Composition, RoleShare, role_mix
from .kinds.deadline import Deadline, deadline_moments
from .kinds.digest import Digest
from .kinds.dissolve import Dissolve
from .kinds.handoff import Handoff, handoff_assignee
from .kinds.health import GroupHealth, Health, group_health, health_score
from .kinds.invite import Invite
from .kinds.limit import Limit, limit_breach
from .kinds.migrate import Migrate
from .kinds.post import Post
from .kinds.repurpose import Repurpose
from .kinds.standing import Standing
from .kinds.term import TermEnd, term_ends
from .kinds.tier import Tier, TierMove, current_tier, tier_move
from .kinds.violation import Penalty, Violation, offence_step

__all__ = [
    "Admission",
    "AllOf",
    "AnyOf",
    "AtLeastOf",
    "Attr",
    "Broadcast",
    "Campaign",
    "Capacity",
    "Community",
    "CompiledCondition",
    "Composition",
    "Condition",
    "Context",
    "Count",
    "DaysSince",
    "Deadline",
    "Digest",
    "Dissolve",
    "DistinctDays",
    "Eviction",
    "EvictionCheck",
    "Explanation",
    "GroupHealth",
    "Handoff",
    "Health",
    "History",
    "Invite",
    "Label",
    "Ladder",
    "LadderMove",
    "LadderStep",
    "Limit",
    "MemberOf",
    "Metric",
    "MetricFunction",
    "Migrate",
    "Not",
    "Penalty",
    "Period",
    "Post",
    "Referrer",
    "Repurpose",
    "Revival",
    "Role",
    "RoleShare",
    "SQLCondition",
    "Segment",
    "Source",
    "Standing",
    "Sum",
    "Tenure",
    "TermEnd",
    "Tier",
    "TierMove",
    "Violation",
    "Welcome",
    "admission_check",
    "compile_condition",
    "compile_sql",
    "current_tier",
    "deadline_moments",
    "evaluate",
    "eviction_check",
    "eviction_period",
    "eviction_periods",
    "group_health",
    "handoff_assignee",
    "health_score",
    "holds",
    "in_grace",
    "ladder_move",
    "limit_breach",
    "offence_step",
    "revival_check",
    "revival_deadline",
    "revival_open",
    "role_mix",
    "route_order",
    "spark_verdicts",
    "term_ends",
    "tier_move",
    "welcome_due",
]

_publish(globals(), __all__, __name__)
