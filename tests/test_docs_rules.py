"""Every example in docs/rules.md is run here, so the reference cannot drift from the code.

Each ```yaml block is a whole rule book (it has ``groups``), a single policy (it has
``type``) or a single condition. It must load, unless the HTML comment right before it
says ``<!-- expect: error: ... -->``. That comment holds YAML stating what the example
does; the keys are documented in :func:`check_condition`, :func:`check_policy` and
:func:`check_book`. ```python blocks are run in order in one namespace, in a scratch
directory holding a copy of docs/examples. Files in docs/examples/rules/ must load and
be mentioned in the docs.
"""

import itertools
import math
import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

import groupops as go
from groupops._validation import problems_from
from groupops.rules._conditions import _TAGS
from groupops.rules._policies import POLICY_TYPES, LadderStep, Policy
from groupops.rules._templates import PLACEHOLDERS

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "rules.md"
EXAMPLES = ROOT / "docs" / "examples" / "rules"
CONDITION = TypeAdapter(go.rules.Condition)
POLICY = TypeAdapter(Policy)

_BLOCK = re.compile(
    r"(?:<!--\s*expect:(?P<expect>.*?)-->[ \t]*\n)?^```(?P<lang>yaml|python)[ \t]*\n(?P<body>.*?)^```[ \t]*$",
    re.S | re.M,
)


@dataclass
class Block:
    line: int
    lang: str
    body: str
    expect: dict | None

    def __str__(self) -> str:
        return f"rules.md:{self.line}"


def _blocks() -> list[Block]:
    text = DOC.read_text(encoding="utf-8")
    out = []
    for m in _BLOCK.finditer(text):
        expect = yaml.safe_load(m.group("expect")) if m.group("expect") is not None else None
        line = text.count("\n", 0, m.start("body"))
        out.append(Block(line, m.group("lang"), m.group("body"), expect if expect is not None else None))
    return out


BLOCKS = _blocks()
YAML_BLOCKS = [b for b in BLOCKS if b.lang == "yaml"]


# -- a small metric for the metric examples ------------------------------------------------------


def live_minutes(history, *, group, start, end):
    """Minutes spent in live sessions: the sum of ``live`` events' values."""
    return sum(value for _, value, _ in history.events("live", group, start, end))


METRICS = {"live_minutes": live_minutes}


# -- building a context from an expectation --------------------------------------------------------

_ids = itertools.count()


def _aware(value, tz):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime), value
    assert value.tzinfo is not None, f"{value!r}: examples give times with an offset"
    return value


def _events(exp, tz):
    out = []
    for raw in exp.get("events", []):
        raw = dict(raw)
        out.append(
            go.Event(
                id=str(raw.pop("id", f"doc{next(_ids)}")),
                kind=raw.pop("kind"),
                member=raw.pop("member", "m1"),
                group=raw.pop("group", exp.get("group", "camp")),
                at=_aware(raw.pop("at"), tz),
                **raw,
            )
        )
    return out


def _membership(exp, tz):
    raw = exp.get("membership")
    if raw is None:
        return None
    fields = {"member": "m1", "group": exp.get("group", "camp")} | raw
    for key in ("joined_at", "evicted_at", "revived_at", "promoted_at"):
        if fields.get(key) is not None:
            fields[key] = _aware(fields[key], tz)
    return go.Membership(**fields)


def _context(exp, *, default_scope="group", period_start=None):
    tz = ZoneInfo(exp.get("tz", "Asia/Shanghai"))
    member = go.Member(id="m1", **exp["member"]) if "member" in exp else None
    start = exp.get("period_start", period_start)
    return go.rules.Context(
        at=_aware(exp["at"], tz),
        tz=tz,
        history=go.rules.Community(tz, _events(exp, tz)).history("m1"),
        group=exp.get("group", "camp"),
        member=member,
        membership=_membership(exp, tz),
        default_scope=exp.get("default_scope", default_scope),
        period_start=None if start is None else _aware(start, tz),
        metrics=METRICS,
        present_in=exp.get("present_in"),
    )


def _same(got, want):
    if isinstance(want, datetime) or (isinstance(want, str) and isinstance(got, datetime)):
        return got is not None and got == _aware(want, None)
    if isinstance(want, float) and math.isinf(want):
        return got == want
    return got == want


# -- checks per kind of block ------------------------------------------------------------------


def check_explanation(e, exp):
    """``passed``, ``observed``, ``window_start``, ``summary`` / ``summary_zh``,
    ``missing_if_negated`` / ``..._zh`` (what a notice says), ``render``."""
    if "passed" in exp:
        assert e.passed is exp["passed"], e.render()
    if "observed" in exp:
        assert _same(e.observed, exp["observed"]), (e.observed, exp["observed"])
    if "window_start" in exp:
        assert _same(e.window_start, exp["window_start"]), e.window_start
    if "summary" in exp:
        assert e.summary("en") == exp["summary"]
    if "summary_zh" in exp:
        assert e.summary("zh") == exp["summary_zh"]
    if "missing_if_negated" in exp:
        assert e.negate().missing("en") == exp["missing_if_negated"]
    if "missing_if_negated_zh" in exp:
        assert e.negate().missing("zh") == exp["missing_if_negated_zh"]
    if "render" in exp:
        assert e.render("en") == exp["render"].rstrip("\n")


def check_condition(cond, exp):
    """A context (``at``, ``tz`` = Asia/Shanghai, ``events``, ``member``, ``membership``,
    ``group`` = camp, ``period_start``, ``default_scope``) and what the explanation says."""
    if "at" in exp:
        check_explanation(go.rules.evaluate(cond, _context(exp)), exp)


def check_policy(policy, exp):
    """Eviction: ``period`` ({start, end, notice_at} of the period ``at`` is in), ``periods``
    (ends due in ``(after, until]``), ``in_grace``, ``at_risk``. Revival: ``deadline``,
    ``open``. Ladder: ``move`` ("promote member -> active" or null). Welcome:
    ``welcome_due``. Admission, revival and eviction: the explanation of ``when`` as for
    conditions."""
    if isinstance(policy, go.rules.Violation) and "steps_taken" in exp:
        # {offence number: the action it takes}
        got = {n: go.rules.offence_step(policy, n) for n in exp["steps_taken"]}
        assert {n: s if isinstance(s, str) else s.penalty for n, s in got.items()} == exp["steps_taken"]
        return
    if isinstance(policy, go.rules.Limit) and "breach" in exp:
        # {join: a group, held: the groups held, reason: the words, or null}
        spec = exp["breach"]
        held = [go.Group.model_validate(g) for g in spec["held"]]
        reason = go.rules.limit_breach(
            policy, go.Group.model_validate(spec["join"]), held, spec.get("locale", "en")
        )
        assert reason == spec["reason"]
        return
    if isinstance(policy, go.rules.Deadline) and "moments" in exp:
        # {joined: an instant, remind: the reminder's instant or null, deadline: an instant}
        spec, tz = exp["moments"], ZoneInfo(exp.get("tz", "Asia/Shanghai"))
        remind, deadline = go.rules.deadline_moments(policy, _aware(spec["joined"], tz), tz)
        assert (remind is None) is (spec["remind"] is None)
        assert remind is None or _same(remind, spec["remind"])
        assert _same(deadline, spec["deadline"])
        return
    if isinstance(policy, go.rules.Capacity) and "route_order" in exp:
        # {groups: groups, each with its present members, order: the ids routing fills in order}
        spec = exp["route_order"]
        counted = [
            (go.Group.model_validate({k: v for k, v in g.items() if k != "present"}), g["present"])
            for g in spec["groups"]
        ]
        assert [g.id for g in go.rules.route_order(counted)] == spec["order"]
        return
    if isinstance(policy, go.rules.TermEnd) and "term_ends" in exp:
        # {at: an instant, groups: groups, ended: the ids whose term ended by then}
        spec, tz = exp["term_ends"], ZoneInfo("Asia/Shanghai")
        groups = [go.Group.model_validate(g) for g in spec["groups"]]
        ends = go.rules.term_ends(policy, groups, _aware(spec["at"], tz), tz)
        assert [gid for _, gid in ends] == spec["ended"]
        return
    if "at" not in exp and "periods" not in exp:
        return
    tz = ZoneInfo(exp.get("tz", "Asia/Shanghai"))
    if isinstance(policy, go.rules.Eviction):
        if "periods" in exp:
            spec = exp["periods"]
            got = go.rules.eviction_periods(policy, _aware(spec["after"], tz), _aware(spec["until"], tz), tz)
            assert [p.end for p in got] == [_aware(x, tz) for x in spec["ends"]]
        if "at" not in exp:
            return
        at = _aware(exp["at"], tz)
        period = go.rules.eviction_period(policy, at, tz)
        if "period" in exp:
            want = exp["period"]
            assert period is not None
            assert _same(period.start, want["start"])
            assert _same(period.end, want["end"])
            assert _same(period.notice_at, want["notice_at"])
        ctx = _context(exp, period_start=period.start if period else None)
        check = go.rules.eviction_check(policy, ctx, period)
        if "in_grace" in exp:
            assert check.grace is exp["in_grace"]
        if "at_risk" in exp:
            assert check.at_risk is exp["at_risk"]
        check_explanation(check.failing, exp)
    elif isinstance(policy, go.rules.Revival):
        ms = _membership(exp, tz)
        if "deadline" in exp:
            assert _same(go.rules.revival_deadline(policy, ms, tz), exp["deadline"])
        if "open" in exp:
            assert go.rules.revival_open(policy, ms, _aware(exp["at"], tz), tz) is exp["open"]
        if "events" in exp:
            check_explanation(go.rules.revival_check(policy, _context(exp)), exp)
    elif isinstance(policy, go.rules.Ladder):
        move = go.rules.ladder_move(policy, _context(exp))
        got = None if move is None else f"{move.action} {move.from_role} -> {move.to_role}"
        assert got == exp["move"]
    elif isinstance(policy, go.rules.Admission):
        check_explanation(
            go.rules.admission_check(policy, _context(exp, default_scope=policy.default_scope)), exp
        )
    elif isinstance(policy, go.rules.Welcome):
        due = go.rules.welcome_due(policy, _membership(exp, tz), _aware(exp["at"], tz), tz)
        assert due is exp["welcome_due"]
    else:  # pragma: no cover - a new policy type needs its checks here
        raise AssertionError(f"no checks for {type(policy).__name__}")


def check_book(book, exp):
    """``policies``: the policy ids in order; ``metrics``: the metrics the book uses."""
    if "policies" in exp:
        assert [p.id for p in book.policies] == exp["policies"]
    if "metrics" in exp:
        assert book.metrics_used() == set(exp["metrics"])


# -- the tests -------------------------------------------------------------------------------------


def _load(data):
    if isinstance(data, dict) and "type" in data:
        return "policy", POLICY.validate_python(data)
    if isinstance(data, dict) and "groups" in data:
        return "book", go.RuleBook.load(data)
    return "condition", CONDITION.validate_python(data)


def _error_text(exc):
    if isinstance(exc, go.RuleError):
        return str(exc)
    return "\n".join(map(str, problems_from(exc)))


CONTEXT_KEYS = {
    "at",
    "tz",
    "events",
    "member",
    "membership",
    "group",
    "period_start",
    "default_scope",
    "present_in",
}
RESULT_KEYS = {
    "passed",
    "observed",
    "window_start",
    "summary",
    "summary_zh",
    "missing_if_negated",
    "missing_if_negated_zh",
    "render",
    "period",
    "periods",
    "in_grace",
    "at_risk",
    "deadline",
    "open",
    "move",
    "welcome_due",
}
OTHER_KEYS = {
    "error",
    "problems",
    "kind",
    "policies",
    "metrics",
    "steps_taken",
    "breach",
    "moments",
    "route_order",
    "term_ends",
}


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=str)
def test_yaml_example(block):
    data = yaml.safe_load(block.body)
    exp = block.expect or {}
    assert set(exp) <= CONTEXT_KEYS | RESULT_KEYS | OTHER_KEYS, (
        set(exp) - CONTEXT_KEYS - RESULT_KEYS - OTHER_KEYS
    )
    # a stated result needs a moment to be true at (``periods`` carries its own range)
    assert "at" in exp or not (set(exp) & RESULT_KEYS - {"periods"}), "an expected result needs 'at'"
    if "error" in exp:
        with pytest.raises((go.RuleError, ValidationError)) as info:
            _load(data)
        text = _error_text(info.value)
        wants = exp["error"] if isinstance(exp["error"], list) else [exp["error"]]
        for want in wants:
            assert want in text, text
        if "problems" in exp:
            assert len(info.value.problems) == exp["problems"]
        return
    kind, value = _load(data)
    if "kind" in exp:
        assert kind == exp["kind"]
    {"book": check_book, "policy": check_policy, "condition": check_condition}[kind](value, exp)


def test_python_examples_run(monkeypatch, tmp_path):
    # in a scratch directory holding a copy of docs/examples, so the examples' relative
    # paths work and the files they write land nowhere near the repository
    shutil.copytree(EXAMPLES, tmp_path / "docs" / "examples" / "rules")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in BLOCKS:
        if block.lang == "python":
            exec(compile(block.body, str(block), "exec"), namespace)


def test_every_expect_comment_belongs_to_a_block():
    text = DOC.read_text(encoding="utf-8")
    assert text.count("<!-- expect:") == sum(b.expect is not None for b in BLOCKS)
    assert len(YAML_BLOCKS) >= 40
    assert sum(b.expect is not None for b in YAML_BLOCKS) >= 25


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.*")), ids=lambda p: p.name)
def test_example_files_load_and_are_documented(path):
    book = go.load_rule_book(path)
    assert book.policies
    assert f"examples/rules/{path.name}" in DOC.read_text(encoding="utf-8")


def test_example_files_exist():
    assert sorted(p.suffix for p in EXAMPLES.glob("*.*")) == [".json", ".toml", ".yaml"]


# -- the reference names everything there is ------------------------------------------------------


def _doc_text():
    return DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("key", sorted(_TAGS))
def test_every_condition_key_is_documented(key):
    assert f"`{key}`" in _doc_text()


@pytest.mark.parametrize(
    "key",
    sorted(
        {
            info.alias or name
            for model in [
                *POLICY_TYPES.values(),
                LadderStep,
                go.RuleBook,
                go.Group,
                go.rules.Count,
                go.rules.Sum,
                go.rules.Attr,
            ]
            for name, info in model.model_fields.items()
        }
    ),
)
def test_every_field_is_documented(key):
    assert f"`{key}`" in _doc_text()


def test_the_list_of_policy_types_names_every_type():
    listed = re.search(r"a `type` — one of (.*?), each described below", _doc_text(), re.S)
    assert listed is not None
    assert sorted(re.findall(r"`(\w+)`", listed.group(1))) == sorted(POLICY_TYPES)


@pytest.mark.parametrize("kind", sorted(POLICY_TYPES))
def test_every_policy_type_has_a_tested_example(kind):
    assert any(
        isinstance(d := yaml.safe_load(b.body), dict) and d.get("type") == kind and b.expect
        for b in YAML_BLOCKS
    )


@pytest.mark.parametrize("placeholder", sorted(PLACEHOLDERS))
def test_every_placeholder_is_documented(placeholder):
    assert f"`{{{placeholder}}}`" in _doc_text()
