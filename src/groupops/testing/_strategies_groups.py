"""Hypothesis strategies for group operations (issue 15): members' requests for a
digest, conversations for group health, replies to a migration's call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from .._model import Event

__all__ = ["conversations", "replies", "requests"]

REQUEST_TYPES = ("hiring", "job_seeking", "supplier")
_TYPES = st.sampled_from(REQUEST_TYPES)
_TOPICS: SearchStrategy[str | None] = st.sampled_from([None, "jobs", "tools", "events"])
_TEXTS = st.sampled_from(["1", " 1 ", "2", "ok", "1!"])


def _check_sizes(min_size: int, max_size: int) -> None:
    if min_size < 0 or max_size < min_size:
        raise InvalidArgument(
            f"need 0 <= min_size <= max_size, got min_size={min_size!r}, max_size={max_size!r}"
        )


def requests(
    *,
    members: SearchStrategy[str],
    groups: SearchStrategy[str],
    times: SearchStrategy[datetime],
    types: SearchStrategy[str] = _TYPES,
    kind: str = "request",
    min_size: int = 0,
    max_size: int = 20,
) -> SearchStrategy[list[Event]]:
    """Lists of request events (``kind``, ``data.type`` from ``types``, a unique
    ``data.text``), ids ``req-0``, ``req-1``, ...: what a ``digest`` gathers."""
    _check_sizes(min_size, max_size)

    @st.composite
    def build(draw: Any) -> list[Event]:
        n = draw(st.integers(min_value=min_size, max_value=max_size))
        return [
            Event(
                id=f"req-{i}",
                kind=kind,
                member=draw(members),
                group=draw(groups),
                at=draw(times),
                data={"type": draw(types), "text": f"request {i}"},
            )
            for i in range(n)
        ]

    return build()


def conversations(
    *,
    members: SearchStrategy[str],
    groups: SearchStrategy[str],
    times: SearchStrategy[datetime],
    topics: SearchStrategy[str | None] = _TOPICS,
    min_size: int = 0,
    max_size: int = 30,
) -> SearchStrategy[list[Event]]:
    """Lists of ``message`` and ``question`` events in groups, some messages replying to
    an earlier question of the same group (``data.reply_to``), some with a
    ``data.topic``: what ``health`` measures. Ids ``talk-0``, ``talk-1``, ..."""
    _check_sizes(min_size, max_size)

    @st.composite
    def build(draw: Any) -> list[Event]:
        n = draw(st.integers(min_value=min_size, max_value=max_size))
        out: list[Event] = []
        for i in range(n):
            group, at = draw(groups), draw(times)
            data: dict[str, Any] = {}
            topic = draw(topics)
            if topic is not None:
                data["topic"] = topic
            asked: Sequence[Event] = [
                e for e in out if e.kind == "question" and e.group == group and e.at <= at
            ]
            kind = draw(st.sampled_from(["message", "message", "question"]))
            if kind == "message" and asked and draw(st.booleans()):
                data["reply_to"] = draw(st.sampled_from(asked)).id
            out.append(Event(id=f"talk-{i}", kind=kind, member=draw(members), group=group, at=at, data=data))
        return out

    return build()


def replies(
    *,
    members: SearchStrategy[str],
    group: str,
    times: SearchStrategy[datetime],
    texts: SearchStrategy[str] = _TEXTS,
    min_size: int = 0,
    max_size: int = 20,
) -> SearchStrategy[list[Event]]:
    """Lists of ``message`` events in ``group`` with a ``data.text`` from ``texts``: the
    answers to a ``migrate`` call (ids ``reply-0``, ...)."""
    _check_sizes(min_size, max_size)
    return st.lists(st.tuples(members, times, texts), min_size=min_size, max_size=max_size).map(
        lambda rows: [
            Event(id=f"reply-{i}", kind="message", member=m, group=group, at=t, data={"text": text})
            for i, (m, t, text) in enumerate(rows)
        ]
    )
