"""The facts interface: what kinds may ask about events, in batches.

Every question takes many subjects and one instant, so that an implementation can
answer it with one query (SQL in the store, DuckDB, Spark) instead of one per member.
:class:`MemoryFacts` answers them from the in-memory :class:`~groupops.rules.Community`; it is
the reference the other implementations are tested against. Nothing above this
interface may assume that every event is in memory.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Protocol, runtime_checkable

from .._model import Event, Member, Membership
from ._evaluate import Context, MetricFunction, evaluate, holds
from ._explain import Explanation
from ._facts import Community, History
from ._world import World

__all__ = [
    "Facts",
    "GroupActivity",
    "GroupHealthFacts",
    "LoggedEvent",
    "MemoryFacts",
    "StoreFacts",
    "Subject",
]


@dataclass(frozen=True)
class Subject:
    """What a condition is evaluated for: a membership (member in group), with the
    window anchor of a period (``period_start``) where the policy has one."""

    membership: Membership
    period_start: datetime | None = None


@dataclass(frozen=True)
class GroupActivity:
    """One group's activity in a window: events of the asked kinds, and how many
    distinct members they came from."""

    group: str
    events: int
    speakers: int


@dataclass(frozen=True)
class LoggedEvent:
    """One event as :meth:`Facts.event_log` lists it."""

    member: str
    at: datetime
    value: float
    data: Mapping[str, Any]


@dataclass(frozen=True)
class GroupHealthFacts:
    """One group's conversation in a window (see :meth:`Facts.group_health`).

    ``messages``: events of the talk kinds in the group; ``speakers``: distinct members
    behind them; ``topics``: distinct ``data.topic`` values among them (0 when the host
    does not know topics); ``questions``: events of the question kind in the window;
    ``answered``: those with a reply (a talk or question event by another member whose
    ``data.reply_to`` is the question's id) at or before the window's end;
    ``median_answer``: the median time from a question to its first reply (None when
    none was answered); ``speaker_ids``: who spoke, sorted."""

    group: str
    messages: int
    speakers: int
    topics: int
    questions: int
    answered: int
    median_answer: timedelta | None
    speaker_ids: tuple[str, ...] = ()


@runtime_checkable
class Facts(Protocol):
    """Batch questions about events, each for many subjects at one instant ``at``.

    Windows are closed, ``[start, at]``; ``start`` None means since the beginning. Every
    answer follows event time, never arrival time."""

    @property
    def tz(self) -> tzinfo: ...

    def verdicts(
        self, condition: Any, subjects: Sequence[Subject], at: datetime, *, default_scope: str
    ) -> list[Explanation]:
        """The explanation of ``condition`` for each subject, in order."""
        ...

    def holding(
        self, condition: Any, subjects: Sequence[Subject], at: datetime, *, default_scope: str
    ) -> list[bool]:
        """Whether ``condition`` holds for each subject, in order (no explanation built)."""
        ...

    def counts(
        self, kind: str, pairs: Sequence[tuple[str, str | None]], start: datetime | None, at: datetime
    ) -> list[int]:
        """Events of ``kind`` per (member, group) pair (group None: member-wide)."""
        ...

    def last_seen(
        self, members: Sequence[str], at: datetime, kinds: Sequence[str] | None = None
    ) -> list[datetime | None]:
        """Each member's last event (of ``kinds``, else of any kind) at or before ``at``."""
        ...

    def group_activity(
        self, groups: Sequence[str], kinds: Sequence[str], start: datetime | None, at: datetime
    ) -> list[GroupActivity]:
        """Per group: events of ``kinds`` in the window and distinct members behind them."""
        ...

    def group_events(
        self, groups: Sequence[str], kinds: Sequence[str], start: datetime | None, at: datetime
    ) -> list[list[Event]]:
        """Per group: its events of ``kinds`` in the window (events with that ``group``;
        member-wide ones are in no group), in time order, ties by id."""
        ...

    def group_last_seen(
        self, groups: Sequence[str], kinds: Sequence[str], at: datetime
    ) -> list[datetime | None]:
        """Per group: the time of its last event of ``kinds`` at or before ``at``."""
        ...

    def group_health(
        self,
        groups: Sequence[str],
        start: datetime | None,
        at: datetime,
        *,
        kinds: Sequence[str] = ("message",),
        question: str = "question",
    ) -> list[GroupHealthFacts]:
        """Per group: how its conversation went in the window (:class:`GroupHealthFacts`);
        ``kinds`` are the talk kinds, ``question`` the kind of a question."""
        ...

    def referees(self, members: Sequence[str]) -> list[tuple[str, ...]]:
        """Per member: the members they referred (whose profile names them as
        ``referrer``, or, where the facts know them, whom their ``referral`` events
        name in ``data.referee``), sorted."""
        ...

    def event_log(
        self, kind: str, groups: Sequence[str], start: datetime | None, at: datetime
    ) -> list[list[LoggedEvent]]:
        """Per group: the events of ``kind`` posted in exactly that group (not member-wide
        ones) in the window, by time, then member (ballots of a vote)."""
        ...

    def referrers(self) -> list[str]:
        """Every member who referred someone (as :meth:`referees` counts), sorted."""
        ...

    def balances(self, members: Sequence[str], at: datetime) -> list[float]:
        """Per member: the points balance at ``at`` (the sum of the member's ledger
        entries at or before it; 0 without a ledger)."""
        ...

    def ranking(
        self,
        kind: str,
        members: Sequence[str],
        start: datetime | None,
        at: datetime,
        *,
        field: str | None = None,
        group: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[str, float]]:
        """``members`` ranked by their count of ``kind`` events (or sum of ``field``) in
        the window (in ``group``, else member-wide), highest first, ties by member id;
        at most ``limit``."""
        ...


@runtime_checkable
class StoreFacts(Facts, Protocol):
    """:class:`Facts` that also hand out each member's :class:`History`, for the kinds
    that evaluate one :class:`~groupops.rules.Context` at a time (``rt.context``) and for
    metric plugins. The engine gets one from a store's optional ``facts`` method (see
    :class:`~groupops.Store`), else builds a :class:`MemoryFacts`."""

    def history(self, member: str) -> History:
        """The member's events (an empty history if there are none)."""
        ...

    def prefetch(self, members: Iterable[str]) -> None:
        """A hint: the histories of ``members`` are about to be read, so an
        implementation may fetch them in one go. Answers never depend on it."""
        ...

    def events_of(self, kind: str, at: datetime) -> list[Event]:
        """Every event of ``kind`` at or before ``at`` (member-wide and in groups), by
        member, then time. Only member, time, value and data are kept: the ids are made
        up (``member#n``) and the group is left out (``referral`` events for the
        referral tree)."""
        ...


class MemoryFacts:
    """:class:`Facts` over an in-memory :class:`Community` and member profiles."""

    def __init__(
        self,
        community: Community,
        profiles: Mapping[str, Member] | Callable[[], Mapping[str, Member]] | None = None,
        metrics: Mapping[str, MetricFunction] | None = None,
        *,
        world: World | None = None,
        presence: Callable[[str], Mapping[str, str]] | None = None,
    ) -> None:
        self._community = community
        self._profiles = profiles
        self._metrics = dict(metrics or {})
        self._world = world
        self._presence = presence  # member -> present groups (id -> kind), for member_of

    @property
    def tz(self) -> tzinfo:
        return self._community.tz

    def _members(self) -> Mapping[str, Member]:
        profiles = self._profiles
        if profiles is None:
            return {}
        return profiles() if callable(profiles) else profiles

    def history(self, member: str) -> History:
        return self._community.history(member)

    def prefetch(self, members: Iterable[str]) -> None:
        return None  # every history is in memory already

    def events_of(self, kind: str, at: datetime) -> list[Event]:
        found: list[Event] = []
        for member in sorted(self._community.members()):
            history = self._community.history(member)
            for i, (t, value, data) in enumerate(history.events(kind, None, None, at)):
                found.append(
                    Event(id=f"{member}#{i}", kind=kind, member=member, at=t, value=value, data=data)
                )
        return found

    def _context(self, subject: Subject, at: datetime, default_scope: str) -> Context:
        ms = subject.membership
        return Context(
            at=at,
            tz=self.tz,
            history=self.history(ms.member),
            group=ms.group,
            member=self._members().get(ms.member),
            membership=ms,
            default_scope=default_scope,  # type: ignore[arg-type]
            period_start=subject.period_start,
            metrics=self._metrics,
            world=self._world,
            present_in=self._presence(ms.member) if self._presence is not None else None,
        )

    def verdicts(
        self, condition: Any, subjects: Sequence[Subject], at: datetime, *, default_scope: str
    ) -> list[Explanation]:
        self.prefetch(s.membership.member for s in subjects)
        return [evaluate(condition, self._context(s, at, default_scope)) for s in subjects]

    def holding(
        self, condition: Any, subjects: Sequence[Subject], at: datetime, *, default_scope: str
    ) -> list[bool]:
        self.prefetch(s.membership.member for s in subjects)
        return [holds(condition, self._context(s, at, default_scope)) for s in subjects]

    def counts(
        self, kind: str, pairs: Sequence[tuple[str, str | None]], start: datetime | None, at: datetime
    ) -> list[int]:
        return [self.history(m).count(kind, g, start, at) for m, g in pairs]

    def last_seen(
        self, members: Sequence[str], at: datetime, kinds: Sequence[str] | None = None
    ) -> list[datetime | None]:
        out: list[datetime | None] = []
        for m in members:
            history = self.history(m)
            lasts = [
                t
                for k in (kinds if kinds is not None else sorted(history.kinds()))
                if (t := history.last_at(k, None, at))
            ]
            out.append(max(lasts) if lasts else None)
        return out

    def group_activity(
        self, groups: Sequence[str], kinds: Sequence[str], start: datetime | None, at: datetime
    ) -> list[GroupActivity]:
        events = dict.fromkeys(groups, 0)
        speakers: dict[str, set[str]] = {g: set() for g in groups}
        for member in sorted(self._community.members()):
            history = self._community.history(member)
            for g in groups:
                n = sum(history.count(k, g, start, at) for k in kinds)
                if n:
                    events[g] += n
                    speakers[g].add(member)
        return [GroupActivity(group=g, events=events[g], speakers=len(speakers[g])) for g in groups]

    def event_log(
        self, kind: str, groups: Sequence[str], start: datetime | None, at: datetime
    ) -> list[list[LoggedEvent]]:
        out: list[list[LoggedEvent]] = []
        members = sorted(self._community.members())
        for g in groups:
            found = [
                LoggedEvent(member=m, at=t, value=v, data=d)
                for m in members
                for t, v, d in self._community.history(m).events_in(kind, g, start, at)
            ]
            out.append(sorted(found, key=lambda e: (e.at, e.member)))
        return out

    def referrers(self) -> list[str]:
        if self._world is not None:
            return list(self._world.referrers())
        return sorted({p.referrer for p in self._members().values() if p.referrer is not None})

    def balances(self, members: Sequence[str], at: datetime) -> list[float]:
        world = self._world
        return [world.balance(m, at) if world is not None else 0.0 for m in members]

    def group_events(
        self, groups: Sequence[str], kinds: Sequence[str], start: datetime | None, at: datetime
    ) -> list[list[Event]]:
        found: dict[str, list[Event]] = {g: [] for g in groups}
        for member in sorted(self._community.members()):
            history = self._community.history(member)
            for g in found:
                for kind in dict.fromkeys(kinds):
                    for id_, when, value, data in history.in_group(kind, g, start, at):
                        found[g].append(
                            Event(id=id_, kind=kind, member=member, group=g, at=when, value=value, data=data)
                        )
        return [sorted(found[g], key=lambda e: (e.at, e.id)) for g in groups]

    def group_last_seen(
        self, groups: Sequence[str], kinds: Sequence[str], at: datetime
    ) -> list[datetime | None]:
        found = self.group_events(groups, kinds, None, at)
        return [max((e.at for e in events), default=None) for events in found]

    def group_health(
        self,
        groups: Sequence[str],
        start: datetime | None,
        at: datetime,
        *,
        kinds: Sequence[str] = ("message",),
        question: str = "question",
    ) -> list[GroupHealthFacts]:
        talk = list(dict.fromkeys(kinds))
        asked = self.group_events(groups, [question], start, at)
        # replies may answer a question asked in the window at any later time up to ``at``
        replies = self.group_events(groups, list(dict.fromkeys([*talk, question])), start, at)
        spoken = self.group_events(groups, talk, start, at)
        out = []
        for g, questions, answers, said in zip(groups, asked, replies, spoken, strict=True):
            first: dict[str, datetime] = {}
            by_id = {q.id: q for q in questions}
            for e in answers:
                q = by_id.get(str(e.data.get("reply_to")))
                if q is not None and e.member != q.member and e.at >= q.at and q.id not in first:
                    first[q.id] = e.at
            waits = sorted(first[q] - by_id[q].at for q in first)
            speakers = sorted({e.member for e in said})
            topics = {str(e.data["topic"]) for e in said if e.data.get("topic") not in (None, "")}
            out.append(
                GroupHealthFacts(
                    group=g,
                    messages=len(said),
                    speakers=len(speakers),
                    topics=len(topics),
                    questions=len(questions),
                    answered=len(first),
                    median_answer=statistics.median_low(waits) if waits else None,
                    speaker_ids=tuple(speakers),
                )
            )
        return out

    def referees(self, members: Sequence[str]) -> list[tuple[str, ...]]:
        if self._world is not None:
            world = self._world
            return [tuple(world.referees(m)) for m in members]
        by_referrer: dict[str, list[str]] = {}
        for profile in self._members().values():
            if profile.referrer is not None:
                by_referrer.setdefault(profile.referrer, []).append(profile.id)
        return [tuple(sorted(by_referrer.get(m, ()))) for m in members]

    def ranking(
        self,
        kind: str,
        members: Sequence[str],
        start: datetime | None,
        at: datetime,
        *,
        field: str | None = None,
        group: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[str, float]]:
        def score(m: str) -> float:
            history = self.history(m)
            if field is None:
                return float(history.count(kind, group, start, at))
            return history.total(kind, field, group, start, at)

        ranked = sorted(((m, score(m)) for m in dict.fromkeys(members)), key=lambda ms: (-ms[1], ms[0]))
        return ranked if limit is None else ranked[:limit]
