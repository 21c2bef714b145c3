"""Errors keep their context through pickling (worker processes, task queues) and are
caught as the builtin a caller expects."""

from __future__ import annotations

import pickle

import pytest

import groupops as go

EXAMPLES: dict[type[go.GroupOpsError], go.GroupOpsError] = {
    go.GroupOpsError: go.GroupOpsError("something went wrong"),
    go.RuleError: go.RuleError(
        [go.Problem("policies[1].when.within", "'7x' is not a duration like '7d'"), go.Problem("", "second")],
        source="camp.yaml",
    ),
    go.InputError: go.InputError("not valid JSON", source="events.jsonl:3"),
    go.UnknownMemberError: go.UnknownMemberError("m1"),
    go.UnknownGroupError: go.UnknownGroupError("camp-9", known=["camp-7", "vip"]),
    go.UnknownPolicyError: go.UnknownPolicyError("weekly", known=["weekly-eviction"]),
    go.PluginError: go.PluginError("veto hook failed", plugin="tg-bot", hook="groupops_veto_action"),
    go.StoreError: go.StoreError("database is locked"),
    go.MissingExtraError: go.MissingExtraError("durable", feature="the differential test"),
    go.NotCompilable: go.NotCompilable(
        "condition leaf {'sum': 'purchase', 'above': 2.0} has no SQL form",
        test="sum",
        leaf={"sum": "purchase"},
    ),
}


def _every_error_class() -> set[type[go.GroupOpsError]]:
    found: set[type[go.GroupOpsError]] = set()
    todo = [go.GroupOpsError]
    while todo:
        cls = todo.pop()
        if not cls.__name__.startswith("_"):
            found.add(cls)
        todo.extend(cls.__subclasses__())
    return {c for c in found if c.__module__.startswith("groupops")}


def test_every_public_error_class_has_an_example():
    assert _every_error_class() <= set(EXAMPLES), "add an example for each new error class"


@pytest.mark.parametrize("error", list(EXAMPLES.values()), ids=lambda e: type(e).__name__)
def test_an_error_survives_pickling_with_its_message_and_context(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.args == error.args
    public = {k: v for k, v in vars(error).items() if not k.startswith("_")}
    assert {k: v for k, v in vars(copy).items() if not k.startswith("_")} == public


def test_the_context_is_what_it_was_made_with():
    rule = pickle.loads(pickle.dumps(EXAMPLES[go.RuleError]))
    assert isinstance(rule, go.RuleError)
    assert rule.source == "camp.yaml" and str(rule).startswith("camp.yaml: 2 problems:")
    group = pickle.loads(pickle.dumps(EXAMPLES[go.UnknownGroupError]))
    assert isinstance(group, go.UnknownGroupError)
    assert str(group) == "unknown group 'camp-9' (known: camp-7, vip)"
    assert group.group == "camp-9" and group.known == ("camp-7", "vip")
    plugin = pickle.loads(pickle.dumps(EXAMPLES[go.PluginError]))
    assert isinstance(plugin, go.PluginError)
    assert (plugin.plugin, plugin.hook) == ("tg-bot", "groupops_veto_action")
    extra = pickle.loads(pickle.dumps(EXAMPLES[go.MissingExtraError]))
    assert isinstance(extra, go.MissingExtraError) and extra.extra == "durable"


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (go.RuleError, ValueError),
        (go.InputError, ValueError),
        (go.UnknownMemberError, KeyError),
        (go.UnknownGroupError, KeyError),
        (go.UnknownPolicyError, KeyError),
        (go.PluginError, RuntimeError),
        (go.StoreError, RuntimeError),
        (go.MissingExtraError, ImportError),
    ],
)
def test_each_error_is_caught_as_the_builtin_a_caller_expects(cls, builtin):
    assert issubclass(cls, go.GroupOpsError) and issubclass(cls, builtin)
    with pytest.raises(builtin):
        raise EXAMPLES[cls]
