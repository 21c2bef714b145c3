"""Explanation trees: why a condition passed or failed, as text (in any locale of the
message catalogue: every word is an ``explain.*`` entry there) and JSON.

An :class:`Explanation` mirrors the condition it explains. Every leaf carries the
observed value, the threshold and whether it passed; every combinator carries its
children and which of them decided the outcome.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, model_validator

from .._i18n import plural_form
from .._i18n import text as _t
from .._trusted import shared_fields_set
from ._conditions import _compare

__all__ = ["Explanation", "Locale", "decisive_children"]

Locale = Literal["en", "zh"]
"""The locales groupops ships, for type hints; the methods take any locale of the message
catalogue as a ``str``."""
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
        the same (fields, defaults, fields set). Nodes given the same fields share one
        read-only set of their names (a set of nine names is 728 bytes: a third of a
        decision's memory when each node had its own)."""
        defaults = _CONSTRUCT_DEFAULTS.get(cls)
        if defaults is None or not defaults.keys() >= values.keys() or not _REQUIRED <= values.keys():
            return super().model_construct(_fields_set, **values)
        fields = {
            name: values[name] if name in values else (default.copy() if type(default) is dict else default)
            for name, default in defaults.items()
        }
        node = cls.__new__(cls)
        _setattr(node, "__dict__", fields)
        _setattr(
            node,
            "__pydantic_fields_set__",
            shared_fields_set(tuple(values)) if _fields_set is None else _fields_set,
        )
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
        return _t("sep.semicolon", locale).join(_leaf_text(leaf, locale) for leaf in self.deciding_leaves())

    def missing(self, locale: Locale | str = "en") -> str:
        """For a failed requirement: the failing leaves that decided it, as one line."""
        failing = (_leaf_text(leaf, locale) for leaf in self.deciding_leaves() if not leaf.passed)
        return _t("sep.semicolon", locale).join(failing)

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
        any_of = self.test == "any" or (self.test == "at_least_of" and self.k == 1)
        joiner = _t("explain.or" if any_of else "sep.semicolon", locale)
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


_setattr = object.__setattr__
# Explanation.model_construct's table: every field and its default (a required field's
# default is never used: without it the generic method builds the node)
_CONSTRUCT_DEFAULTS: dict[type[BaseModel], dict[str, Any]] = {
    Explanation: {name: field.default for name, field in Explanation.model_fields.items()}
}
_REQUIRED = frozenset(name for name, field in Explanation.model_fields.items() if field.is_required())
assert not any(field.default_factory for field in Explanation.model_fields.values())


# -- text --------------------------------------------------------------------------
# Every word comes from the message catalogue (the ``explain.*`` entries of
# groupops/locales/*.yaml); the code picks the sentence and fills it.

# the unit a leaf's threshold is in, so that "needs fewer than 21" says 21 what
_UNITS = {
    "count": "time",
    "distinct_days": "day",
    "days_since": "day",
    "tenure": "day",
    "points": "point",
    "referees": "referee",
}
# leaves over other members and the points ledger: worded by the two functions below
_OTHERS_TESTS = frozenset({"points", "referees"})
_FULL_WIDTH_MARKS = "（）：；"


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


def _day_count(n: str, locale: str) -> str:
    return _t(f"duration.d.{plural_form(n)}", locale, n=n)


def _tidy(sentence: str, locale: str) -> str:
    """In a locale written without spaces between words (``explain.compact_spaces``),
    the spaces set around a word (an event kind the catalogue has no word for) are
    collapsed, and dropped beside full-width punctuation."""
    if _t("explain.compact_spaces", locale) != "yes":
        return sentence
    while "  " in sentence:
        sentence = sentence.replace("  ", " ")
    for mark in _FULL_WIDTH_MARKS:
        sentence = sentence.replace(f" {mark}", mark).replace(f"{mark} ", mark)
    return sentence.strip()


def _known(message_id: str, locale: str, **values: Any) -> str | None:
    """The catalogue's text for ``message_id``, or None where it has no such entry
    (an event kind or a moment it has no word for)."""
    try:
        return _t(message_id, locale, **values)
    except KeyError:
        return None


def _event_word(kind: str, locale: str) -> str:
    """An event kind as a requirement names it: its word if known, else the kind."""
    return _known(f"explain.event.{kind}", locale) or kind


def _event_noun(kind: str, locale: str) -> str:
    """An event kind inside a sentence: its word if known, else the kind as the locale
    sets off a foreign word (trimmed by :func:`_tidy` where it meets punctuation)."""
    return _known(f"explain.event.{kind}", locale) or _t("explain.unknown_event", locale, kind=kind)


def _moment(anchor: str, locale: str) -> str:
    return _known(f"explain.moment.{anchor}", locale) or anchor


def _expectations(leaf: Explanation) -> list[tuple[str, Any]]:
    items = list(leaf.expect.items())
    if not leaf.negated:
        return items
    if len(items) == 1 and items[0][0] in _NEGATE:
        return [(_NEGATE[items[0][0]], items[0][1])]
    if len(items) == 1 and items[0][0] in _SELF_NEGATING:
        return items  # _requirement words these negated itself ("no label vip")
    return [("not", items)]


def _requirement(leaf: Explanation, locale: str, unit: str = "") -> str:
    """What the leaf needs, e.g. ``fewer than 7 days``. ``unit``: the threshold's unit
    (``day``: ``explain.unit.day.one`` / ``.other``), or none."""
    parts: list[str] = []
    neg = leaf.negated
    for key, value in _expectations(leaf):
        if key == "not":
            inner = leaf.model_copy(update={"negated": False})
            parts.append(_t("explain.need.not", locale, need=_requirement(inner, locale, unit)))
        elif key == "has":
            shown = (
                _t("explain.comma", locale).join(map(str, value)) if isinstance(value, list) else str(value)
            )
            parts.append(_t("explain.need.no_label" if neg else "explain.need.label", locale, labels=shown))
        elif key == "role":
            shown = _t("explain.or_sep", locale).join(map(str, value))
            parts.append(_t("explain.need.not_role" if neg else "explain.need.role", locale, roles=shown))
        elif key == "present":
            parts.append(_t("explain.need.no_referrer" if neg else "explain.need.referrer", locale))
        elif key in ("member_of", "member_of_kind"):
            shown = _t("explain.or_sep", locale).join(map(str, value))
            which = "kind" if key == "member_of_kind" else "group"
            parts.append(_t(f"explain.need.{'not_in' if neg else 'in'}_{which}", locale, groups=shown))
        elif key == "in":
            parts.append(_t("explain.need.not_in" if neg else "explain.need.in", locale, values=repr(value)))
        elif key == "equals" and neg and len(leaf.expect) == 1:
            parts.append(_t("explain.need.not_equal", locale, value=_num(value)))
        else:
            shown = _t(f"explain.unit.{unit}.{plural_form(_num(value))}", locale) if unit else ""
            cmp = _t(f"explain.cmp.{key}", locale)
            parts.append(_t("explain.need.compare", locale, cmp=cmp, value=_num(value), unit=shown))
    return _t("explain.and", locale).join(parts)


def _window(leaf: Explanation, locale: str) -> str:
    if leaf.window is None:
        return _t("explain.window.ever", locale)
    kind, _, arg = leaf.window.partition(" ")
    if kind == "within":
        from .._time import parse_duration

        return _t("explain.window.within", locale, duration=parse_duration(arg).describe(locale))
    return _t("explain.window.since", locale, moment=_moment(arg, locale))


def _leaf_requirement(leaf: Explanation, locale: str) -> str:
    if leaf.test in _OTHERS_TESTS:
        return _others_requirement(leaf, locale)
    subject = (
        leaf.subject
        if isinstance(leaf.subject, str)
        else _t("explain.comma", locale).join(leaf.subject or [])
    )
    need = _requirement(leaf, locale, _UNITS.get(leaf.test, ""))
    event = _event_word(subject, locale)
    if leaf.test in ("count", "sum", "distinct_days"):
        said = _t(
            "explain.requirement.windowed", locale, event=event, window=_window(leaf, locale), need=need
        )
    elif leaf.test == "days_since":
        said = _t("explain.requirement.days_since", locale, event=event, need=need)
    else:
        said = _t("explain.requirement.other", locale, event=event, need=need)
    return _tidy(said, locale)


def _others_requirement(leaf: Explanation, locale: str) -> str:
    need = _requirement(leaf, locale, _UNITS[leaf.test])
    return _tidy(_t(f"explain.requirement.{leaf.test}", locale, need=need), locale)


def _leaf_text(leaf: Explanation, locale: str) -> str:
    """A leaf as one sentence: what was observed, and what it needs."""
    need = _requirement(leaf, locale, _UNITS.get(leaf.test, ""))
    fact = _others_fact(leaf, locale) if leaf.test in _OTHERS_TESTS else _fact(leaf, locale)
    return _tidy(_t("explain.leaf", locale, fact=fact, need=need), locale)


def _others_fact(leaf: Explanation, locale: str) -> str:
    """What was observed of other members or the ledger."""
    n = _num(leaf.observed)
    if leaf.test == "points":
        return _t("explain.fact.points", locale, value=n)
    names = leaf.subject if isinstance(leaf.subject, list) else []
    if not names:
        return _t("explain.fact.no_referees", locale)
    listed = _t("sep.list", locale).join(names)
    return _t(f"explain.fact.referees.{plural_form(n)}", locale, count=n, names=listed)


def _fact(leaf: Explanation, locale: str) -> str:
    """What was observed of the member."""
    sep = _t("sep.list", locale)
    subject = leaf.subject if isinstance(leaf.subject, str) else sep.join(leaf.subject or [])
    obs = leaf.observed
    t = leaf.test
    if t in ("count", "sum", "distinct_days", "days_since"):
        event = _event_noun(subject, locale)
        n = _num(obs)
        if t == "count":
            times = _t(f"explain.times.{plural_form(n)}", locale, n=n)
            return _t("explain.fact.count", locale, event=event, times=times, window=_window(leaf, locale))
        if t == "sum":
            field = "" if leaf.field in (None, "value") else _t("explain.field", locale, field=leaf.field)
            values = {"event": event, "field": field, "value": n, "window": _window(leaf, locale)}
            return _t("explain.fact.sum", locale, **values)
        if t == "distinct_days":
            days = _day_count(n, locale)
            return _t(
                "explain.fact.distinct_days", locale, event=event, days=days, window=_window(leaf, locale)
            )
        if isinstance(obs, float) and math.isinf(obs):
            return _known(f"explain.never.{subject}", locale) or _t(
                "explain.unknown_never", locale, event=event
            )
        days = _day_count(_days(leaf), locale)
        known = _known(f"explain.last.{subject}", locale, days=days)
        return known or _t("explain.unknown_last", locale, event=event, days=days)
    none = _t("word.none", locale)
    if t == "tenure":
        days = _day_count(_days(leaf), locale)
        return _t("explain.fact.tenure", locale, days=days, moment=_moment(subject, locale))
    if t == "label":
        have = sep.join(obs) if isinstance(obs, list) and obs else none
        return _t("explain.fact.labels", locale, labels=have)
    if t == "attr":
        shown = _t("explain.missing", locale) if obs is None else repr(obs)
        return _t("explain.fact.attr", locale, name=subject, value=shown)
    if t == "role":
        return _t("explain.fact.role", locale, role=obs)
    if t in ("source", "referrer"):
        return _t(f"explain.fact.{t}", locale, value=none if obs is None else repr(obs))
    if t == "member_of":
        which = "member_of_kind" if next(iter(leaf.expect), "") == "member_of_kind" else "member_of"
        have = sep.join(obs) if isinstance(obs, list) and obs else none
        return _t(f"explain.fact.{which}", locale, groups=have)
    return _t("explain.fact.value", locale, name=subject, value=_num(obs), window=_window(leaf, locale))


def _combinator_text(node: Explanation, locale: str) -> str:
    return _t(f"explain.{node.test}", locale, n=len(node.children), k=node.k)
