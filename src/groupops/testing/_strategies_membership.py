"""Strategies for membership constraints (issue 12): sequences of joins and leaves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from .._model import Event

__all__ = ["joins_and_leaves"]


def joins_and_leaves(
    *,
    members: Sequence[str],
    groups: Sequence[str],
    start: datetime,
    min_size: int = 0,
    max_size: int = 20,
    max_gap: timedelta = timedelta(hours=6),
) -> SearchStrategy[list[Event]]:
    """Consistent ``joined`` and ``left`` events of ``members`` in ``groups`` from
    ``start``, in time order: a member joins a group they are not in and leaves one they
    are in (and may join it again). Gaps between events run from zero (several at one
    instant: ties) to ``max_gap``, whole minutes. Ids are ``e0``, ``e1``...; the order of
    ids at one instant is drawn too."""
    if not members or not groups:
        raise InvalidArgument("joins_and_leaves needs at least one member and one group")
    if start.tzinfo is None:
        raise InvalidArgument(f"start={start!r} must be timezone-aware")
    if not 0 <= min_size <= max_size:
        raise InvalidArgument(f"need 0 <= min_size <= max_size, got {min_size} and {max_size}")
    minutes = max(0, int(max_gap.total_seconds() // 60))

    @st.composite
    def build(draw: st.DrawFn) -> list[Event]:
        steps = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(list(members)), st.sampled_from(list(groups)), st.integers(0, minutes)
                ),
                min_size=min_size,
                max_size=max_size,
            )
        )
        inside: set[tuple[str, str]] = set()
        at = start
        out: list[Event] = []
        ids = draw(st.permutations(range(len(steps))))
        for i, (member, group, gap) in enumerate(steps):
            at = at + timedelta(minutes=gap)
            kind = "left" if (member, group) in inside else "joined"
            inside ^= {(member, group)}
            out.append(Event(id=f"e{ids[i]}", kind=kind, member=member, group=group, at=at))
        return out

    return build()
