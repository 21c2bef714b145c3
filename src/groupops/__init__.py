"""groupops: the operating rules of online communities, with reasons.

Host services feed groupops what happens in their groups (events) and get back
decisions with explanations: who may enter the paid group, who is warned and then
evicted at the end of a period, who may come back, who is promoted. Messaging and
storage plug in through pluggy hooks.

The public API is exactly the names in ``__all__`` here, in :mod:`groupops.rules` and in
:mod:`groupops.testing`; everything else is private:

- ``groupops``: running rules. The :class:`Engine`, the :class:`RuleBook` (load, dump,
  schema), the domain types (:class:`Member`, :class:`Group`, :class:`Membership`,
  :class:`Event`, :class:`Decision`, ...), stores, messengers, plugin hooks and the kind
  plugin API, the engine's reports, host helpers (:func:`create_group`,
  :func:`funnel`, :func:`referral_tree`) and errors.
- :mod:`groupops.rules`: the rule language, for evaluating outside an engine:
  :func:`~groupops.rules.evaluate`, :func:`~groupops.rules.holds`, the conditions, the
  built-in policies' models and their semantics helpers.
- :mod:`groupops.testing`: test doubles, Hypothesis strategies, invariants and the store
  contract.

Names that left the top level (see docs/engine.md, "Public API") stay importable from
it for one release and warn with a :class:`DeprecationWarning` naming their new path.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from . import _deprecated

# rules before _decision (as sorted): a Decision carries an explanation from the
# rules, whose kinds make Decisions; loading the rules package first keeps it one-way
from . import rules as rules
from ._decision import Decision, DecisionHead, DecisionSubject, decision_id
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
    can_carry_out,
)
from ._model import (
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
)
from ._outbox import Audience, OutboxMessage
from ._public import publish as _publish
from ._records import InputRecord, read_records
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
from ._time import Duration, Schedule, parse_duration
from .plugins._duckdb import DuckDBEvents
from .plugins._manager import registered_kinds
from .plugins._store import Store
from .plugins._view import EngineView, ReadOnlyStore
from .plugins.hookspecs import hookimpl
from .plugins.memory import MemoryStore
from .plugins.sqlite import SQLiteStore
from .rules._book import RuleBook, dump_rule_book, load_rule_book, rule_book_schema
from .rules._explain import Explanation
from .rules._facts_api import Facts, GroupActivity, GroupHealthFacts, MemoryFacts, StoreFacts, Subject
from .rules._sql import NotCompilable
from .rules.kinds import (
    ActionSpec,
    BookRefs,
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
    "ANY_ACTION",
    "ActionSpec",
    "Audience",
    "BookRefs",
    "CampaignReport",
    "ConsoleMessenger",
    "Decision",
    "DecisionHead",
    "DecisionSubject",
    "DeliveryReport",
    "DuckDBEvents",
    "Duration",
    "Engine",
    "EngineView",
    "Event",
    "ExplainReport",
    "Explanation",
    "Facts",
    "Family",
    "FunnelRow",
    "Group",
    "GroupActivity",
    "GroupChange",
    "GroupCreation",
    "GroupHealthFacts",
    "GroupOpsError",
    "GroupStatus",
    "IngestReport",
    "InputError",
    "InputRecord",
    "Kind",
    "KindRegistry",
    "LabelChange",
    "LedgerEntry",
    "Member",
    "Membership",
    "MembershipChange",
    "MemoryFacts",
    "MemoryStore",
    "Messenger",
    "MissingExtraError",
    "NotCompilable",
    "Note",
    "OutboxMessage",
    "PluginError",
    "PluginFailure",
    "Point",
    "PolicyBase",
    "Problem",
    "Quota",
    "Rate",
    "ReadOnlyStore",
    "ReferralGeneration",
    "ReferralTree",
    "Rejected",
    "Routing",
    "RuleBook",
    "RuleError",
    "RunReport",
    "Runtime",
    "SQLiteStore",
    "Schedule",
    "ScheduledKind",
    "ScheduledPolicy",
    "Section",
    "StandingItem",
    "StandingReport",
    "Store",
    "StoreError",
    "StoreFacts",
    "StrategyContext",
    "Subject",
    "Term",
    "UnknownGroupError",
    "UnknownMemberError",
    "UnknownPolicyError",
    "Verdict",
    "Waiting",
    "__version__",
    "can_carry_out",
    "change_group",
    "create_group",
    "decision_id",
    "dump_rule_book",
    "example_path",
    "funnel",
    "hookimpl",
    "load_rule_book",
    "parse_duration",
    "read_records",
    "referral_tree",
    "registered_kinds",
    "route",
    "rule_book_schema",
]

_publish(globals(), __all__, __name__)


if not _TYPE_CHECKING:  # a type checker reports a moved name as missing, and a typo too

    def __getattr__(name: str) -> object:
        # the deprecated aliases: a name that moved warns and is served from its new home
        return _deprecated.alias(name)
