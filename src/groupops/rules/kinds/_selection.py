"""Selecting members by segment: the ``segment`` field the segment kinds share
(``invite``, ``broadcast``, ``campaign``) and the members it selects at one instant."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

from .._conditions import Condition
from .._evaluate import evaluate
from .._explain import Explanation
from ._registry import Runtime

__all__ = ["SegmentField", "segment_members", "selected"]


def _segment_value(value: Any) -> Any:
    """``bplus-sdr`` -> ``{segment: bplus-sdr}``; a list of names and conditions -> any of
    them (a member in two of the segments is selected once)."""
    if isinstance(value, str):
        return {"segment": value}
    if isinstance(value, list | tuple):
        items = [{"segment": v} if isinstance(v, str) else v for v in value]
        return items[0] if len(items) == 1 else {"any": items}
    return value


SegmentField = Annotated[Condition, BeforeValidator(_segment_value)]
"""A policy's ``segment``: the name of one of the book's ``segments``, a condition, or a
list of names and conditions (members in any of them)."""


def prefetch(rt: Runtime, members: Iterable[str]) -> None:
    """Hint the run's facts that the histories of ``members`` are about to be read (a
    store that answers facts reads them in a few queries, not one per member)."""
    hint = getattr(rt.facts, "prefetch", None)
    if hint is not None:
        hint(members)


def selected(condition: Any, rt: Runtime, member: str, at: datetime) -> Explanation:
    """Whether ``member`` is in the segment at ``at``, and why (member-wide: events in
    every group count, ``member_of`` sees every group)."""
    return evaluate(condition, rt.member_context(member, at))


def segment_members(
    condition: Any, rt: Runtime, at: datetime, members: Iterable[str] | None = None
) -> list[tuple[str, Explanation]]:
    """The members (of ``members``, else every member profile, also those in no group)
    in the segment at ``at``, by id, each with why."""
    candidates = sorted(set(members) if members is not None else set(rt.profiles))
    prefetch(rt, candidates)
    out: list[tuple[str, Explanation]] = []
    for member in candidates:
        why = selected(condition, rt, member, at)
        if why.passed:
            out.append((member, why))
    return out
