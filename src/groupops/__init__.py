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
from ._groups import GroupCreation, create_group
from ._messaging import ANY_ACTION, ConsoleMessenger, Messenger, Quota, RecordingMessenger, can_carry_out
from ._model import (
    ACTIONS,
    Decision,
    DecisionSubject,
    Event,
    Family,
    Group,
    GroupChange,
    GroupStatus,
    Member,
    Membership,
    MembershipChange,
    Term,
    change_group,
    decision_id,
)
from ._outbox import Audience, OutboxMessage
from ._reports import (
    DeliveryReport,
    ExplainReport,
    IngestReport,
    Note,
    PluginFailure,
    Rejected,
    RunReport,
    Section,
)
from .plugins._manager import registered_kinds
from .plugins._store import Store
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
    Metric,
    Not,
    Role,
    Sum,
    Tenure,
)
from .rules._evaluate import Context, MetricFunction, evaluate
from .rules._explain import Explanation
from .rules._facts import Community, History
from .rules._facts_api import Facts, GroupActivity, MemoryFacts, StoreFacts, Subject
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
    "Community",
    "CompiledCondition",
    "Condition",
    "ConsoleMessenger",
    "Context",
    "Count",
    "DaysSince",
    "Decision",
    "DecisionSubject",
    "DeliveryReport",
    "DistinctDays",
    "Duration",
    "Engine",
    "Event",
    "Eviction",
    "EvictionCheck",
    "ExplainReport",
    "Explanation",
    "Facts",
    "Family",
    "Group",
    "GroupActivity",
    "GroupChange",
    "GroupCreation",
    "GroupOpsError",
    "GroupStatus",
    "History",
    "IngestReport",
    "InputError",
    "Kind",
    "KindRegistry",
    "Label",
    "Ladder",
    "LadderMove",
    "LadderStep",
    "Member",
    "Membership",
    "MembershipChange",
    "MemoryFacts",
    "MemoryStore",
    "Messenger",
    "Metric",
    "MetricFunction",
    "MissingExtraError",
    "Not",
    "Note",
    "OutboxMessage",
    "Period",
    "PluginError",
    "PluginFailure",
    "Point",
    "PolicyBase",
    "Problem",
    "Quota",
    "RecordingMessenger",
    "Rejected",
    "Revival",
    "Role",
    "RuleBook",
    "RuleError",
    "RunReport",
    "Runtime",
    "SQLiteStore",
    "Schedule",
    "ScheduledKind",
    "ScheduledPolicy",
    "Section",
    "Store",
    "StoreError",
    "StoreFacts",
    "StrategyContext",
    "Subject",
    "Sum",
    "Tenure",
    "Term",
    "UnknownGroupError",
    "UnknownMemberError",
    "UnknownPolicyError",
    "Verdict",
    "Welcome",
    "__version__",
    "admission_check",
    "can_carry_out",
    "change_group",
    "compile_condition",
    "create_group",
    "decision_id",
    "dump_rule_book",
    "evaluate",
    "eviction_check",
    "eviction_period",
    "eviction_periods",
    "example_path",
    "hookimpl",
    "in_grace",
    "ladder_move",
    "load_rule_book",
    "parse_duration",
    "registered_kinds",
    "revival_check",
    "revival_deadline",
    "revival_open",
    "rule_book_schema",
    "welcome_due",
]
