"""groupops: the operating rules of online communities, with reasons.

Host services feed groupops what happens in their groups (events) and get back
decisions with explanations: who may enter the paid group, who is warned and then
evicted at the end of a period, who may come back, who is promoted. Messaging and
storage plug in through pluggy hooks.

The public API is exactly the names in ``__all__``; everything else is private.
"""

from ._engine import Engine
from ._errors import (
    GroupOpsError,
    InputError,
    MissingExtraError,
    PluginError,
    Problem,
    RuleError,
    StoreError,
    UnknownGroupError,
    UnknownMemberError,
    UnknownPolicyError,
)
from ._examples import example_path
from ._funnel import FunnelRow, funnel
from ._groups import GroupCreation, Routing, create_group, route
from ._messaging import (
    ANY_ACTION,
    ConsoleMessenger,
    Messenger,
    Quota,
    Rate,
    RecordingMessenger,
    can_carry_out,
)
from ._model import (
    ACTIONS,
    Decision,
    DecisionSubject,
    Event,
    Family,
    Group,
    GroupChange,
    GroupStatus,
    LabelChange,
    LedgerEntry,
    Member,
    Membership,
    MembershipChange,
    Term,
    change_group,
    decision_id,
)
from ._outbox import Audience, OutboxMessage
from ._referrals import ReferralGeneration, ReferralTree, referral_tree
from ._reports import (
    CampaignReport,
    DeliveryReport,
    ExplainReport,
    IngestReport,
    Note,
    PluginFailure,
    Rejected,
    RunReport,
    Section,
    StandingItem,
    StandingReport,
    Waiting,
)
from .plugins._duckdb import DuckDBEvents
from .plugins._manager import registered_kinds
from .plugins._spark import spark_verdicts
from .plugins._store import Store
from .plugins._view import EngineView, ReadOnlyStore
from .plugins.hookspecs import hookimpl
from .plugins.memory import MemoryStore
from .plugins.sqlite import SQLiteStore
from .rules._book import RuleBook, dump_rule_book, load_rule_book, rule_book_schema
from .rules._compile import CompiledCondition, compile_condition
from .rules._conditions import (
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
from .rules._evaluate import Context, MetricFunction, evaluate
from .rules._explain import Explanation
from .rules._facts import Community, History
from .rules._facts_api import Facts, GroupActivity, GroupHealthFacts, MemoryFacts, StoreFacts, Subject
from .rules._policies import Admission, Eviction, Ladder, LadderStep, Revival, Welcome
from .rules._semantics import (
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
from .rules._sql import NotCompilable, SQLCondition, compile_sql
from .rules._time import Duration, Schedule, parse_duration
from .rules.kinds import (
    ActionSpec,
    Kind,
    KindRegistry,
    Point,
    PolicyBase,
    Runtime,
    ScheduledKind,
    ScheduledPolicy,
    StrategyContext,
    Verdict,
)
from .rules.kinds.broadcast import Broadcast
from .rules.kinds.campaign import Campaign
from .rules.kinds.capacity import Capacity, route_order
from .rules.kinds.composition import Composition, RoleShare, role_mix
from .rules.kinds.deadline import Deadline, deadline_moments
from .rules.kinds.digest import Digest
from .rules.kinds.dissolve import Dissolve
from .rules.kinds.handoff import Handoff, handoff_assignee
from .rules.kinds.health import GroupHealth, Health, group_health, health_score
from .rules.kinds.invite import Invite
from .rules.kinds.limit import Limit, limit_breach
from .rules.kinds.migrate import Migrate
from .rules.kinds.post import Post
from .rules.kinds.repurpose import Repurpose
from .rules.kinds.standing import Standing
from .rules.kinds.term import TermEnd, term_ends
from .rules.kinds.tier import Tier, TierMove, current_tier, tier_move
from .rules.kinds.violation import Penalty, Violation, offence_step

__version__ = "0.1.0"

__all__ = [
    "ACTIONS",
    "ANY_ACTION",
    "ActionSpec",
    "Admission",
    "AllOf",
    "AnyOf",
    "AtLeastOf",
    "Attr",
    "Audience",
    "Broadcast",
    "Campaign",
    "CampaignReport",
    "Capacity",
    "Community",
    "CompiledCondition",
    "Composition",
    "Condition",
    "ConsoleMessenger",
    "Context",
    "Count",
    "DaysSince",
    "Deadline",
    "Decision",
    "DecisionSubject",
    "DeliveryReport",
    "Digest",
    "Dissolve",
    "DistinctDays",
    "DuckDBEvents",
    "Duration",
    "Engine",
    "EngineView",
    "Event",
    "Eviction",
    "EvictionCheck",
    "ExplainReport",
    "Explanation",
    "Facts",
    "Family",
    "FunnelRow",
    "Group",
    "GroupActivity",
    "GroupChange",
    "GroupCreation",
    "GroupHealth",
    "GroupHealthFacts",
    "GroupOpsError",
    "GroupStatus",
    "Handoff",
    "Health",
    "History",
    "IngestReport",
    "InputError",
    "Invite",
    "Kind",
    "KindRegistry",
    "Label",
    "LabelChange",
    "Ladder",
    "LadderMove",
    "LadderStep",
    "LedgerEntry",
    "Limit",
    "Member",
    "MemberOf",
    "Membership",
    "MembershipChange",
    "MemoryFacts",
    "MemoryStore",
    "Messenger",
    "Metric",
    "MetricFunction",
    "Migrate",
    "MissingExtraError",
    "Not",
    "NotCompilable",
    "Note",
    "OutboxMessage",
    "Penalty",
    "Period",
    "PluginError",
    "PluginFailure",
    "Point",
    "PolicyBase",
    "Post",
    "Problem",
    "Quota",
    "Rate",
    "ReadOnlyStore",
    "RecordingMessenger",
    "ReferralGeneration",
    "ReferralTree",
    "Referrer",
    "Rejected",
    "Repurpose",
    "Revival",
    "Role",
    "RoleShare",
    "Routing",
    "RuleBook",
    "RuleError",
    "RunReport",
    "Runtime",
    "SQLCondition",
    "SQLiteStore",
    "Schedule",
    "ScheduledKind",
    "ScheduledPolicy",
    "Section",
    "Segment",
    "Source",
    "Standing",
    "StandingItem",
    "StandingReport",
    "Store",
    "StoreError",
    "StoreFacts",
    "StrategyContext",
    "Subject",
    "Sum",
    "Tenure",
    "Term",
    "TermEnd",
    "Tier",
    "TierMove",
    "UnknownGroupError",
    "UnknownMemberError",
    "UnknownPolicyError",
    "Verdict",
    "Violation",
    "Waiting",
    "Welcome",
    "__version__",
    "admission_check",
    "can_carry_out",
    "change_group",
    "compile_condition",
    "compile_sql",
    "create_group",
    "current_tier",
    "deadline_moments",
    "decision_id",
    "dump_rule_book",
    "evaluate",
    "eviction_check",
    "eviction_period",
    "eviction_periods",
    "example_path",
    "funnel",
    "group_health",
    "handoff_assignee",
    "health_score",
    "hookimpl",
    "in_grace",
    "ladder_move",
    "limit_breach",
    "load_rule_book",
    "offence_step",
    "parse_duration",
    "referral_tree",
    "registered_kinds",
    "revival_check",
    "revival_deadline",
    "revival_open",
    "role_mix",
    "route",
    "route_order",
    "rule_book_schema",
    "spark_verdicts",
    "term_ends",
    "tier_move",
    "welcome_due",
]
