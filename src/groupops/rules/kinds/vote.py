"""The vote kind: at each period's end, tally the period's ballots in each group and award
the winners ("contribution stars").

Trigger: ``schedule`` (an RRULE) or a one-off ``at``; each occurrence ends a period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from ..._decision import Decision
from ..._i18n import messages, plural_form, text
from .._facts_api import LoggedEvent
from ._registry import (
    GroupRef,
    Runtime,
    ScheduledKind,
    ScheduledPolicy,
    StrategyContext,
    Verdict,
    catalogued_action,
)

__all__ = ["KIND", "Tally", "Vote", "VoteKind", "tally"]

_ONE_TICK = timedelta(microseconds=1)

Ties = Literal["earliest", "member", "all"]


class Vote(ScheduledPolicy):
    """At each occurrence of ``schedule`` (the end of a period), count the period's
    ballots in each of ``groups`` and award the ``winners`` most voted members.

    A ballot is an event of kind ``ballots`` posted in the group, whose ``data.for``
    names the member voted for. A period runs from just after the previous occurrence
    to this one, inclusive: a ballot exactly at the end counts for this period, one a
    microsecond later for the next. A ballot for oneself, for nobody, or for someone not
    in the group at the end is not counted. With ``one_vote_per_member`` (the default)
    only each voter's first counted ballot of the period counts.

    Ranking: most votes first; ``ties`` decides between equal counts: ``earliest`` (the
    default: who reached that count first, by the time of the ballot that brought them
    to it; then by member id), ``member`` (by member id) or ``all`` (everyone tied with
    the last winner wins too, so there may be more than ``winners``; tied members share
    a rank).
    """

    type: Literal["vote"] = "vote"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    ballots: Annotated[str, Field(min_length=1)] = "vote"
    winners: int = Field(default=3, ge=1)
    ties: Ties = "earliest"
    one_vote_per_member: bool = True


@dataclass(frozen=True)
class Tally:
    """One candidate's count: ``votes``, and ``reached`` (when the ballot that brought
    them to it was cast); ``rank`` once ranked (1 first)."""

    member: str
    votes: int
    reached: datetime
    rank: int = 0


def tally(
    ballots: Sequence[LoggedEvent],
    *,
    eligible: set[str] | None,
    winners: int,
    ties: Ties = "earliest",
    one_vote_per_member: bool = True,
) -> list[Tally]:
    """The winners of one period's ``ballots`` (in time order), ranked.

    ``eligible``: who may be voted for (None: anyone)."""
    counts: dict[str, int] = {}
    reached: dict[str, datetime] = {}
    voted: set[str] = set()
    for b in ballots:
        candidate = b.data.get("for")
        if not isinstance(candidate, str) or not candidate.strip() or candidate == b.member:
            continue
        if eligible is not None and candidate not in eligible:
            continue
        if one_vote_per_member:
            if b.member in voted:
                continue
            voted.add(b.member)
        counts[candidate] = counts.get(candidate, 0) + 1
        reached[candidate] = b.at
    if ties == "earliest":
        order = sorted(counts, key=lambda m: (-counts[m], reached[m], m))
    else:
        order = sorted(counts, key=lambda m: (-counts[m], m))
    if ties == "all" and len(order) > winners:
        floor = counts[order[winners - 1]]
        chosen = [m for m in order if counts[m] >= floor]
    else:
        chosen = order[:winners]
    ranked: list[Tally] = []
    for i, m in enumerate(chosen):
        rank = i + 1
        if ties == "all" and i and counts[m] == counts[chosen[i - 1]]:
            rank = ranked[-1].rank  # tied members share a rank (1, 2, 3, 3)
        ranked.append(Tally(member=m, votes=counts[m], reached=reached[m], rank=rank))
    return ranked


class VoteKind(ScheduledKind):
    """At each period's end: one ``award`` per winner, one ``winners`` post per group."""

    name = "vote"
    model = Vote
    label: ClassVar[Mapping[str, str]] = messages("policy_type.vote")
    actions = (
        catalogued_action("vote.award"),
        catalogued_action("vote.winners", audience="group"),
    )
    placeholders = frozenset({"rank", "votes", "winners"})

    def occurrence(
        self, policy: Vote, rt: Runtime, when: datetime, previous: datetime | None, at: datetime
    ) -> list[Decision]:
        start = previous + _ONE_TICK if previous is not None else policy.start
        logs = rt.facts.event_log(policy.ballots, policy.groups, start, when)
        made: list[Decision] = []
        period = when.isoformat()
        for group, ballots in zip(policy.groups, logs, strict=True):
            with rt.isolated(policy.id, None, when, group=group):
                present = {ms.member: ms for ms in rt.memberships(group) if ms.present}
                won = tally(
                    ballots,
                    eligible=set(present),
                    winners=policy.winners,
                    ties=policy.ties,
                    one_vote_per_member=policy.one_vote_per_member,
                )
                if not won:
                    continue
                for t in won:
                    ms = present[t.member]
                    d = rt.decide(policy.id, "award", ms, period, when, None, rank=t.rank)
                    values = {"rank": str(t.rank), "votes": str(t.votes)}
                    recorded = rt.apply(Verdict(d, ms, None, values=values))
                    if recorded is not None:
                        made.append(recorded)
                post = rt.decide_about(policy.id, "winners", group=group, period=period, at=when)
                recorded = rt.apply(Verdict(post, values={"winners": _listing(won, rt, rt.locale)}))
                if recorded is not None:
                    made.append(recorded)
        return made

    def message_values(self, policy: Vote, decision: Decision, locale: str) -> dict[str, str]:
        return {"rank": str(decision.rank or "")}

    def strategy(self, ctx: StrategyContext) -> Any:
        from hypothesis import strategies as st

        return st.builds(
            lambda groups, schedule, winners, ties, once: Vote(
                id="vote",
                groups=groups,
                schedule=schedule,
                winners=winners,
                ties=ties,
                one_vote_per_member=once,
            ),
            ctx.some_groups,
            st.sampled_from(_SCHEDULES),
            st.integers(1, 4),
            st.sampled_from(["earliest", "member", "all"]),
            st.booleans(),
        )


_SCHEDULES = (
    "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20",
    "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=20",
    "FREQ=DAILY;BYHOUR=21",
)


def _listing(won: Sequence[Tally], rt: Runtime, locale: str) -> str:
    def name(member: str) -> str:
        profile = rt.profiles.get(member)
        return profile.name if profile is not None and profile.name else member

    places = (
        text(f"vote.place.{plural_form(t.votes)}", locale, rank=t.rank, name=name(t.member), votes=t.votes)
        for t in won
    )
    return text("sep.semicolon", locale).join(places)


KIND = VoteKind()
