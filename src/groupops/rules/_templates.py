"""Safe message templates: ``{member.name}``-style placeholders and nothing else.

A template may name only the placeholders in :data:`PLACEHOLDERS`; a dotted name is a
plain key, never an attribute walk, and format specs or conversions are refused, so a
template cannot run code or read anything it was not given.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

__all__ = ["DEFAULT_TEMPLATES", "PLACEHOLDERS", "check_template", "invitation_phrase", "render_template"]

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
    }
)

_FORMATTER = string.Formatter()

DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    "en": {
        "welcome": "Welcome to {group.name}, {member.name}!",
        "invite": "{member.name}, you are invited to join {target.name} ({invitation}).",
        "notice": ("{member.name}, you are at risk of removal from {group.name} at {deadline}: {reasons}."),
        "spare": "{member.name}, thank you: you are no longer at risk in {group.name}.",
        "evict": "{member.name} has been removed from {group.name}: {reasons}.",
        "revive": "{member.name}, welcome back to {group.name}.",
        "promote": "{member.name} is now {role} in {group.name}.",
        "demote": "{member.name} is now {role} in {group.name}.",
        "task": "Operator task in {group.name}: {action} {member.name} ({member.id}).",
    },
    "zh": {
        "welcome": "欢迎 {member.name} 加入{group.name}！",
        "invite": "{member.name}，诚邀您加入{target.name}（{invitation}）。",
        "notice": "{member.name}，您将于 {deadline} 被移出{group.name}：{reasons}。",
        "spare": "{member.name}，感谢配合，您在{group.name}已解除移出风险。",
        "evict": "{member.name} 已被移出{group.name}：{reasons}。",
        "revive": "{member.name}，欢迎回到{group.name}。",
        "promote": "{member.name} 在{group.name}晋升为 {role}。",
        "demote": "{member.name} 在{group.name}调整为 {role}。",
        "task": "运营任务（{group.name}）：{action} {member.name}（{member.id}）。",
    },
}


def invitation_phrase(number: int, of: int, locale: str = "en") -> str:
    """Which invitation this is, for the ``{invitation}`` placeholder: ``invitation 1 of
    2`` for the first, ``reminder 1 of 1`` for the next / ``第 2 次邀请，共 2 次``."""
    if locale == "zh":
        return f"第 {number} 次邀请，共 {of} 次"
    if number == 1:
        return f"invitation 1 of {of}"
    return f"reminder {number - 1} of {of - 1}"


def check_template(text: str) -> list[str]:
    """Problems with a template: unknown placeholders, format specs, conversions."""
    problems: list[str] = []
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as exc:
        return [f"{text!r} is not a valid template: {exc}"]
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in PLACEHOLDERS:
            known = ", ".join(sorted(PLACEHOLDERS))
            problems.append(f"unknown placeholder {{{field}}} (known: {known})")
        elif spec or conversion:
            problems.append(f"placeholder {{{field}}} may not carry a format spec or conversion")
    return problems


def render_template(text: str, context: Mapping[str, object]) -> str:
    """Fill a template checked by :func:`check_template` from a flat mapping."""
    out: list[str] = []
    for literal, field, _, _ in _FORMATTER.parse(text):
        out.append(literal)
        if field is not None:
            if field not in PLACEHOLDERS:
                raise ValueError(f"unknown placeholder {{{field}}}")
            value = context.get(field, "")
            out.append("" if value is None else str(value))
    return "".join(out)
