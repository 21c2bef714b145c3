"""The standing kind: answer a member who asks where they stand (a ``standing`` event,
e.g. the member asks the bot) with their standing under every policy.

Trigger: ``on: standing`` (by default), decided at the event's time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar, Literal

from ..._decision import Decision
from ..._i18n import locales, messages
from ..._model import Event
from ._registry import Kind, PolicyBase, Runtime, Verdict, catalogued_action

__all__ = ["KIND", "Standing", "StandingKind"]


class Standing(PolicyBase):
    """Send a member their standing (every policy that concerns them, with what they meet
    and miss) when they ask: on each ``standing`` event (or the event kinds in ``on``),
    one ``standing`` message in the member's locale (their ``locale`` attribute, ``en``
    or ``zh``; else the book's), through the default messenger."""

    type: Literal["standing"] = "standing"

    default_on: ClassVar[tuple[str, ...]] = ("standing",)


def member_locale(rt: Runtime, member: str) -> str:
    """The member's own locale (their ``locale`` attribute, when the message catalogue has it), else the
    book's."""
    profile = rt.profiles.get(member)
    own = profile.attributes.get("locale") if profile is not None else None
    return own if isinstance(own, str) and own in locales() else rt.locale


class StandingKind(Kind):
    """Answers each ``standing`` request once."""

    name = "standing"
    order = 95
    model = Standing
    label: ClassVar[Mapping[str, str]] = messages("standing.label")
    placeholders = frozenset({"standing"})
    actions = (catalogued_action("standing.standing"),)

    def on_event(
        self, policy: Standing, event: Event, rt: Runtime, when: datetime, at: datetime
    ) -> list[Decision]:
        with rt.isolated(policy.id, None, when, member=event.member):
            report = rt.standing(event.member, when)
            d = rt.decide_about(
                policy.id, "standing", member=event.member, period=f"event-{event.id}", at=when
            )
            text = report.render(member_locale(rt, event.member))
            recorded = rt.apply(Verdict(d, values={"standing": text}))
            return [recorded] if recorded is not None else []
        return []


KIND = StandingKind()
