"""An example groupops plugin, found through the ``groupops`` entry-point group.

It registers a ``live_minutes`` metric (the sum of ``live`` events' values: minutes
watched in live sessions) and a messenger named ``example-outbox`` that keeps what it
was given in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import groupops as go


def live_minutes(history: go.History, *, group: str | None, start: datetime | None, end: datetime) -> float:
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
