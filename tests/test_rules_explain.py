"""Explanations: plain text in English and Chinese, the rendered tree, negation, JSON."""

import itertools
import json
import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter

import groupops as go

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 3, 1, 20, 0, tzinfo=TZ)
CONDITION = TypeAdapter(go.rules.Condition)
_ids = itertools.count()

MEMBER = go.Member(id="m1", name="小王", labels=["A"], attributes={"city": "杭州"})
MEMBERSHIP = go.Membership(member="m1", group="camp", role="member", joined_at=AT - timedelta(days=30))


def ev(kind, days_ago, value=1.0):
    return go.Event(
        id=f"e{next(_ids)}",
        kind=kind,
        member="m1",
        group="camp",
        at=AT - timedelta(days=days_ago),
        value=value,
    )


EVENTS = [ev("checkin", 9), ev("purchase", 3, value=50), ev("message", 1)]


def explain(data, events=EVENTS):
    ctx = go.rules.Context(
        at=AT,
        tz=TZ,
        history=go.rules.Community(TZ, events).history("m1"),
        group="camp",
        member=MEMBER,
        membership=MEMBERSHIP,
    )
    return go.rules.evaluate(CONDITION.validate_python(data), ctx)


# -- the headline example -------------------------------------------------------------------


def test_negated_days_since_reads_as_what_to_fix():
    e = explain({"days_since": "checkin", "at_least": 7})  # last check-in 9 days before AT
    assert e.passed and e.observed == 9
    n = e.negate()
    assert not n.passed and n.negated
    assert n.missing("en") == "checked in 9 days ago; needs fewer than 7 days"
    assert n.missing("zh") == "9 天未打卡（要求少于 7 天）"
    assert e.summary() == "checked in 9 days ago; needs at least 7 days"


def test_never_reads_as_never():
    e = explain({"days_since": "checkin", "at_least": 7}, events=[])
    assert e.observed == math.inf
    assert e.summary("en") == "never checked in; needs at least 7 days"
    assert e.summary("zh") == "从未打卡（要求至少 7 天）"


def test_days_since_shows_whole_days_elapsed():
    e = explain({"days_since": "checkin", "at_least": 7}, events=[ev("checkin", 6.5)])
    assert e.summary() == "checked in 6 days ago; needs at least 7 days"
    assert not e.passed


def test_tenure_shows_whole_days_unless_that_would_contradict_the_verdict():
    joined = go.Membership(member="m1", group="camp", joined_at=AT - timedelta(days=6, hours=12))
    ctx = go.rules.Context(
        at=AT, tz=TZ, history=go.rules.Community(TZ, []).history("m1"), group="camp", membership=joined
    )

    def text(data):
        return go.rules.evaluate(CONDITION.validate_python(data), ctx).summary()

    assert text({"tenure": "joined", "at_least": 7}) == "6 days since joined; needs at least 7 days"
    # 6.5 days fails at_most 6: "6 days" would read as if it passed
    assert text({"tenure": "joined", "at_most": 6}) == "6.5 days since joined; needs at most 6 days"


def test_unknown_kinds_are_named_as_they_are():
    e = explain({"days_since": "quiz", "below": 3}, events=[ev("quiz", 1)])
    assert e.summary() == "last quiz 1 day ago; needs fewer than 3 days"
    assert (
        explain({"days_since": "quiz", "below": 3}, events=[]).summary()
        == "no quiz ever; needs fewer than 3 days"
    )


# -- each leaf's text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "en", "zh"),
    [
        (
            {"count": "purchase", "within": "30d", "at_least": 2},
            "purchase 1 time in the last 30 days; needs at least 2 times",
            "30 天内购买 1 次（要求至少 2 次）",
        ),
        (
            {"count": "purchase", "equals": 1},
            "purchase 1 time ever; needs exactly 1 time",
            "累计购买 1 次（要求等于 1 次）",
        ),
        (
            {"sum": "purchase", "at_least": 100},
            "total purchase 50 ever; needs at least 100",
            "累计购买合计 50（要求至少 100）",
        ),
        (
            {"sum": "tip", "field": "amount", "at_least": 100},
            "total tip amount 0 ever; needs at least 100",
            "累计 tip amount 合计 0（要求至少 100）",
        ),
        (
            {"count": "quiz", "within": "7d", "at_least": 1},
            "quiz 0 times in the last 7 days; needs at least 1 time",
            "7 天内 quiz 0 次（要求至少 1 次）",
        ),
        (
            {"distinct_days": "message", "since": "joined", "at_least": 3},
            "message on 1 day since joined; needs at least 3 days",
            "自入群以来有 1 天发言（要求至少 3 天）",
        ),
        (
            {"tenure": "joined", "above": 30},
            "30 days since joined; needs more than 30 days",
            "入群 30 天（要求多于 30 天）",
        ),
        (
            {"label": ["premium", "vip"]},
            "labels: A; needs a label premium, vip",
            "标签：A（要求带有标签 premium, vip）",
        ),
        (
            {"attr": "city", "in": ["上海"]},
            "city is '杭州'; needs one of ['上海']",
            "city 为 '杭州'（要求属于 ['上海']）",
        ),
        ({"attr": "age", "at_least": 18}, "age is missing; needs at least 18", "age 为 缺失（要求至少 18）"),
        ({"role": ["core", "kol"]}, "role is member; needs core or kol", "角色为 member（要求是 core、kol）"),
    ],
)
def test_leaf_text(data, en, zh):
    e = explain(data)
    assert e.summary("en") == en
    assert e.summary("zh") == zh
    assert e.render("en") == ("✓ " if e.passed else "✗ ") + en


@pytest.mark.parametrize(
    ("data", "en", "zh"),
    [
        ({"label": "A"}, "labels: A; needs no label A", "标签：A（要求没有标签 A）"),
        ({"role": "member"}, "role is member; needs not member", "角色为 member（要求不是 member）"),
        (
            {"attr": "city", "in": ["杭州"]},
            "city is '杭州'; needs none of ['杭州']",
            "city 为 '杭州'（要求不属于 ['杭州']）",
        ),
        (
            {"count": "purchase", "equals": 1},
            "purchase 1 time ever; needs anything but 1",
            "累计购买 1 次（要求不等于 1）",
        ),
        (
            {"count": "purchase", "at_least": 1, "at_most": 2},
            "purchase 1 time ever; needs not (at least 1 time and at most 2 times)",
            "累计购买 1 次（要求不满足（至少 1 次且至多 2 次））",
        ),
    ],
)
def test_negated_leaf_text(data, en, zh):
    e = explain(data)
    assert e.passed
    n = e.negate()
    assert n.missing("en") == en
    assert n.missing("zh") == zh


# -- trees ------------------------------------------------------------------------------------------

TREE = {
    "all": [
        {"days_since": "checkin", "below": 7},
        {"any": [{"count": "purchase", "at_least": 2}, {"label": "A"}]},
        {"at_least_of": 1, "of": [{"role": "core"}, {"not": {"label": "banned"}}]},
    ]
}


def test_render_draws_the_whole_tree():
    e = explain(TREE)
    assert e.render() == "\n".join(
        [
            "✗ all of 3",
            "  ✗ checked in 9 days ago; needs fewer than 7 days",
            "  ✓ any of 2",
            "    ✗ purchase 1 time ever; needs at least 2 times",
            "    ✓ labels: A; needs a label A",
            "  ✓ at least 1 of 2",
            "    ✗ role is member; needs core",
            "    ✓ not",
            "      ✗ labels: A; needs a label banned",
        ]
    )
    assert e.render("zh", indent="-").splitlines()[:3] == [
        "✗ 全部满足（3 项）",
        "-✗ 9 天未打卡（要求少于 7 天）",
        "-✓ 满足任一（2 项）",
    ]


def test_summary_and_missing_follow_the_deciding_leaves():
    e = explain(TREE)
    assert e.decided_by == (0,)
    assert e.summary() == e.missing() == "checked in 9 days ago; needs fewer than 7 days"
    assert [leaf.test for leaf in e.leaves()] == ["days_since", "count", "label", "role", "label"]
    ok = explain(TREE["all"][1])
    assert ok.passed and ok.missing() == ""
    assert ok.summary() == "labels: A; needs a label A"


def test_negation_flips_every_verdict_and_keeps_the_observations():
    e = explain(TREE)
    n = e.negate()
    assert n.passed is not e.passed
    assert n.test == "any"
    assert [x.observed for x in n.leaves()] == [x.observed for x in e.leaves()]
    # every verdict flips, except under the inner "not": not (not x) is x itself
    assert [x.passed for x in n.leaves()][:4] == [not x.passed for x in e.leaves()][:4]
    assert n.leaves()[4] == e.leaves()[4]
    # not (at least 1 of 2) is at least 2 of the 2 negated children
    assert n.children[2].test == "at_least_of" and n.children[2].k == 2
    # the inner "not" is undone: its child stands as it was
    assert n.children[2].children[1] == e.children[2].children[1].children[0]


@pytest.mark.parametrize(
    "data",
    [
        {"count": "purchase", "at_least": 2},
        TREE["all"][1],
        {"all": [TREE["all"][0], TREE["all"][1]]},
        {"at_least_of": 2, "of": [{"label": "A"}, {"role": "core"}, {"count": "message", "at_least": 1}]},
    ],
)
def test_negating_twice_gives_back_the_explanation(data):
    e = explain(data)
    assert e.negate().negate() == e


def test_decision_reasons_depend_on_the_action():
    at_risk = explain({"days_since": "checkin", "at_least": 7})  # an eviction's `when`, met

    def reasons(action, locale="en"):
        d = go.Decision.make(
            policy="weekly", action=action, member="m1", group="camp", period="p", at=AT, explanation=at_risk
        )
        return d.reasons(locale)

    # notice / evict: what is missing to stay (the negated `when`)
    assert reasons("evict") == reasons("notice") == at_risk.negate().missing()
    assert reasons("evict") == "checked in 9 days ago; needs fewer than 7 days"
    assert reasons("evict", "zh") == at_risk.negate().missing("zh")
    # anything that was met (invite, promote, revive...): the summary
    assert reasons("invite") == at_risk.summary() == "checked in 9 days ago; needs at least 7 days"
    # spare: what kept the member; demote: which keep requirement failed
    kept = explain({"days_since": "checkin", "at_least": 30})
    spare = go.Decision.make(
        policy="w", action="spare", member="m", group="g", period="p", at=AT, explanation=kept
    )
    assert spare.reasons() == kept.negate().summary()
    demote = go.Decision.make(
        policy="l", action="demote", member="m", group="g", period="p", at=AT, explanation=kept
    )
    assert demote.reasons() == kept.missing()
    assert go.Decision.make(policy="p", action="a", member="m", group="g", period="p", at=AT).reasons() == ""


# -- JSON ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"days_since": "checkin", "at_least": 7},
        {"count": "purchase", "within": "30d", "at_least": 2},
        TREE,
        {"all": [{"days_since": "never-happens", "at_least": 7}, {"attr": "city", "in": ["杭州", 1, True]}]},
    ],
)
def test_json_round_trip(data):
    e = explain(data)
    assert go.Explanation.model_validate_json(e.model_dump_json()) == e
    assert go.Explanation.model_validate(json.loads(json.dumps(e.to_json()))) == e
    n = e.negate()
    assert go.Explanation.model_validate_json(n.model_dump_json()) == n


def test_infinity_survives_json_as_a_number():
    e = explain({"days_since": "checkin", "at_least": 7}, events=[])
    text = e.model_dump_json()
    assert '"observed":"Infinity"' in text
    back = go.Explanation.model_validate_json(text)
    assert back.observed == math.inf and isinstance(back.observed, float)
    assert back == e
    assert e.to_json()["observed"] == "Infinity"
    json.dumps(e.to_json(), allow_nan=False)  # standard JSON: no bare Infinity


def test_a_string_observation_that_looks_like_infinity_stays_a_string():
    member = MEMBER.model_copy(update={"attributes": {"city": "Infinity"}})
    ctx = go.rules.Context(
        at=AT, tz=TZ, history=go.rules.Community(TZ).history("m1"), group="camp", member=member
    )
    e = go.rules.evaluate(CONDITION.validate_python({"attr": "city", "equals": "Infinity"}), ctx)
    back = go.Explanation.model_validate_json(e.model_dump_json())
    assert back.observed == "Infinity" and back == e


def test_to_json_is_compact_but_always_says_passed():
    data = explain({"label": "vip"}).to_json()
    assert data["passed"] is False
    assert data["test"] == "label" and "children" not in data and "window" not in data
    assert json.loads(json.dumps(data)) == data


def test_window_start_is_kept_in_json():
    e = explain({"count": "purchase", "within": "30d", "at_least": 2})
    assert e.window_start == AT - timedelta(days=30)
    back = go.Explanation.model_validate_json(e.model_dump_json())
    assert back.window_start == e.window_start


def test_english_reasons_say_the_unit_of_the_threshold():
    def text(**leaf):
        return go.Explanation(passed=False, **leaf).summary("en")

    # before: "posted 2 days ago; needs fewer than 21" (21 what?)
    assert text(test="days_since", subject="message", observed=2.0, expect={"below": 21}) == (
        "posted 2 days ago; needs fewer than 21 days"
    )
    assert text(test="count", subject="purchase", observed=1.0, expect={"above": 2}, window="within 30d") == (
        "purchase 1 time in the last 30 days; needs more than 2 times"
    )
    assert text(test="distinct_days", subject="checkin", observed=2.0, expect={"at_least": 1}) == (
        "checkin on 2 days ever; needs at least 1 day"
    )
    assert text(test="tenure", subject="joined", observed=3.0, expect={"at_least": 30}) == (
        "3 days since joined; needs at least 30 days"
    )
    # a sum or an attribute has no unit of its own: nothing is made up
    assert text(test="sum", subject="purchase", observed=5.0, expect={"at_least": 10}).endswith(
        "needs at least 10"
    )


def test_the_chinese_explain_report_has_a_chinese_header():
    report = go.ExplainReport(
        member="m1",
        group="camp-7",
        policy="roles",
        policy_type="ladder",
        at=datetime(2026, 11, 6, 20, tzinfo=TZ),
        notes=(go.Note(kind="top_unguarded", values={"role": "kol"}),),
    )
    zh = report.render("zh").splitlines()
    # before: "m1 in camp-7 — roles (ladder) at ..." above Chinese lines
    assert zh[0] == "m1 在 camp-7 —— 规则 roles（阶梯），时间 2026-11-06T20:00:00+08:00"
    assert zh[1] == "说明：kol 是此阶梯的最高一级：没有更高的角色可晋升，也没有保持条件，不会被规则降级"
    assert report.render("en").splitlines()[0] == "m1 in camp-7 — roles (ladder) at 2026-11-06T20:00:00+08:00"
