"""Scheduling: event triggers since the last run (cursors and waiting triggers in run state)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .._model import Event
from ._base import EngineBase


class _Triggers:
    """Event triggers of one run: for each policy due ``on`` events, the events stored
    since its cursor (the store's event sequence, kept in run state) whose time plus
    ``delay`` has come; those whose moment is still ahead wait in run state."""

    def __init__(self, engine: EngineBase, at: datetime) -> None:
        self._engine = engine
        self._at = at
        self._cursors: dict[str, int] = {}
        self._waiting: dict[str, list[tuple[datetime, Event]]] = {}

    def due(self, policy: Any) -> list[tuple[datetime, Event]]:
        """The triggers of ``policy`` due by the run's instant, in time order."""
        kinds = set(policy.trigger_events())
        if not kinds:
            return []
        store, tz = self._engine.store, self._engine.book.tz
        raw = store.get_state(f"trigger:{policy.id}:seq")
        seq = int(raw) if raw is not None else 0
        raw_waiting = store.get_state(f"trigger:{policy.id}:waiting")
        saved = json.loads(raw_waiting or "[]")
        waiting = [(datetime.fromisoformat(w), Event.model_validate_json(e)) for w, e in saved]
        for s, event in store.events_after(seq):
            seq = max(seq, s)
            if event.kind in kinds:
                when = policy.delay.after(event.at, tz) if policy.delay is not None else event.at
                waiting.append((when, event))
        self._cursors[policy.id] = seq
        self._waiting[policy.id] = [(w, e) for w, e in waiting if w > self._at]
        return sorted(((w, e) for w, e in waiting if w <= self._at), key=lambda we: we[0])

    def retry(self, policy: Any, when: datetime, event: Event) -> None:
        """A plugin failed on this trigger: the next run decides it again, at ``when``."""
        self._waiting.setdefault(policy.id, []).append((when, event))

    def save(self) -> None:
        store = self._engine.store
        for policy_id, seq in self._cursors.items():
            store.set_state(f"trigger:{policy_id}:seq", str(seq))
            waiting = sorted(self._waiting.get(policy_id, []), key=lambda we: (we[0], we[1].id))
            key = f"trigger:{policy_id}:waiting"
            if waiting or store.get_state(key) not in (None, "[]"):
                store.set_state(key, json.dumps([[w.isoformat(), e.model_dump_json()] for w, e in waiting]))
