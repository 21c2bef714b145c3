"""Turning pydantic's validation errors into groupops problems with readable paths."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from ._errors import Problem

__all__ = ["format_path", "problems_from"]

_PREFIXES = ("Value error, ", "Assertion failed, ")


def format_path(loc: Sequence[int | str], prefix: str = "") -> str:
    """``('policies', 1, '<eviction>', 'when', 'any', 0, '<count>', 'within')`` →
    ``policies[1].when.any[0].within``. Union tags are written ``<tag>`` and dropped."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("<") or part.startswith("function-"):
            continue
        else:
            out += f".{part}" if out else part
    return out


def _message(err: Any) -> str:
    msg: str = err["msg"]
    for p in _PREFIXES:
        if msg.startswith(p):
            return msg[len(p) :]
    kind = err.get("type", "")
    value = err.get("input")
    if kind == "extra_forbidden":
        return "is not a known key"
    if kind == "missing":
        return "is required"
    if kind == "too_short" and "min_length" in err.get("ctx", {}):
        need, got = err["ctx"]["min_length"], err["ctx"].get("actual_length", 0)
        return f"needs at least {need} item{'s' if need != 1 else ''}, got {got}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return msg
    if value is not None and not isinstance(value, dict | list):
        return f"{value!r}: {msg[0].lower()}{msg[1:]}"
    return msg[0].lower() + msg[1:]


def problems_from(exc: ValidationError, prefix: str = "") -> list[Problem]:
    """One :class:`Problem` per pydantic error, deduplicated, in order.

    A list that came out too short only because its items were invalid is not reported
    again: the items' own problems say what is wrong."""
    errors = exc.errors(include_url=False)
    paths = [format_path(err["loc"], prefix) for err in errors]
    seen: set[tuple[str, str]] = set()
    out: list[Problem] = []
    for err, path in zip(errors, paths, strict=True):
        if err["type"] == "too_short" and any(p.startswith(path + "[") for p in paths):
            continue
        key = (path, _message(err))
        if key not in seen:
            seen.add(key)
            out.append(Problem(*key))
    return out
