"""The public API is exactly the ``__all__`` of groupops, groupops.rules and
groupops.testing: pinned, importable, nothing leaking, every class and function at its
public path; the names that left the top level warn for one release (issue 17)."""

import importlib
import inspect
import pickle
import subprocess
import sys
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import groupops
import groupops.rules
import groupops.testing
from groupops._deprecated import MOVED, OLD_ORDER, REMOVED

NAMESPACES = {"groupops": groupops, "groupops.rules": groupops.rules, "groupops.testing": groupops.testing}

# the public API, pinned: adding or removing a name is a deliberate change to this list
# (and a line in CHANGELOG.md)
PUBLIC = [
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

# groupops.rules' public API, pinned the same way
RULES_PUBLIC = [
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


# groupops.testing's public API, pinned the same way
TESTING_PUBLIC = [
    "ENGAGEMENT_INVARIANTS",
    "GROUP_INVARIANTS",
    "INVARIANTS",
    "MEMBERSHIP_INVARIANTS",
    "SEGMENT_INVARIANTS",
    "DurableStoreContract",
    "Invariant",
    "InvariantViolation",
    "RecordingMessenger",
    "StoreContract",
    "Timeline",
    "assert_invariants",
    "ballots",
    "check_group_invariants",
    "check_invariants",
    "conditions",
    "conversations",
    "decision_ids_are_stable",
    "events",
    "groups",
    "handoff_at_most_once",
    "health_changes_once",
    "histories",
    "invited_at_most_twice",
    "joins_and_leaves",
    "ladder_moves_one_step",
    "ledger_is_consistent",
    "members",
    "memberships",
    "migration_invites_repliers",
    "no_eviction_in_grace",
    "no_eviction_of_exempt",
    "nothing_decided_after_dissolution",
    "notice_before_eviction",
    "one_message_per_broadcast",
    "points_activity",
    "recording_engine",
    "referral_forests",
    "removed_never_revived",
    "replay",
    "replies",
    "requests",
    "rerun_changes_nothing",
    "revivals_within_max",
    "revived_met_criteria",
    "rewards_paid_once",
    "rule_books",
    "segment_conditions",
    "sourced_members",
    "tier_label_in_set",
    "tier_policies",
    "vote_winners_are_top_n",
    "within_capacity",
    "within_limits",
]


PINNED = {"groupops": PUBLIC, "groupops.rules": RULES_PUBLIC, "groupops.testing": TESTING_PUBLIC}


@pytest.mark.parametrize("path", NAMESPACES)
def test_the_public_names_are_the_pinned_ones_unique_and_all_exist(path):
    module = NAMESPACES[path]
    assert list(module.__all__) == PINNED[path]
    assert len(set(module.__all__)) == len(module.__all__)
    for name in module.__all__:
        assert name in vars(module), name


def test_the_top_level_all_is_sorted():
    assert list(groupops.__all__) == sorted(groupops.__all__)
    assert list(groupops.rules.__all__) == sorted(groupops.rules.__all__)


@pytest.mark.parametrize("path", NAMESPACES)
def test_all_is_every_public_name_the_module_holds(path):
    # as httpx does: a name imported for the module's own use is private (a leading
    # underscore) or it leaks into the public API; submodules (groupops.rules, .kinds)
    # are namespaces, not names
    module = NAMESPACES[path]
    public = {
        name
        for name, value in vars(module).items()
        if (not name.startswith("_") or name == "__version__") and not isinstance(value, types.ModuleType)
    }
    assert public == set(module.__all__)


def _published(path):
    for name in NAMESPACES[path].__all__:
        obj = getattr(NAMESPACES[path], name)
        if isinstance(obj, type) or inspect.isfunction(obj):
            yield name, obj


@pytest.mark.parametrize("path", NAMESPACES)
def test_every_class_and_function_names_its_public_path(path):
    for name, obj in _published(path):
        # a name in two namespaces (Explanation: a decision's, and evaluate's) is at
        # the top level's path
        home = "groupops" if name in groupops.__all__ else path
        assert obj.__module__ == home, (name, obj.__module__)
        assert getattr(importlib.import_module(obj.__module__), obj.__qualname__) is obj
    assert repr(groupops.Member) == "<class 'groupops.Member'>"
    assert repr(groupops.rules.Eviction) == "<class 'groupops.rules.Eviction'>"


def test_a_pickle_names_the_public_path_and_round_trips():
    at = datetime(2026, 3, 2, 8, tzinfo=UTC)
    values = [
        groupops.Member(id="m1", labels=("A",)),
        groupops.Event(id="e1", kind="checkin", member="m1", group="g", at=at),
        groupops.Decision.make(policy="p", action="notice", member="m1", group="g", period="w1", at=at),
        groupops.rules.Period(start=at, end=at + timedelta(days=7), notice_at=at + timedelta(days=6)),
        groupops.UnknownGroupError("g9", known=["g1"]),
        groupops.rules.Eviction.model_validate(
            {
                "id": "weekly",
                "type": "eviction",
                "groups": ["camp"],
                "schedule": "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20",
                "when": {"count": "checkin", "within": "7d", "below": 3},
            }
        ),
    ]
    for value in values:
        data = pickle.dumps(value)
        # an error rebuilds through a private function; the class is named by its path
        if not isinstance(value, Exception):
            assert b"groupops._" not in data and b"groupops.rules._" not in data, data
        back = pickle.loads(data)
        assert type(back).__module__ in NAMESPACES
        assert type(back) is type(value)
        assert str(back) == str(value)
        if not isinstance(value, Exception):
            assert back == value


def test_py_typed_is_shipped():
    from importlib.resources import files

    assert files("groupops").joinpath("py.typed").is_file()


@pytest.mark.parametrize("name", sorted(set(MOVED) - set(OLD_ORDER)))
def test_a_name_that_moved_warns_and_is_the_object_at_its_new_path(name):
    new = MOVED[name]
    with pytest.warns(
        DeprecationWarning, match=rf"^groupops\.{name} is deprecated.*\({new}\.{name}\)"
    ) as caught:
        old = getattr(groupops, name)
    assert old is getattr(importlib.import_module(new), name)
    assert name not in groupops.__all__ and name in importlib.import_module(new).__all__
    # the warning points at the line that used the old name, not at groupops
    assert caught[0].filename == __file__


def test_from_import_of_a_moved_name_warns_too():
    with pytest.warns(DeprecationWarning, match=r"groupops\.rules\.evaluate"):
        from groupops import evaluate
    assert evaluate is groupops.rules.evaluate


@pytest.mark.parametrize("name", sorted(OLD_ORDER))
def test_a_reordered_helper_keeps_its_old_order_under_its_old_name(name):
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    eviction = groupops.rules.Eviction.model_validate(
        {
            "id": "weekly",
            "type": "eviction",
            "groups": ["camp"],
            "schedule": "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20",
            "notice": "2d",
            "when": {"count": "checkin", "within": "7d", "below": 3},
        }
    )
    term = groupops.rules.TermEnd(id="term")
    group = groupops.Group(id="camp", term={"start": "2026-01-01T00:00:00+08:00", "length": "30d"})
    at, later = datetime(2026, 3, 1, 20, tzinfo=tz), datetime(2026, 3, 20, tzinfo=tz)
    new_args, old_args = {
        "eviction_period": ((eviction, at, tz), (eviction, tz, at)),
        "eviction_periods": ((eviction, at, later, tz), (eviction, tz, at, later)),
        "term_ends": ((term, [group], later, tz), (term, [group], tz, later)),
    }[name]
    with pytest.warns(DeprecationWarning, match=r"keeps the old order") as caught:
        old = getattr(groupops, name)
    assert OLD_ORDER[name][0] in str(caught[0].message)
    new_answer = getattr(groupops.rules, name)(*new_args)
    assert new_answer  # something to compare: a period, periods, an ended term
    assert old(*old_args) == new_answer


def test_actions_warns_and_says_what_to_use():
    with pytest.warns(DeprecationWarning, match=r"groupops\.ACTIONS is deprecated.*action_names"):
        actions = groupops.ACTIONS
    assert "evict" in actions


def test_an_unknown_name_is_still_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Evictions'"):
        groupops.Evictions  # noqa: B018
    assert not hasattr(groupops, "_model_")


def test_the_deprecated_names_are_listed_in_the_docs():
    text = (Path(__file__).parent.parent / "docs" / "engine.md").read_text(encoding="utf-8")
    section = text[text.index("### Deprecated top-level names") :]
    listed: dict[str, str] = {}
    for path in ("groupops.rules", "groupops.testing"):
        line = section[section.index(f"**To `{path}`**") :].split("\n\n")[0]
        listed |= dict.fromkeys(re_names(line.split(":", 1)[1]), path)
    assert listed == MOVED
    removed = section[section.index("**Removed**") :].split("\n\n")[0]
    assert set(re_names(removed.split(":", 1)[1].split("(")[0])) == set(REMOVED)


def re_names(text):
    import re

    return re.findall(r"`([A-Za-z_]+)`", text)


def test_nothing_in_the_project_uses_a_deprecated_name():
    # pytest turns a groupops DeprecationWarning into an error (pyproject.toml), so the
    # suite itself proves it; this checks that filter is on
    with pytest.raises(DeprecationWarning):
        groupops.Eviction  # noqa: B018


def _annotations(func):
    return {k: str(v) for k, v in inspect.get_annotations(func).items()}


@pytest.mark.parametrize(
    "func",
    [
        groupops.rules.evaluate,
        groupops.rules.holds,
        groupops.rules.compile_condition,
        groupops.RuleBook.policies_of,
    ],
)
def test_evaluation_is_typed_without_any(func):
    annotations = _annotations(func)
    assert "Any" not in " ".join(annotations.values()), annotations
    assert "return" in annotations


def test_policies_of_gives_the_policies_of_one_model():
    book = groupops.load_rule_book(groupops.example_path("community.yaml"))
    evictions = book.policies_of(groupops.rules.Eviction)
    assert evictions and all(isinstance(p, groupops.rules.Eviction) for p in evictions)


SUBJECTS = (
    "membership",
    "ctx",
    "member",
    "groups",
    "group",
    "held",
    "joined_at",
    "memberships",
    "facts",
    "offence",
)
MOMENTS = ("at", "period", "after", "until")


def test_the_semantics_helpers_take_one_argument_order():
    # policy, subject, moment, time zone: the order groupops.rules' docstring documents
    checked = 0
    for name, func in _published("groupops.rules"):
        if not inspect.isfunction(func) or name in ("evaluate", "holds", "compile_condition"):
            continue
        # the positional parameters (keyword-only options such as group_health's policy
        # and limit_breach's locale come after, by name)
        params = [
            p.name
            for p in inspect.signature(func).parameters.values()
            if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "locale"
        ]
        rank = {"policy": 0, **dict.fromkeys(SUBJECTS, 1), **dict.fromkeys(MOMENTS, 2), "tz": 3}
        ranks = [rank[p] for p in params if p in rank]
        assert ranks == sorted(ranks), (name, params)
        if "policy" in params:
            assert params[0] == "policy", (name, params)
        if "tz" in params:
            assert params[-1] == "tz", (name, params)
        checked += 1
    assert checked >= 20


def test_the_top_level_loads_no_testing_code():
    # groupops.testing is imported on demand (RecordingMessenger's alias, or a test)
    code = "import sys, groupops; print('groupops.testing' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_deprecation_does_not_warn_without_use():
    code = (
        "import warnings; warnings.simplefilter('error'); import groupops, groupops.rules, groupops.testing"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True)
