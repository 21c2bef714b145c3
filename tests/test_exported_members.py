"""The public API is exactly ``groupops.__all__``: sorted, importable, nothing private."""

import inspect

import groupops

# the public API, pinned: adding or removing a name is a deliberate change to this list
# (and a line in CHANGELOG.md)
PUBLIC = [
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


def test_all_is_sorted_and_unique():
    assert list(groupops.__all__) == sorted(set(groupops.__all__))


def test_the_public_names_are_the_pinned_ones():
    assert list(groupops.__all__) == PUBLIC


def test_every_exported_name_exists_and_is_public_module_owned():
    for name in groupops.__all__:
        obj = getattr(groupops, name)
        if not (isinstance(obj, type) or inspect.isfunction(obj)):
            continue  # constants and type aliases such as Condition
        module = getattr(obj, "__module__", "groupops")
        assert module.startswith("groupops"), (name, module)


def test_py_typed_is_shipped():
    from importlib.resources import files

    assert files("groupops").joinpath("py.typed").is_file()


# groupops.testing's public API, pinned the same way
TESTING_PUBLIC = [
    "INVARIANTS",
    "Invariant",
    "InvariantViolation",
    "Timeline",
    "assert_invariants",
    "check_invariants",
    "conditions",
    "decision_ids_are_stable",
    "events",
    "groups",
    "histories",
    "ladder_moves_one_step",
    "members",
    "memberships",
    "no_eviction_in_grace",
    "no_eviction_of_exempt",
    "notice_before_eviction",
    "recording_engine",
    "replay",
    "rerun_changes_nothing",
    "revivals_within_max",
    "revived_met_criteria",
    "rule_books",
]


def test_the_testing_names_are_the_pinned_ones_and_all_exist():
    import groupops.testing

    assert list(groupops.testing.__all__) == TESTING_PUBLIC
    for name in TESTING_PUBLIC:
        assert getattr(groupops.testing, name) is not None
