"""The points kind: a ledger of points earned by events and spent by redemptions.

Trigger: ``on`` the event kinds of ``earn`` and ``redeem`` (the default), each decided at
the event's time. Every earning and every redemption is an entry of the store's points
ledger, caused by its event, so the balance is always the sum of the entries and a rerun
never counts an event twice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, FiniteFloat, model_validator

from ..._decision import Decision
from ..._i18n import messages
from ..._model import Event, LedgerEntry
from ..._reports import Note
from .._explain import _num
from ._registry import Kind, PolicyBase, Runtime, StrategyContext, Verdict, catalogued_action

__all__ = ["KIND", "Points", "PointsKind", "available_points"]

EventKind = Annotated[str, Field(min_length=1)]


class Points(PolicyBase):
    """Earn points for events, redeem them with events.

    ``earn`` maps an event kind to the points each such event earns
    (``{checkin: 1, share: 5}``). ``redeem`` names the event kind whose ``value`` is the
    points a member asks to spend: granted (a ``redeem`` decision, an entry of minus that
    many points) when the member's balance covers it, else refused (a ``refuse``
    decision whose reason reads ``"45 < 50"``: the balance, then what was asked) and the
    balance is unchanged.

    Points a decision pays (a ``referral_reward`` with ``reward: {points: 100}``) are
    entries of the same ledger, written by that policy with its decision.
    """

    type: Literal["points"] = "points"
    earn: dict[EventKind, Annotated[FiniteFloat, Field(gt=0)]] = Field(default_factory=dict)
    redeem: EventKind | None = None

    @model_validator(mode="after")
    def _earns_or_redeems(self) -> Points:
        if not self.earn and self.redeem is None:
            raise ValueError("give 'earn' (event kind: points) or 'redeem' (an event kind), or both")
        if self.redeem is not None and self.redeem in self.earn:
            raise ValueError(f"redeem: {self.redeem!r} is also a kind that earns points; use another kind")
        return self

    def trigger_events(self) -> tuple[str, ...]:
        if self.on is not None:
            return self.on
        return (*self.earn, *((self.redeem,) if self.redeem is not None else ()))


def available_points(entries: Sequence[LedgerEntry], at: datetime) -> float:
    """What a member may spend at ``at``: the balance then, and never more than the
    balance at any later entry already recorded (a late redemption must not overdraw
    what was spent after it), so no balance ever goes below zero."""
    ordered = sorted(entries, key=lambda e: e.at)
    balance = sum(e.points for e in ordered if e.at <= at)
    lowest, running = balance, balance
    for e in ordered:
        if e.at > at:
            running += e.points
            lowest = min(lowest, running)
    return max(lowest, 0.0)


class PointsKind(Kind):
    """Earnings and redemptions, one ledger entry per event."""

    name = "points"
    order = 20
    model = Points
    label: ClassVar[Mapping[str, str]] = messages("policy_type.points")
    actions = (
        catalogued_action("points.redeem"),
        catalogued_action("points.refuse"),
    )
    placeholders = frozenset({"points", "balance"})

    def on_event(
        self, policy: Points, event: Event, rt: Runtime, when: datetime, at: datetime
    ) -> list[Decision]:
        earned = policy.earn.get(event.kind)
        if earned is not None:
            entry = LedgerEntry.make(
                member=event.member,
                at=event.at,
                points=earned,
                kind="earn",
                cause=event.id,
                cause_type="event",
                policy=policy.id,
            )
            rt.add_entries([entry])
            return []
        if event.kind != policy.redeem:
            return []
        made: list[Decision] = []
        with rt.isolated(policy.id, None, when, member=event.member):
            recorded = rt.apply(self._redemption(policy, event, rt, when))
            if recorded is not None:
                made.append(recorded)
        return made

    def _redemption(self, policy: Points, event: Event, rt: Runtime, when: datetime) -> Verdict:
        asked = event.value
        entries = rt.entries(member=event.member)
        available = available_points(entries, event.at)
        period = f"event-{event.id}"
        if not (math.isfinite(asked) and asked > 0):
            reason = f"{_num(float(asked))} is not a positive number of points"
        elif asked > available:
            reason = f"{_num(available)} < {_num(float(asked))}"
        else:
            d = rt.decide_about(policy.id, "redeem", member=event.member, period=period, at=when)
            entry = LedgerEntry.make(
                member=event.member,
                at=event.at,
                points=-asked,
                kind="redeem",
                cause=event.id,
                cause_type="event",
                policy=policy.id,
            )
            values = {"points": _num(float(asked)), "balance": _num(available - asked)}
            return Verdict(d, values=values, entries=(entry,))
        d = rt.decide_about(policy.id, "refuse", member=event.member, period=period, at=when, reason=reason)
        return Verdict(d, values={"points": _num(float(asked)), "balance": _num(available)})

    def explain(self, policy: Points, rt: Runtime, ms: Any, at: datetime) -> tuple[list[Any], list[Any]]:
        balance = sum(e.points for e in rt.entries(member=ms.member) if e.at <= at)
        return [], [Note(kind="points", values={"balance": _num(float(balance))})]

    def strategy(self, ctx: StrategyContext) -> Any:
        from hypothesis import strategies as st

        earn = st.dictionaries(
            st.sampled_from(["checkin", "share", "message"]), st.integers(1, 10).map(float), max_size=3
        )

        @st.composite
        def policies(draw: st.DrawFn) -> Points:
            earns = draw(earn)
            redeem = draw(st.sampled_from(["redemption", None])) if earns else "redemption"
            return Points(id="points", earn=earns, redeem=redeem)

        return policies()


KIND = PointsKind()
