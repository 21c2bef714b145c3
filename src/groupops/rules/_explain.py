"""Explanation trees: why a condition passed or failed, as text (en / zh) and JSON.

An :class:`Explanation` mirrors the condition it explains. Every leaf carries the
observed value, the threshold and whether it passed; every combinator carries its
children and which of them decided the outcome.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, model_validator

from ._conditions import _compare

__all__ = ["Explanation", "Locale", "decisive_children"]

Locale = Literal["en", "zh"]
Observed = float | str | list[str] | None

_COMBINATORS = frozenset({"all", "any", "not", "at_least_of"})
_NUMERIC_TESTS = frozenset(
    {"count", "sum", "distinct_days", "days_since", "tenure", "metric", "points", "referees"}
)
_NON_FINITE = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}
_NEGATE = {"at_least": "below", "below": "at_least", "at_most": "above", "above": "at_most"}
_SELF_NEGATING = frozenset({"has", "role", "in", "equals", "present", "member_of", "member_of_kind"})


def decisive_children(test: str, passed: bool, results: list[bool]) -> tuple[int, ...]:
    """Which children decided a combinator's outcome.

    ``all`` that passed: every child; that failed: the failing ones. ``any`` that passed:
    the passing ones; that failed: every child. ``at_least_of``: the children on the side
    of the outcome. ``not``: its one child.
    """
    idx = range(len(results))
    if test == "not":
        return (0,)
    if test == "all":
        return tuple(idx) if passed else tuple(i for i in idx if not results[i])
    if test == "any":
        return tuple(i for i in idx if results[i]) if passed else tuple(idx)
    # at_least_of
    return tuple(i for i in idx if results[i] == passed)


class Explanation(BaseModel):
    """Why a condition passed or failed at one moment.

    ``test`` is the condition's key (``count``, ``days_since``, ``all``, ...). Leaves fill
    ``subject`` (event kind, label, attribute, ...), ``observed`` (``inf`` for "never"),
    ``expect`` (the comparators, e.g. ``{"at_least": 7}``), and the window they looked at.
    Combinators fill ``children`` and ``decided_by``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="strings")

    test: str
    passed: bool
    subject: str | list[str] | None = None
    observed: Observed = None
    expect: dict[str, Any] = {}
    window: str | None = None
    window_start: AwareDatetime | None = None
    scope: str | None = None
    field: str | None = None
    k: int | None = None
    negated: bool = False
    children: tuple[Explanation, ...] = ()
    decided_by: tuple[int, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _non_finite_from_json(cls, data: Any) -> Any:
        # JSON writes inf as "Infinity"; a numeric leaf must read it back as a number,
        # not as the string (which ``observed: float | str`` would otherwise keep).
        if isinstance(data, dict) and data.get("test") in _NUMERIC_TESTS:
            observed = data.get("observed")
            if isinstance(observed, str) and observed in _NON_FINITE:
                return {**data, "observed": _NON_FINITE[observed]}
        return data

    @classmethod
    def model_construct(cls, _fields_set: set[str] | None = None, **values: Any) -> Explanation:  # type: ignore[override]
        """As pydantic's ``model_construct`` (no validation), which the evaluator calls
        for every node it builds: for keyword fields only, the defaults come from a
        table made once, at a fraction of the generic method's cost; the instance is
        the same (fields, defaults, fields set)."""
        defaults = _CONSTRUCT_DEFAULTS.get(cls)
        if defaults is None or not defaults.keys() >= values.keys() or not _REQUIRED <= values.keys():
            return super().model_construct(_fields_set, **values)
        fields = {
            name: values[name] if name in values else (default.copy() if type(default) is dict else default)
            for name, default in defaults.items()
        }
        node = cls.__new__(cls)
        _setattr(node, "__dict__", fields)
        _setattr(node, "__pydantic_fields_set__", set(values) if _fields_set is None else _fields_set)
        _setattr(node, "__pydantic_extra__", None)
        _setattr(node, "__pydantic_private__", None)
        return node

    # -- structure -------------------------------------------------------------------

    @property
    def is_leaf(self) -> bool:
        """True for a leaf (anything but all / any / not / at_least_of)."""
        return self.test not in _COMBINATORS

    def leaves(self) -> list[Explanation]:
        """Every leaf, depth first."""
        if self.is_leaf:
            return [self]
        return [leaf for child in self.children for leaf in child.leaves()]

    def deciding_leaves(self) -> list[Explanation]:
        """The leaves that decided the outcome, following ``decided_by`` down the tree."""
        if self.is_leaf:
            return [self]
        return [leaf for i in self.decided_by for leaf in self.children[i].deciding_leaves()]

    def negate(self) -> Explanation:
        """The explanation of ``not <condition>``, written positively.

        ``{days_since: checkin, at_least: 7}`` that passed becomes "needs fewer than 7"
        that failed: what a notice tells a member to fix.
        """
        if self.test == "not":
            return self.children[0]
        if self.is_leaf:
            return self.model_copy(update={"passed": not self.passed, "negated": not self.negated})
        children = tuple(c.negate() for c in self.children)
        results = [c.passed for c in children]
        if self.test in ("all", "any"):
            test = "any" if self.test == "all" else "all"
            return self.model_copy(
                update={
                    "test": test,
                    "passed": not self.passed,
                    "children": children,
                    "decided_by": decisive_children(test, not self.passed, results),
                }
            )
        k = len(children) - (self.k or 0) + 1
        return self.model_copy(
            update={
                "k": k,
                "passed": not self.passed,
                "children": children,
                "decided_by": decisive_children("at_least_of", not self.passed, results),
            }
        )

    # -- rendering -------------------------------------------------------------------

    def summary(self, locale: Locale | str = "en") -> str:
        """The deciding leaves as one line: ``checked in 9 days ago; needs fewer than 7 days``."""
        sep = "；" if locale == "zh" else "; "
        return sep.join(_leaf_text(leaf, locale) for leaf in self.deciding_leaves())

    def missing(self, locale: Locale | str = "en") -> str:
        """For a failed requirement: the failing leaves that decided it, as one line."""
        sep = "；" if locale == "zh" else "; "
        return sep.join(_leaf_text(leaf, locale) for leaf in self.deciding_leaves() if not leaf.passed)

    def requirements(self, locale: Locale | str = "en") -> str:
        """What the condition asks, in words, without anyone's figures: each leaf's
        event, window and threshold (``checkin in the last 7 days: at least 3 times``),
        joined by the top combinator (``and`` / ``or``). For a rule announced to a group."""
        leaves: list[Explanation] = []

        def walk(node: Explanation) -> None:
            if node.is_leaf:
                leaves.append(node)
            for child in node.children:
                walk(child)

        walk(self)
        zh = locale == "zh"
        any_of = self.test == "any" or (self.test == "at_least_of" and self.k == 1)
        joiner = ("或" if any_of else "；") if zh else (" or " if any_of else "; ")
        return joiner.join(_leaf_requirement(leaf, str(locale)) for leaf in leaves)

    def render(self, locale: Locale | str = "en", *, indent: str = "  ") -> str:
        """The whole tree as indented text, one line per node, ✓ or ✗ in front."""
        lines: list[str] = []
        self._render_into(lines, 0, locale, indent)
        return "\n".join(lines)

    def _render_into(self, lines: list[str], depth: int, locale: str, indent: str) -> None:
        mark = "✓" if self.passed else "✗"
        if self.is_leaf:
            lines.append(f"{indent * depth}{mark} {_leaf_text(self, locale)}")
            return
        lines.append(f"{indent * depth}{mark} {_combinator_text(self, locale)}")
        for child in self.children:
            child._render_into(lines, depth + 1, locale, indent)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``inf`` is written ``"Infinity"``)."""
        # through JSON text: model_dump(mode="json") would leave inf a float, which
        # json.dumps writes as the non-standard literal Infinity
        data: dict[str, Any] = json.loads(self.model_dump_json(exclude_defaults=True))
        return data | {"passed": self.passed}


# -- text --------------------------------------------------------------------------

# How a few common event kinds read in a sentence; any other kind is named as it is.
_setattr = object.__setattr__
# Explanation.model_construct's table: every field and its default (a required field's
# default is never used: without it the generic method builds the node)
_CONSTRUCT_DEFAULTS: dict[type[BaseModel], dict[str, Any]] = {
    Explanation: {name: field.default for name, field in Explanation.model_fields.items()}
}
_REQUIRED = frozenset(name for name, field in Explanation.model_fields.items() if field.is_required())
assert not any(field.default_factory for field in Explanation.model_fields.values())


_VERBS: dict[str, tuple[str, str, str]] = {
    # kind: (english past tense, english "never" form, chinese verb)
    "checkin": ("checked in", "never checked in", "打卡"),
    "purchase": ("purchased", "never purchased", "购买"),
    "message": ("posted", "never posted", "发言"),
    "payment": ("paid", "never paid", "付款"),
    "activity": ("took part in an activity", "never took part in an activity", "参加活动"),
    "redemption": ("redeemed points", "never redeemed points", "兑换积分"),
    "violation": ("broke a rule", "never broke a rule", "违规"),
    "answer": ("answered", "never answered", "回答"),
    "referral": ("referred someone", "never referred anyone", "推荐"),
}
_ZH_NOUN = {kind: zh for kind, (_, _, zh) in _VERBS.items()}

_EN_CMP = {
    "at_least": "at least",
    "at_most": "at most",
    "above": "more than",
    "below": "fewer than",
    "equals": "exactly",
    "in": "one of",
}
_ZH_CMP = {
    "at_least": "至少",
    "at_most": "至多",
    "above": "多于",
    "below": "少于",
    "equals": "等于",
    "in": "属于",
}


def _num(value: Any) -> str:
    if isinstance(value, float):
        if math.isinf(value):
            return "∞"
        if value.is_integer():
            return str(int(value))
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def _days(leaf: Explanation) -> str:
    """A number of days as people say it: whole days, unless rounding down would
    contradict the verdict (6.5 days against ``at_most: 6``), then to two places."""
    obs = leaf.observed
    if not isinstance(obs, float | int):
        return _num(obs)
    whole = float(math.floor(obs))
    if _compare(whole, leaf.expect) != _compare(float(obs), leaf.expect):
        return _num(float(obs))
    return _num(whole)


def _zh_name(kind: str) -> str:
    """An event kind inside a Chinese sentence: its word if known, else the kind set off
    by spaces (trimmed where it meets punctuation or the start)."""
    return _ZH_NOUN.get(kind) or f" {kind} "


def _zh(text: str) -> str:
    while "  " in text:
        text = text.replace("  ", " ")
    for mark in "（）：；":
        text = text.replace(f" {mark}", mark).replace(f"{mark} ", mark)
    return text.strip()


def _expectations(leaf: Explanation) -> list[tuple[str, Any]]:
    items = list(leaf.expect.items())
    if not leaf.negated:
        return items
    if len(items) == 1 and items[0][0] in _NEGATE:
        return [(_NEGATE[items[0][0]], items[0][1])]
    if len(items) == 1 and items[0][0] in _SELF_NEGATING:
        return items  # _requirement words these negated itself ("no label vip")
    return [("not", items)]


def _en_unit(value: Any, unit: str) -> str:
    """`` days`` / `` times`` after an English number, singular for 1."""
    if not unit:
        return ""
    return f" {unit}" if _num(value) == "1" else f" {unit}s"


def _requirement(leaf: Explanation, locale: str, unit: str = "") -> str:
    """What the leaf needs, e.g. ``fewer than 7 days``. ``unit`` is the zh unit with its
    space (`` 天``), or the en singular (``day``), pluralised here."""
    parts: list[str] = []
    table = _ZH_CMP if locale == "zh" else _EN_CMP
    for key, value in _expectations(leaf):
        if key == "not":
            inner = leaf.model_copy(update={"negated": False})
            text = _requirement(inner, locale, unit)
            parts.append(f"不满足（{text}）" if locale == "zh" else f"not ({text})")
            continue
        if key == "has":
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            if locale == "zh":
                parts.append(("没有" if leaf.negated else "带有") + f"标签 {shown}")
            else:
                parts.append(("no" if leaf.negated else "a") + f" label {shown}")
            continue
        if key == "role":
            shown = " or ".join(map(str, value)) if locale != "zh" else "、".join(map(str, value))
            if locale == "zh":
                parts.append(("不是" if leaf.negated else "是") + f" {shown}")
            else:
                parts.append(("not " if leaf.negated else "") + shown)
            continue
        if key == "present":
            if locale == "zh":
                parts.append("没有推荐人" if leaf.negated else "有推荐人")
            else:
                parts.append("no referrer" if leaf.negated else "a referrer")
            continue
        if key in ("member_of", "member_of_kind"):
            sep = "、" if locale == "zh" else " or "
            shown = sep.join(map(str, value))
            if locale == "zh":
                what = f"{shown} 类群" if key == "member_of_kind" else f"群 {shown}"
                parts.append(("不在" if leaf.negated else "在") + what)
            else:
                what = f"a group of kind {shown}" if key == "member_of_kind" else shown
                parts.append(("not in " if leaf.negated else "in ") + what)
            continue
        if key == "in":
            word = (
                ("不属于" if leaf.negated else table[key])
                if locale == "zh"
                else ("none of" if leaf.negated else table[key])
            )
            parts.append(f"{word} {value!r}")
            continue
        if key == "equals" and leaf.negated and len(leaf.expect) == 1:
            parts.append(f"不等于 {_num(value)}" if locale == "zh" else f"anything but {_num(value)}")
            continue
        shown = unit if locale == "zh" else _en_unit(value, unit)
        parts.append(f"{table[key]} {_num(value)}{shown}")
    joiner = "且" if locale == "zh" else " and "
    return joiner.join(parts)


def _window_en(leaf: Explanation) -> str:
    if leaf.window is None:
        return "ever"
    kind, _, arg = leaf.window.partition(" ")
    if kind == "within":
        from ._time import parse_duration

        return f"in the last {parse_duration(arg).describe('en')}"
    return f"since {arg.replace('_', ' ')}"


def _window_zh(leaf: Explanation) -> str:
    if leaf.window is None:
        return "累计"
    kind, _, arg = leaf.window.partition(" ")
    if kind == "within":
        from ._time import parse_duration

        return f"{parse_duration(arg).describe('zh')}内"
    names = {
        "joined": "入群",
        "evicted": "被移出",
        "revived": "复活",
        "promoted": "晋升",
        "period_start": "本期开始",
    }
    return f"自{names.get(arg, arg)}以来"


def _leaf_requirement(leaf: Explanation, locale: str) -> str:
    subject = leaf.subject if isinstance(leaf.subject, str) else ", ".join(leaf.subject or [])
    if leaf.test in _OTHERS_TESTS:
        return _others_requirement(leaf, locale)
    if locale == "zh":
        noun = _ZH_NOUN.get(subject, subject)
        unit = " 次" if leaf.test == "count" else " 天" if leaf.test in _EN_UNITS else ""
        need = _requirement(leaf, "zh", unit)
        window = _window_zh(leaf) if leaf.test in ("count", "sum", "distinct_days") else ""
        return _zh(f"{window}{noun}：{need}")
    need = _requirement(leaf, "en", _EN_UNITS.get(leaf.test, ""))
    if leaf.test in ("count", "sum", "distinct_days"):
        return f"{subject} {_window_en(leaf)}: {need}"
    if leaf.test == "days_since":
        return f"days since {subject}: {need}"
    return f"{subject}: {need}"


def _leaf_text(leaf: Explanation, locale: str) -> str:
    if leaf.test in _OTHERS_TESTS:
        return _others_text(leaf, locale)
    return _leaf_zh(leaf) if locale == "zh" else _leaf_en(leaf)


# the unit a leaf's threshold is in, so that "needs fewer than 21" says 21 what
_EN_UNITS = {
    "count": "time",
    "distinct_days": "day",
    "days_since": "day",
    "tenure": "day",
    "points": "point",
    "referees": "referee",
}
_ZH_UNITS = {"points": " 分", "referees": " 人"}
# leaves over other members and the points ledger: worded by the two functions below
_OTHERS_TESTS = frozenset({"points", "referees"})


def _unit(leaf: Explanation, locale: str) -> str:
    return _ZH_UNITS.get(leaf.test, "") if locale == "zh" else _EN_UNITS.get(leaf.test, "")


def _others_requirement(leaf: Explanation, locale: str) -> str:
    need = _requirement(leaf, locale, _unit(leaf, locale))
    if locale == "zh":
        return _zh(("积分余额：" if leaf.test == "points" else "合格的被推荐人：") + need)
    return ("points balance: " if leaf.test == "points" else "referees who qualify: ") + need


def _others_text(leaf: Explanation, locale: str) -> str:
    """A leaf over other members or the ledger, observed and needed."""
    obs = leaf.observed
    zh = locale == "zh"
    need = _requirement(leaf, locale, _unit(leaf, locale))
    if leaf.test == "points":
        if zh:
            return _zh(f"积分余额 {_num(obs)}（要求{need}）")
        return f"points balance {_num(obs)}; needs {need}"
    names = leaf.subject if isinstance(leaf.subject, list) else []
    n = _num(obs)
    if zh:
        listed = f"：{'、'.join(names)}" if names else ""
        return _zh(f"合格的被推荐人 {n} 人{listed}（要求{need}）")
    if not names:
        return f"no referee qualifies; needs {need}"
    verb = "qualifies" if n == "1" else "qualify"
    return f"{n} referee{'' if n == '1' else 's'} {verb} ({', '.join(names)}); needs {need}"


def _leaf_en(leaf: Explanation) -> str:
    subject = leaf.subject if isinstance(leaf.subject, str) else ", ".join(leaf.subject or [])
    obs = leaf.observed
    t = leaf.test
    need = _requirement(leaf, "en", _EN_UNITS.get(t, ""))
    if t == "count":
        n = _num(obs)
        times = "time" if n == "1" else "times"
        return f"{subject} {n} {times} {_window_en(leaf)}; needs {need}"
    if t == "sum":
        what = subject if leaf.field in (None, "value") else f"{subject} {leaf.field}"
        return f"total {what} {_num(obs)} {_window_en(leaf)}; needs {need}"
    if t == "distinct_days":
        n = _num(obs)
        return f"{subject} on {n} day{'' if n == '1' else 's'} {_window_en(leaf)}; needs {need}"
    if t == "days_since":
        verb, never, _ = _VERBS.get(subject, (f"last {subject}", f"no {subject} ever", ""))
        if isinstance(obs, float) and math.isinf(obs):
            return f"{never}; needs {need}"
        n = _days(leaf)
        return f"{verb} {n} day{'' if n == '1' else 's'} ago; needs {need}"
    if t == "tenure":
        n = _days(leaf)
        return f"{n} day{'' if n == '1' else 's'} since {subject}; needs {need}"
    if t == "label":
        have = ", ".join(obs) if isinstance(obs, list) and obs else "none"
        return f"labels: {have}; needs {need}"
    if t == "attr":
        shown = "missing" if obs is None else repr(obs)
        return f"{subject} is {shown}; needs {need}"
    if t == "role":
        return f"role is {obs}; needs {need}"
    if t in ("source", "referrer"):
        shown = "none" if obs is None else repr(obs)
        return f"{t} is {shown}; needs {need}"
    if t == "member_of":
        key = next(iter(leaf.expect), "member_of")
        have = ", ".join(obs) if isinstance(obs, list) and obs else "none"
        what = "in groups of kind" if key == "member_of_kind" else "in groups"
        return f"{what}: {have}; needs {need}"
    return f"{subject} is {_num(obs)} {_window_en(leaf)}; needs {need}"


def _leaf_zh(leaf: Explanation) -> str:
    return _zh(_leaf_zh_raw(leaf))


def _leaf_zh_raw(leaf: Explanation) -> str:
    subject = leaf.subject if isinstance(leaf.subject, str) else "、".join(leaf.subject or [])
    noun = _zh_name(subject)
    obs = leaf.observed
    t = leaf.test
    if t == "count":
        return f"{_window_zh(leaf)}{noun} {_num(obs)} 次（要求{_requirement(leaf, 'zh', ' 次')}）"
    if t == "sum":
        field = "" if leaf.field in (None, "value") else f" {leaf.field} "
        return f"{_window_zh(leaf)}{noun}{field}合计 {_num(obs)}（要求{_requirement(leaf, 'zh')}）"
    if t == "distinct_days":
        return f"{_window_zh(leaf)}有 {_num(obs)} 天{noun}（要求{_requirement(leaf, 'zh', ' 天')}）"
    if t == "days_since":
        need = _requirement(leaf, "zh", " 天")
        if isinstance(obs, float) and math.isinf(obs):
            return f"从未{noun}（要求{need}）"
        return f"{_days(leaf)} 天未{noun}（要求{need}）"
    if t == "tenure":
        names = {"joined": "入群", "evicted": "被移出", "revived": "复活", "promoted": "晋升"}
        return f"{names.get(subject, subject)} {_days(leaf)} 天（要求{_requirement(leaf, 'zh', ' 天')}）"
    if t == "label":
        have = "、".join(obs) if isinstance(obs, list) and obs else "无"
        return f"标签：{have}（要求{_requirement(leaf, 'zh')}）"
    if t == "attr":
        shown = "缺失" if obs is None else repr(obs)
        return f"{subject} 为 {shown}（要求{_requirement(leaf, 'zh')}）"
    if t == "role":
        return f"角色为 {obs}（要求{_requirement(leaf, 'zh')}）"
    if t in ("source", "referrer"):
        name = "来源渠道" if t == "source" else "推荐人"
        shown = "无" if obs is None else repr(obs)
        return f"{name}为 {shown}（要求{_requirement(leaf, 'zh')}）"
    if t == "member_of":
        have = "、".join(obs) if isinstance(obs, list) and obs else "无"
        what = "所在群类型" if next(iter(leaf.expect), "") == "member_of_kind" else "所在群"
        return f"{what}：{have}（要求{_requirement(leaf, 'zh')}）"
    return f"{_window_zh(leaf)}{subject} 为 {_num(obs)}（要求{_requirement(leaf, 'zh')}）"


def _combinator_text(node: Explanation, locale: str) -> str:
    n = len(node.children)
    if locale == "zh":
        return {
            "all": f"全部满足（{n} 项）",
            "any": f"满足任一（{n} 项）",
            "not": "不满足",
            "at_least_of": f"至少满足 {node.k} 项（共 {n} 项）",
        }[node.test]
    return {
        "all": f"all of {n}",
        "any": f"any of {n}",
        "not": "not",
        "at_least_of": f"at least {node.k} of {n}",
    }[node.test]
