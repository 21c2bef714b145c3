"""Policy kinds are registered through ``groupops_register_kinds``, the built-ins too."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest
from pydantic import Field

import groupops as go
from groupops.rules.kinds import BUILTIN_KINDS


class Ping(go.PolicyBase):
    type: Literal["ping"] = "ping"
    groups: tuple[str, ...] = Field(min_length=1)


class PingKind(go.Kind):
    name = "ping"
    model = Ping
    actions = (go.ActionSpec("ping", {"en": "Ping {member.name}."}),)


class PingPlugin:
    @go.hookimpl
    def groupops_register_kinds(self, register):
        register(PingKind())


PING_BOOK = {"groups": [{"id": "g"}], "policies": [{"id": "p", "type": "ping", "groups": ["g"]}]}


def test_hook_register_kinds_registers_the_builtins_first_then_plugins():
    kinds = go.registered_kinds(plugins=[PingPlugin()], entry_points=False)
    assert kinds.names() == [k.name for k in BUILTIN_KINDS] + ["ping"]
    assert kinds.names()[:5] == ["admission", "eviction", "revival", "ladder", "welcome"]
    assert kinds.action_names()[:9] == [
        "invite",
        "notice",
        "spare",
        "evict",
        "announce",
        "revive",
        "promote",
        "demote",
        "welcome",
    ]
    assert kinds.action("evict").platform and not kinds.action("notice").platform


def test_hook_register_kinds_two_kinds_with_one_name_is_a_plugin_error_naming_the_plugin():
    class Twice:
        @go.hookimpl
        def groupops_register_kinds(self, register):
            register(PingKind())
            register(PingKind())

    with pytest.raises(go.PluginError, match=r"plugin Twice: two kinds are named 'ping'"):
        go.registered_kinds(plugins=[Twice()], entry_points=False)


def test_hook_register_kinds_something_that_is_not_a_kind_is_refused():
    class Bad:
        @go.hookimpl
        def groupops_register_kinds(self, register):
            register("ping")

    with pytest.raises(go.PluginError, match=r"plugin Bad: 'ping' is not a policy kind"):
        go.registered_kinds(plugins=[Bad()], entry_points=False)


def test_a_plugin_kind_validates_only_where_it_is_registered(tmp_path):
    with pytest.raises(
        go.RuleError, match=r"policies\[0\]: 'type' must be one of admission, eviction, revival"
    ):
        go.RuleBook.load(PING_BOOK)
    path = tmp_path / "book.json"
    path.write_text('{"groups": [{"id": "g"}], "policies": [{"id": "p", "type": "ping", "groups": ["g"]}]}')
    kinds = go.registered_kinds(plugins=[PingPlugin()], entry_points=False)
    book = go.load_rule_book(path, kinds=kinds)
    assert isinstance(book, go.RuleBook) and book.policies[0].type == "ping"
    with pytest.raises(go.RuleError, match=r"'type' must be one of .*welcome, .*ping"):
        go.RuleBook.load(
            {**PING_BOOK, "policies": [{"id": "p", "type": "pong", "groups": ["g"]}]}, kinds=kinds
        )


class Relay(go.PolicyBase):
    type: Literal["relay"] = "relay"
    groups: tuple[str, ...] = Field(min_length=1)
    to: str
    hops: int = Field(ge=1)


class RelayKind(go.Kind):
    """A kind with a group reference of its own (``to``) and a check across its fields."""

    name = "relay"
    model = Relay

    def book_problems(self, policy, path, book):
        problems = [*super().book_problems(policy, path, book), *book.group(f"{path}.to", policy.get("to"))]
        if policy.get("to") in policy.get("groups", ()):
            problems.append(go.Problem(f"{path}.to", "relays to one of its own groups"))
        return problems


class RelayPlugin:
    @go.hookimpl
    def groupops_register_kinds(self, register):
        register(RelayKind())


def test_a_plugin_kind_checks_its_own_references_to_the_book_with_the_field_errors():
    kinds = go.registered_kinds(plugins=[RelayPlugin()], entry_points=False)
    book = {
        "groups": [{"id": "a"}, {"id": "b"}],
        "policies": [
            {"id": "r1", "type": "relay", "groups": ["a", "c"], "to": "d", "hops": 0},
            {"id": "r2", "type": "relay", "groups": ["a"], "to": "a", "hops": 1},
            {"id": "ok", "type": "relay", "groups": ["a"], "to": "b", "hops": 1},
        ],
    }
    with pytest.raises(go.RuleError) as info:
        go.RuleBook.load(book, kinds=kinds)
    found = {(p.path, p.message) for p in info.value.problems}
    assert {
        ("policies[0].groups[1]", "unknown group 'c' (groups: a, b)"),  # Kind's default
        ("policies[0].to", "unknown group 'd' (groups: a, b)"),  # the kind's own
        ("policies[1].to", "relays to one of its own groups"),
    } <= found
    assert any(p.path.startswith("policies[0].hops") for p in info.value.problems)  # with the field errors
    assert not any(p.path.startswith("policies[2]") for p in info.value.problems)
    del book["policies"][:2]
    assert go.RuleBook.load(book, kinds=kinds).policies[0].to == "b"


def test_an_engine_without_the_kind_of_a_policy_is_a_rule_error_listing_the_known_kinds():
    book = go.RuleBook.load(PING_BOOK, kinds=go.registered_kinds(plugins=[PingPlugin()], entry_points=False))
    with pytest.raises(
        go.RuleError, match=r"policies\[0\].type: no policy kind 'ping' is registered \(known kinds: adm"
    ):
        go.Engine(book, entry_points=False)


def test_the_schema_includes_registered_kinds():
    kinds = go.registered_kinds(plugins=[PingPlugin()], entry_points=False)
    text = str(go.rule_book_schema(kinds))
    assert "'ping'" in text and "'eviction'" in text


def test_each_builtin_kind_is_its_own_module_owning_model_and_actions():
    for kind in BUILTIN_KINDS:
        module = importlib.import_module(f"groupops.rules.kinds.{kind.name}")
        assert type(kind).__module__ == module.__name__
        # the model is defined there (its __module__ is its public path, groupops.rules)
        assert vars(module)[kind.model.__name__] is kind.model
        assert f"\nclass {kind.model.__name__}(" in Path(module.__file__).read_text(encoding="utf-8")
        # a campaign reports and decides nothing: the one built-in kind without actions
        assert kind.actions or kind.name == "campaign"
        assert all(set(a.templates) == {"en", "zh"} for a in kind.actions)


class Shout(go.PolicyBase):
    type: Literal["shout"] = "shout"
    groups: tuple[str, ...] = Field(min_length=1)


class ShoutKind(go.Kind):
    """Thanks the most active speaker of each group that had any message today: a
    group-level, cross-member question asked through the facts interface."""

    name = "shout"
    model = Shout
    actions = (go.ActionSpec("shout", {"en": "Thanks for the talk, {member.name}!"}),)

    def decide(self, policy, rt, at, members):
        made = []
        start = at - timedelta(days=1)
        activity = rt.facts.group_activity(list(policy.groups), ["message"], start, at)
        for group, seen in zip(policy.groups, activity, strict=True):
            if seen.events == 0:
                continue
            present = [ms for ms in rt.memberships(group) if ms.present]
            [(top, _)] = rt.facts.ranking(
                "message", [ms.member for ms in present], start, at, group=group, limit=1
            )
            ms = rt.membership(top, group)
            d = rt.decide(policy.id, "shout", ms, f"day-{at.date().isoformat()}", at, None)
            recorded = rt.apply(go.Verdict(d, ms))
            if recorded is not None:
                made.append(recorded)
        return made


def test_a_kind_asks_group_level_and_cross_member_questions_through_the_facts_interface():
    class ShoutPlugin:
        @go.hookimpl
        def groupops_register_kinds(self, register):
            register(ShoutKind())

    plugin = ShoutPlugin()
    book = go.RuleBook.load(
        {
            "groups": [{"id": "g"}, {"id": "h"}],
            "policies": [{"id": "s", "type": "shout", "groups": ["g", "h"]}],
        },
        kinds=go.registered_kinds(plugins=[plugin], entry_points=False),
    )
    engine = go.Engine(book, plugins=[plugin], entry_points=False)
    t0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
    engine.ingest(
        [
            {"id": f"j{m}{g}", "kind": "joined", "member": m, "group": g, "at": t0.isoformat()}
            for m in "ab"
            for g in "gh"
        ]
        + [
            {
                "id": f"m{i}",
                "kind": "message",
                "member": m,
                "group": "g",
                "at": (t0 + timedelta(hours=i)).isoformat(),
            }
            for i, m in enumerate("abb", start=1)
        ]
    )
    at = t0 + timedelta(hours=5)
    assert [(d.member, d.group) for d in engine.run(at).decisions] == [("b", "g")]
    assert engine.run(at).decisions == ()


def test_conditions_and_metrics_of_a_plugin_kind_are_found_by_walking_its_fields():
    from groupops.rules._conditions import Condition

    class Nested(go.PolicyBase):
        type: Literal["nested"] = "nested"
        groups: tuple[str, ...] = Field(min_length=1)
        stages: tuple[dict[str, Condition], ...] = ()

    class NestedKind(go.Kind):
        name = "nested"
        model = Nested

    class Plugin:
        @go.hookimpl
        def groupops_register_kinds(self, register):
            register(NestedKind())

    kinds = go.registered_kinds(plugins=[Plugin()], entry_points=False)
    book = go.RuleBook.load(
        {
            "groups": [{"id": "g"}],
            "policies": [
                {
                    "id": "n",
                    "type": "nested",
                    "groups": ["g"],
                    "stages": [{"enter": {"metric": "karma", "at_least": 3}}],
                }
            ],
        },
        kinds=kinds,
    )
    assert [path for path, _ in book.conditions()] == ["policies[0].stages[0].enter"]
    assert book.metrics_used() == {"karma"}
