"""What the playbook kinds (repurpose, migrate) share: a few fixed moments of their own,
decided in time order with every other trigger, each once.

A playbook lists its moments (:meth:`PlaybookKind.moments`); a run decides those in
``(cursor, at]`` and saves the cursor (run state ``playbook:<policy id>``). A moment
during which a plugin failed is decided again by the next run (what was decided is
kept, by decision id). A late run that gives members notice at its own instant moves
the moment that acts on the notice (``end``) to a full ``notice`` after it, kept in run
state ``playbook:<policy id>:end``, so nobody is removed without real notice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..._decision import Decision
from ._registry import Kind, Point, Runtime, decide_or_retry, store_cursor

__all__ = ["PlaybookKind"]

_ONE_TICK = timedelta(microseconds=1)


class PlaybookKind(Kind):
    """A kind due at a few moments of its policy's own (see the module docstring)."""

    def moments(self, policy: Any, rt: Runtime) -> list[tuple[datetime, int]]:
        """The policy's moments and their tags (lower first at one instant)."""
        return []

    def decide_moment(
        self, policy: Any, rt: Runtime, when: datetime, what: int, at: datetime
    ) -> list[Decision]:
        """Decide one moment ``what`` at ``when`` (``at``: the run's instant)."""
        return []

    @staticmethod
    def _cursor_key(policy: Any) -> str:
        return f"playbook:{policy.id}"

    @staticmethod
    def moved_end(policy: Any, rt: Runtime) -> datetime | None:
        """The acting moment, when a late notice moved it."""
        raw = rt.get_state(f"playbook:{policy.id}:end")
        return datetime.fromisoformat(raw) if raw else None

    @staticmethod
    def move_end(policy: Any, rt: Runtime, when: datetime) -> None:
        rt.set_state(f"playbook:{policy.id}:end", when.isoformat())

    def due(self, policy: Any, rt: Runtime, at: datetime) -> list[Point]:
        raw = rt.get_state(self._cursor_key(policy))
        found = self.moments(policy, rt)
        if raw is not None:
            after = datetime.fromisoformat(raw)
        else:  # first seen: from the first moment (a late first run decides it)
            after = min([at, *(when for when, _ in found)]) - _ONE_TICK
        rt.scratch(self._cursor_key(policy))["cursor"] = at
        return [Point(when, what) for when, what in found if after < when <= at]

    def decide_at_point(
        self, policy: Any, point: Point, rt: Runtime, at: datetime
    ) -> tuple[list[Decision], list[Point]]:
        return decide_or_retry(
            rt,
            self._cursor_key(policy),
            point.when,
            lambda: self.decide_moment(policy, rt, point.when, point.what, at),
        )

    def finish(self, policy: Any, rt: Runtime, at: datetime) -> None:
        store_cursor(rt, self._cursor_key(policy), self._cursor_key(policy), at)
