"""Strategies for the engagement economy: referral forests, points activity, ballots."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from .._model import Event, Member
from ._strategies import _check_sizes, _check_strategy, _ids, _or

__all__ = ["ballots", "points_activity", "referral_forests"]


def referral_forests(
    *, ids: SearchStrategy[str] | None = None, min_size: int = 0, max_size: int = 12
) -> SearchStrategy[list[Member]]:
    """Member profiles whose ``referrer`` links form a forest (never a cycle): each
    member's referrer is None or a member listed before it. Ids are unique."""
    _check_strategy(ids, "ids")
    _check_sizes(min_size, max_size, "size")

    @st.composite
    def build(draw: st.DrawFn) -> list[Member]:
        names = draw(st.lists(_or(ids, _ids()), min_size=min_size, max_size=max_size, unique=True))
        out: list[Member] = []
        for i, name in enumerate(names):
            referrer = draw(st.none() | st.sampled_from(names[:i])) if i else None
            out.append(Member(id=name, referrer=referrer))
        return out

    return build()


def _unique_ids(events: list[Event], prefix: str) -> list[Event]:
    return [e.model_copy(update={"id": f"{prefix}{i}"}) for i, e in enumerate(events)]


def points_activity(
    *,
    members: SearchStrategy[str],
    times: SearchStrategy[datetime],
    earn: Sequence[str] = ("checkin", "share"),
    redeem: str = "redemption",
    group: str | None = None,
    max_value: int = 60,
    max_size: int = 30,
) -> SearchStrategy[list[Event]]:
    """Events a points policy reads: earnings of the ``earn`` kinds (in ``group``) and
    redemptions of kind ``redeem`` (member-wide) asking 1 to ``max_value`` points;
    unique ids."""
    _check_strategy(members, "members")
    _check_strategy(times, "times")
    _check_sizes(0, max_size, "size")
    if not earn and not redeem:
        raise InvalidArgument("give at least one 'earn' kind or a 'redeem' kind")
    if max_value < 1:
        raise InvalidArgument(f"max_value={max_value!r} must be at least 1")
    earning = st.builds(
        Event,
        id=st.just("x"),
        kind=st.sampled_from(list(earn)),
        member=members,
        group=st.just(group),
        at=times,
    )
    spending = st.builds(
        Event,
        id=st.just("x"),
        kind=st.just(redeem),
        member=members,
        at=times,
        value=st.integers(1, max_value).map(float),
    )
    one = (earning | spending) if earn else spending
    return st.lists(one, max_size=max_size).map(lambda found: _unique_ids(found, "pts-"))


def ballots(
    *,
    voters: SearchStrategy[str],
    candidates: SearchStrategy[str],
    group: str,
    times: SearchStrategy[datetime],
    kind: str = "vote",
    max_size: int = 30,
) -> SearchStrategy[list[Event]]:
    """Ballots posted in ``group``: events of ``kind`` whose ``data.for`` is a
    candidate (a voter may vote for themselves: a vote must ignore it); unique ids."""
    _check_strategy(voters, "voters")
    _check_strategy(candidates, "candidates")
    _check_strategy(times, "times")
    _check_sizes(0, max_size, "size")
    one = st.builds(
        Event,
        id=st.just("x"),
        kind=st.just(kind),
        member=voters,
        group=st.just(group),
        at=times,
        data=st.builds(lambda c: {"for": c}, candidates),
    )
    return st.lists(one, max_size=max_size).map(lambda found: _unique_ids(found, "ballot-"))
