"""An example groupops plugin, found through the ``groupops`` entry-point group.

It registers a ``live_minutes`` metric (the sum of ``live`` events' values: minutes
watched in live sessions), a messenger named ``example-outbox`` that keeps what it
was given in memory, and a policy kind of its own, ``birthday``: a yearly greeting on
the day a member attribute (``birthday: MM-DD``) names, with its own action.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

import groupops as go


def live_minutes(
    history: go.rules.History, *, group: str | None, start: datetime | None, end: datetime
) -> float:
    return history.total("live", "value", group, start, end)


class ExampleOutbox:
    name = "example-outbox"
    actions = frozenset({"message"})
    quota = None

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def deliver(self, message: go.OutboxMessage) -> None:
        self.sent.append(message)


OUTBOX = ExampleOutbox()


@go.hookimpl
def groupops_register_metrics(register: Callable[[str, Any], None]) -> None:
    register("live_minutes", live_minutes)


@go.hookimpl
def groupops_register_messengers(register: Callable[[Any], None]) -> None:
    register(OUTBOX)


class Birthday(go.PolicyBase):
    """Greet members of ``groups`` once a year, on the day their ``attribute`` names
    (``MM-DD``, in the book's time zone; 29 February is greeted on 28 February in other
    years). A run within ``within`` of the day's start greets; a later one does not."""

    type: Literal["birthday"] = "birthday"
    groups: tuple[str, ...] = Field(min_length=1)
    attribute: str = "birthday"
    within: go.Duration = go.Duration(1, "d")


def birthday_start(value: object, year: int, tz: Any) -> datetime | None:
    """The start of the member's birthday in ``year``, or None if ``value`` is no ``MM-DD``."""
    if not isinstance(value, str):
        return None
    try:
        month, day = (int(part) for part in value.split("-"))
        return datetime(year, month, day, tzinfo=tz)
    except ValueError:
        if (month, day) == (2, 29):
            return datetime(year, 2, 28, tzinfo=tz)
        return None


class BirthdayKind(go.Kind):
    """Each run: greet members whose birthday began less than ``within`` ago."""

    name = "birthday"
    model = Birthday
    actions = (
        go.ActionSpec(
            "birthday",
            {
                "en": "Happy birthday, {member.name}! Best wishes from everyone in {group.name}.",
                "zh": "{member.name}，生日快乐！{group.name}全体成员祝您生日快乐。",
            },
            {"en": "birthday", "zh": "生日祝福"},
        ),
    )

    def decide(
        self, policy: Birthday, rt: go.Runtime, at: datetime, members: set[str] | None
    ) -> list[go.Decision]:
        made: list[go.Decision] = []
        greeted: set[str] = set()  # once a year, whatever the number of groups
        for group in policy.groups:
            for ms in rt.memberships(group, members):
                profile = rt.profiles.get(ms.member)
                if not ms.present or profile is None or ms.member in greeted:
                    continue
                local = at.astimezone(rt.tz)
                start = birthday_start(profile.attributes.get(policy.attribute), local.year, rt.tz)
                if start is None or not start <= at < policy.within.after(start, rt.tz):
                    continue
                greeted.add(ms.member)
                with rt.isolated(policy.id, ms, at):
                    d = go.Decision.make(
                        policy=policy.id,
                        action="birthday",
                        member=ms.member,
                        group=ms.group,
                        period=f"birthday-{start.year}",
                        at=start,
                        explanation=None,
                        revision=rt.revision,
                    )
                    recorded = rt.apply(go.Verdict(d, ms))
                    if recorded is not None:
                        made.append(recorded)
        return made


@go.hookimpl
def groupops_register_kinds(register: Callable[[go.Kind], None]) -> None:
    register(BirthdayKind())
