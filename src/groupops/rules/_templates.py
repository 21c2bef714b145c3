"""Safe message templates: ``{member.name}``-style placeholders and nothing else.

A template may name only the placeholders in :data:`PLACEHOLDERS`; a dotted name is a
plain key, never an attribute walk, and format specs or conversions are refused, so a
template cannot run code or read anything it was not given.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from .._i18n import messages

__all__ = ["GROUP_TASK_TEMPLATES", "PLACEHOLDERS", "TASK_TEMPLATES", "check_template", "render_template"]

PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "member.id",
        "member.name",
        "group.id",
        "group.name",
        "target.id",
        "target.name",
        "policy",
        "action",
        "period",
        "reasons",
        "deadline",
        "role",
        "at",
        "invitation",
        "invitation.number",
        "invitation.max",
        "text",
    }
)

_FORMATTER = string.Formatter()

TASK_TEMPLATES: Mapping[str, str] = messages("task.member")
"""The operator task's default text per locale: an action a messenger cannot carry out.
Each action's own default text belongs to the kind that decides it."""

GROUP_TASK_TEMPLATES: Mapping[str, str] = messages("task.group")
"""The operator task's default text for a decision about a group alone (a post the
messenger cannot make, a rename): ``{text}`` is what the action's own message says."""


def check_template(text: str, extra: frozenset[str] = frozenset()) -> list[str]:
    """Problems with a template: unknown placeholders, format specs, conversions.
    ``extra``: placeholders the registered kinds add."""
    problems: list[str] = []
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as exc:
        return [f"{text!r} is not a valid template: {exc}"]
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in PLACEHOLDERS and field not in extra:
            known = ", ".join(sorted(PLACEHOLDERS | extra))
            problems.append(f"unknown placeholder {{{field}}} (known: {known})")
        elif spec or conversion:
            problems.append(f"placeholder {{{field}}} may not carry a format spec or conversion")
    return problems


def render_template(text: str, context: Mapping[str, object]) -> str:
    """Fill a template checked by :func:`check_template` from a flat mapping. A value
    that is a function of no arguments is called for its text (a placeholder that is
    costly to word, worded only where a template names it)."""
    out: list[str] = []
    for literal, field, _, _ in _FORMATTER.parse(text):
        out.append(literal)
        if field is not None:
            if field not in PLACEHOLDERS and field not in context:
                raise ValueError(f"unknown placeholder {{{field}}}")
            value = context.get(field, "")
            if callable(value):
                value = value()
            out.append("" if value is None else str(value))
    return "".join(out)
