"""Evaluating conditions against facts, producing explanation trees.

:func:`evaluate` is a pure function of the condition, the member's history, the
membership and the moment ``at``: it never reads the clock. Both it and :func:`holds`
run the condition's compiled form (``_compile.py``), compiled once per condition object
and instant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Protocol

from .._model import Member, Membership
from .._time import to_zone
from ._compile import CompiledCondition, _compile
from ._conditions import Condition, Scope
from ._explain import Explanation
from ._facts import History
from ._world import World

__all__ = ["Context", "MetricFunction", "compiled_for", "evaluate", "holds"]


class MetricFunction(Protocol):
    """A plugin metric: a number for one member over a window.

    Called with the member's :class:`History`, the group being evaluated (None for
    member scope), the window's start (None for all time) and end.
    """

    def __call__(
        self, history: History, *, group: str | None, start: datetime | None, end: datetime
    ) -> float: ...


@dataclass(frozen=True)
class Context:
    """Everything a condition may look at for one member in one group at one moment."""

    at: datetime
    tz: tzinfo
    history: History
    group: str
    member: Member | None = None
    membership: Membership | None = None
    default_scope: Scope = "group"
    period_start: datetime | None = None
    metrics: Mapping[str, MetricFunction] = field(default_factory=dict)
    world: World | None = None
    """Other members and the points ledger (``referees``, ``member_of``, ``points``);
    None: only this member's own history and membership are known."""
    present_in: Mapping[str, str] | None = None
    """The groups the member is present in (group id -> the group's kind), for
    ``member_of``; None: only ``membership`` is known (present there, or nowhere)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", to_zone(self.at, self.tz))

    def anchor(self, name: str) -> datetime | None:
        """The moment a ``since``/``tenure`` anchor names, or None if it never happened."""
        if name == "period_start":
            return self.period_start
        ms = self.membership
        if ms is None:
            return None
        return {
            "joined": ms.joined_at,
            "evicted": ms.evicted_at,
            "revived": ms.revived_at,
            "promoted": ms.promoted_at,
        }[name]

    def peer(self, member: str) -> Context:
        """The context of another member at the same instant, in the same group (their
        membership there, if any), with the same scope, window anchor and metrics."""
        world = self.world
        if world is None:
            raise ValueError("peer: this context has no world to read other members from")
        return Context(
            at=self.at,
            tz=self.tz,
            history=world.history(member),
            group=self.group,
            member=world.profile(member),
            membership=world.membership(member, self.group) if self.group else None,
            default_scope=self.default_scope,
            period_start=self.period_start,
            metrics=self.metrics,
            world=world,
        )

    def scope_group(self, scope: Scope | None) -> str | None:
        """The group a leaf counts in: the evaluated group, or None for every event."""
        return None if (scope or self.default_scope) == "member" else self.group


_CACHE_SIZE = 1024
# (id(condition), at, tz, default scope, id(metrics)) -> (condition, metrics, compiled form);
# the condition and metrics are kept so their ids cannot be reused while cached
_compiled: dict[tuple[Any, ...], tuple[Any, Any, CompiledCondition]] = {}


def compiled_for(condition: Any, ctx: Context) -> CompiledCondition:
    """``condition`` compiled for ``ctx``'s instant, time zone, scope and metrics.

    Cached per condition object, so a run that evaluates one condition for every member
    compiles it once; the mapping form (``{"count": ...}``) is parsed and compiled anew.
    """
    # bound lazily: a trailing window's start is computed when a member first needs it
    if isinstance(condition, Mapping):
        return _compile(condition, ctx.at, ctx.tz, ctx.default_scope, ctx.metrics, lazy=True)
    metrics = ctx.metrics or None
    key = (id(condition), ctx.at, ctx.tz, ctx.default_scope, id(metrics))
    hit = _compiled.get(key)
    if hit is not None and hit[0] is condition and hit[1] is metrics:
        return hit[2]
    compiled = _compile(condition, ctx.at, ctx.tz, ctx.default_scope, metrics or {}, lazy=True)
    if len(_compiled) >= _CACHE_SIZE:
        _compiled.clear()
    _compiled[key] = (condition, metrics, compiled)
    return compiled


def evaluate(condition: Condition | Mapping[str, object], ctx: Context) -> Explanation:
    """Evaluate ``condition`` (a model or its mapping form, ``{"count": ...}``) in
    ``ctx``; the explanation says whether it holds and why.

    Every child of a combinator is evaluated (no short-circuit), so the explanation is
    complete: an operator sees every requirement, met or not. Built from the same
    compiled form as :func:`holds`, so the two always agree.
    """
    return compiled_for(condition, ctx).explain(ctx)


def holds(condition: Condition | Mapping[str, object], ctx: Context) -> bool:
    """Whether ``condition`` (a model or its mapping form) holds in ``ctx``, without
    building an explanation: always ``evaluate(condition, ctx).passed``, and cheaper
    (what the engine asks for every admission, eviction and ladder step)."""
    return compiled_for(condition, ctx).holds(ctx)
