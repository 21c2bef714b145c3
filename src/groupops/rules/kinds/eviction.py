"""The eviction kind: warn, then evict, members who meet ``when`` at each period's end.

Trigger: ``schedule`` (an RRULE). Each occurrence ends a period; notices go out
``notice`` before it. A run catches up every notice time and end since the previous
run, in time order, each end decided at its own time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, ClassVar, Literal

from pydantic import Field

from ..._decision import Decision, decision_id
from ..._errors import Problem, RuleError
from ..._i18n import messages, text
from ..._model import PRESENT_STATUSES, Membership, Time
from ..._reports import Note, Section
from ..._time import Duration, DurationField, ScheduleField, parse_schedule, to_zone, zone
from .._conditions import Condition
from .._evaluate import Context, evaluate, holds
from .._explain import Explanation
from ._registry import GroupRef, Kind, Point, PolicyBase, Runtime, StrategyContext, Verdict, catalogued_action

__all__ = [
    "ANNOUNCE_MAX",
    "KIND",
    "MAX_CATCH_UP",
    "Eviction",
    "EvictionCheck",
    "EvictionKind",
    "Period",
    "eviction_check",
    "eviction_period",
    "eviction_periods",
    "in_grace",
]

_ONE_TICK = timedelta(microseconds=1)


ANNOUNCE_MAX = 30
"""How many at-risk names an eviction's ``announce`` post lists by default (then "and N
more"); the policy's ``announce_max`` changes it."""


class Eviction(PolicyBase):
    """Warn, then evict, members who meet ``when`` at the end of each period.

    With ``announce: true``, each notice time also posts once in the group: what members
    need to stay, in words, and who is at risk (sorted by name, at most
    ``announce_max`` names, then "and N more"); nothing when nobody is at risk.

    Periods end at each occurrence of ``schedule``. At ``end - notice`` members who meet
    ``when`` get a notice; at ``end`` those who were noticed and still meet it are evicted,
    the others are spared. A notice given late (by a late run) moves that period's end
    for its members to ``notice`` after the notice was given. Members within ``grace`` of
    joining (or revival) at the period's end, and members meeting ``exempt``, are neither
    noticed nor evicted.
    """

    type: Literal["eviction"] = "eviction"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    schedule: ScheduleField
    start: Time | None = None
    notice: DurationField = Duration(2, "d")
    grace: DurationField | None = None
    exempt: Condition | None = None
    when: Condition
    announce: bool = False
    announce_max: int = Field(default=ANNOUNCE_MAX, ge=1)

    later_fields: ClassVar[frozenset[str]] = frozenset({"announce", "announce_max"})
    own_moments: ClassVar[str] = "an eviction is due on its 'schedule'"


@dataclass(frozen=True)
class Period:
    """One eviction period: ``start < t <= end``; notices go out at ``notice_at``.

    The first period of a policy with a ``start`` begins at that ``start``. ``key``
    names the period in decision ids: the ISO time of its end in the book's time zone.
    """

    start: datetime
    end: datetime
    notice_at: datetime

    @property
    def key(self) -> str:
        return self.end.isoformat()


def _period_ending(policy: Eviction, tz: tzinfo, end: datetime) -> Period:
    start = policy.schedule.previous_before(end, tz, policy.start)
    if start is None:  # the first occurrence: the period began with the policy
        start = to_zone(policy.start, tz) if policy.start is not None else end
    return Period(start=start, end=end, notice_at=policy.notice.before(end, tz))


def eviction_period(policy: Eviction, at: datetime, tz: tzinfo) -> Period | None:
    """The period ``at`` belongs to (an occurrence ends its own period), or None if the
    schedule has no occurrence at or after ``at``."""
    end = policy.schedule.last_at_or_before(at, tz, policy.start)
    if end is None or end != at:
        end = policy.schedule.next_after(at, tz, policy.start)
    if end is None:
        return None
    return _period_ending(policy, tz, end)


MAX_CATCH_UP = 1000
"""The most eviction periods one run may catch up for one policy (a run long after the
last one, or after a ``start`` far in the past); more is an error, not a hang."""


def _more_due_than(policy: Eviction, tz: tzinfo, after: datetime, until: datetime, limit: int) -> bool:
    """True if more than ``limit`` occurrences fall in ``(after, until]``: counted
    lazily, so a range of millions of occurrences costs no more than ``limit`` of them."""
    seen = 0
    for occurrence in policy.schedule.iter_after(after, tz, policy.start):
        if occurrence > until:
            return False
        seen += 1
        if seen > limit:
            return True
    return False


def eviction_periods(policy: Eviction, after: datetime, until: datetime, tz: tzinfo) -> list[Period]:
    """Periods with something due in ``(after, until]``: a notice time or an end, in order.

    :raises RuleError: more than :data:`MAX_CATCH_UP` periods are due."""
    horizon = policy.notice.after(until, tz)
    if _more_due_than(policy, tz, after, horizon, MAX_CATCH_UP):
        raise RuleError(
            [
                Problem(
                    f"policy {policy.id!r}",
                    f"more than {MAX_CATCH_UP:,} periods of {policy.schedule} are due between "
                    f"{after.isoformat()} and {until.isoformat()}; one run catches up at most "
                    f"{MAX_CATCH_UP:,}: run at earlier times first, or move the policy's start closer",
                )
            ]
        )
    ends = policy.schedule.between(after, horizon, tz, policy.start)
    periods = [_period_ending(policy, tz, end) for end in ends]
    # ``between`` already gives ``after < end``; keep a period only if its end or its
    # notice falls in the range, not one that merely spans it
    return [p for p in periods if p.end <= until or after < p.notice_at <= until]


def in_grace(policy: Eviction, membership: Membership, period: Period, tz: tzinfo) -> bool:
    """Whether the member is still inside the grace period at the period's end.

    Grace runs from joining, or from the last revival if later.
    """
    if policy.grace is None:
        return False
    began = membership.joined_at
    if membership.revived_at is not None and membership.revived_at > began:
        began = membership.revived_at
    return policy.grace.after(began, tz) > period.end


@dataclass(frozen=True)
class EvictionCheck:
    """What an eviction policy says of one member for one period, at one moment.

    ``failing`` is the explanation of ``when`` (passed = the member would be evicted);
    ``exempt`` the explanation of ``exempt`` if the policy has one.
    """

    failing: Explanation
    exempt: Explanation | None
    grace: bool

    @property
    def at_risk(self) -> bool:
        """Would be noticed or evicted: fails ``when``, not exempt, not in grace."""
        return self.failing.passed and not self.grace and not (self.exempt and self.exempt.passed)


def eviction_check(policy: Eviction, ctx: Context, period: Period) -> EvictionCheck:
    """Evaluate ``when`` and ``exempt`` in ``ctx`` (whose ``period_start`` should be the
    period's start) and the grace rule for ``period``."""
    grace = ctx.membership is not None and in_grace(policy, ctx.membership, period, ctx.tz)
    exempt = evaluate(policy.exempt, ctx) if policy.exempt is not None else None
    return EvictionCheck(failing=evaluate(policy.when, ctx), exempt=exempt, grace=grace)


_NOTICE, _END = 0, 1


class EvictionKind(Kind):
    """Periodic: notices at ``end - notice``, then evict or spare at ``end``."""

    name = "eviction"
    model = Eviction
    label: ClassVar[Mapping[str, str]] = messages("policy_type.eviction")
    actions = (
        catalogued_action("eviction.notice"),
        catalogued_action("eviction.spare"),
        catalogued_action("eviction.evict", platform=True),
        catalogued_action("eviction.announce", audience="group"),
    )
    placeholders = frozenset({"criteria", "at_risk"})

    @staticmethod
    def _cursor_key(policy: Eviction) -> str:
        return f"eviction:{policy.id}:cursor"

    @staticmethod
    def _deferred_key(policy: Eviction) -> str:
        return f"eviction:{policy.id}:deferred"

    def _deferred(self, policy: Eviction, rt: Runtime) -> dict[str, str]:
        """Periods whose end waits for a late notice: period key -> when (this run's copy)."""
        scratch = rt.scratch(policy.id)
        if "deferred" not in scratch:
            raw = rt.get_state(self._deferred_key(policy))
            loaded = json.loads(raw) if raw else {}
            scratch["deferred"] = {str(k): str(v) for k, v in loaded.items()}
        deferred: dict[str, str] = scratch["deferred"]
        return deferred

    def due(self, policy: Eviction, rt: Runtime, at: datetime) -> list[Point]:
        raw = rt.get_state(self._cursor_key(policy))
        if raw is not None:
            after = datetime.fromisoformat(raw)
        elif policy.start is not None:
            after = policy.start - _ONE_TICK
        else:
            after = at - _ONE_TICK
        points: list[Point] = []
        pending = self._deferred(policy, rt)
        for key, due_text in pending.items():
            due = datetime.fromisoformat(due_text)
            period = eviction_period(policy, datetime.fromisoformat(key), rt.tz)
            if due <= at and period is not None:
                points.append(Point(due, _END, period))
        if after < at:
            periods = eviction_periods(policy, after, at, rt.tz)
            # Of the notices this run owes, only the latest period's is given: a member
            # told late of several periods at once would get one notice per period,
            # each too late to act on; the earlier periods pass without eviction.
            noticed = [p for p in periods if after < p.notice_at <= at]
            if noticed:
                points.append(Point(noticed[-1].notice_at, _NOTICE, noticed[-1]))
            points += [Point(p.end, _END, p) for p in periods if after < p.end <= at]
            rt.set_state(self._cursor_key(policy), at.isoformat())
        return points

    def decide_at_point(
        self, policy: Eviction, point: Point, rt: Runtime, at: datetime
    ) -> tuple[list[Decision], list[Point]]:
        period: Period = point.payload
        pending = self._deferred(policy, rt)
        failed_before = rt.failures()
        made: list[Decision] = []
        more: list[Point] = []
        if point.what == _NOTICE:
            # A notice is decided when the run actually makes it: a late run's notice
            # gives the member the whole ``notice`` from now, so the period's end waits
            due = policy.notice.after(at, rt.tz)
            deadline = max(period.end, due)
            if due > period.end:
                pending[period.key] = due.isoformat()
                if due <= at:  # a zero notice: the deferred end is due in this run
                    more.append(Point(due, _END, period))
            for group in policy.groups:
                made += self._notices(policy, period, group, at, rt, deadline=deadline)
                if policy.announce:
                    _add(made, self._announce(policy, period, group, at, rt, deadline=deadline))
            if rt.failures() > failed_before:
                retry = rt.scratch(policy.id)
                retry["retry_notice"] = min(retry.get("retry_notice", period.notice_at), period.notice_at)
            return made, more
        waits = pending.get(period.key)
        if waits is not None and datetime.fromisoformat(waits) > point.when:
            return made, more  # deferred: a late notice; its end comes at ``due``
        pending.pop(period.key, None)
        for group in policy.groups:
            made += self._period_end(policy, period, group, point.when, rt)
        if rt.failures() > failed_before:
            # a plugin failed for a member at this end: the next run decides it again,
            # at this end's time (what was decided here is kept, by decision id)
            pending[period.key] = point.when.isoformat()
        return made, more

    def finish(self, policy: Eviction, rt: Runtime, at: datetime) -> None:
        scratch = rt.scratch(policy.id)
        notice_at = scratch.get("retry_notice")
        if notice_at is not None:
            # a plugin failed at a notice: the next run gives that period's notices again
            # (to those who have none; a late notice, so the period's end waits for it)
            rt.set_state(self._cursor_key(policy), (notice_at - _ONE_TICK).isoformat())
        deferred = self._deferred(policy, rt)
        if deferred or rt.get_state(self._deferred_key(policy)) not in (None, "{}"):
            rt.set_state(self._deferred_key(policy), json.dumps(deferred, sort_keys=True))

    def _notices(
        self, policy: Eviction, period: Period, group: str, at: datetime, rt: Runtime, *, deadline: datetime
    ) -> list[Decision]:
        made: list[Decision] = []
        # who joined after the notice time waits for the next period, late run or not
        candidates = [
            ms
            for ms in rt.memberships(group, status=PRESENT_STATUSES)
            if ms.joined_at <= min(at, period.notice_at)
        ]
        scope = policy.default_scope
        verdicts = rt.holding(policy.when, candidates, at, default_scope=scope, period_start=period.start)
        for ms, verdict in zip(candidates, verdicts, strict=True):
            with rt.isolated(policy.id, ms, at):
                if verdict is None:  # not answered in the batch: decided alone
                    ctx = rt.context(ms, at, default_scope=scope, period_start=period.start)
                    verdict = holds(policy.when, ctx)
                if not verdict:
                    continue  # a verdict first: explanations only for the notices given
                ctx = rt.context(ms, at, default_scope=scope, period_start=period.start)
                check = eviction_check(policy, ctx, period)
                if not check.at_risk:
                    continue
                d = rt.decide(policy.id, "notice", ms, period.key, at, check.failing)
                after = ms.model_copy(update={"status": "notified"})
                _add(made, rt.apply(Verdict(d, ms, after, deadline=deadline)))
        return made

    def _announce(
        self, policy: Eviction, period: Period, group: str, at: datetime, rt: Runtime, *, deadline: datetime
    ) -> Decision | None:
        """One post in ``group`` naming who holds this period's notice (None when
        nobody does); decided once per period, so a rerun posts nothing more."""
        noticed = [
            d
            for d in rt.decisions(policy=policy.id, action="notice", group=group)
            if d.period == period.key and d.status == "applied" and d.member is not None
        ]
        if not noticed:
            return None
        with rt.isolated(policy.id, None, at, group=group):
            locale = rt.locale
            names = sorted((_display(rt, d.member), d.member) for d in noticed if d.member is not None)
            shown = [name for name, _ in names[: policy.announce_max]]
            rest = len(names) - len(shown)
            at_risk = text("sep.list", locale).join(shown)
            if rest:
                at_risk += text("eviction.at_risk_more", locale, rest=rest)
            first = noticed[0].explanation
            criteria = first.negate().requirements(locale) if first is not None else ""
            d = rt.decide_about(
                policy.id, "announce", group=group, period=period.key, at=at, explanation=first
            )
            values = {"at_risk": at_risk, "criteria": criteria}
            return rt.apply(Verdict(d, deadline=deadline, values=values))
        return None

    def _period_end(
        self, policy: Eviction, period: Period, group: str, at: datetime, rt: Runtime
    ) -> list[Decision]:
        made: list[Decision] = []
        # the period's notices, asked once for the group
        noticed = {
            d.id
            for d in rt.decisions(policy=policy.id, action="notice", group=group)
            if d.period == period.key and d.status == "applied"
        }
        for ms in rt.memberships(group):
            with rt.isolated(policy.id, ms, at):
                if not ms.present:
                    continue
                if decision_id(policy.id, "notice", ms.member, ms.group, period.key) not in noticed:
                    continue
                ctx = rt.context(ms, at, default_scope=policy.default_scope, period_start=period.start)
                check = eviction_check(policy, ctx, period)
                if check.at_risk:
                    d = rt.decide(policy.id, "evict", ms, period.key, at, check.failing)
                    after = ms.model_copy(update={"status": "evicted", "evicted_at": at})
                else:
                    d = rt.decide(policy.id, "spare", ms, period.key, at, check.failing)
                    after = ms.model_copy(update={"status": "active"})
                _add(made, rt.apply(Verdict(d, ms, after, deadline=max(period.end, at))))
        return made

    def explain(
        self, policy: Eviction, rt: Runtime, ms: Membership, at: datetime
    ) -> tuple[list[Any], list[Any]]:
        sections: list[Section] = []
        notes: list[Note] = []
        period = eviction_period(policy, at, rt.tz)
        ctx = rt.context(
            ms, at, default_scope=policy.default_scope, period_start=period.start if period else None
        )
        if period is None:
            sections.append(Section(kind="stay", explanation=evaluate(policy.when, ctx).negate()))
            return sections, notes
        check = eviction_check(policy, ctx, period)
        sections.append(Section(kind="stay", explanation=check.failing.negate()))
        if check.exempt is not None:
            sections.append(Section(kind="exempt", explanation=check.exempt))
        if check.grace:
            notes.append(Note(kind="grace"))
        notes.append(
            Note(
                kind="period",
                values={"end": period.end.isoformat(), "notice_at": period.notice_at.isoformat()},
            )
        )
        return sections, notes

    def strategy(self, ctx: StrategyContext) -> Any:
        from hypothesis import strategies as st

        tz = zone(ctx.timezone)

        @st.composite
        def policies(draw: st.DrawFn) -> Eviction:
            rule, shortest = draw(st.sampled_from(SCHEDULES))
            longest_notice_hours = max(1, int(shortest.total_seconds() // 3600) - 1)
            notice = draw(
                st.integers(min_value=1, max_value=min(longest_notice_hours, 72)).map(
                    lambda h: Duration(h, "h")
                )
                | st.integers(min_value=1, max_value=max(1, min(3, shortest.days - 1))).map(
                    lambda d: Duration(d, "d")
                )
            )
            if notice.unit == "d" and timedelta(days=notice.amount) >= shortest:
                notice = Duration(min(notice.amount * 24, longest_notice_hours), "h")
            start = draw(
                st.none()
                | st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)).map(
                    lambda d: d.replace(second=0, microsecond=0, tzinfo=tz).astimezone(UTC).astimezone(tz)
                )
            )
            return Eviction(
                id="eviction",
                groups=draw(ctx.some_groups),
                schedule=parse_schedule(rule),
                notice=notice,
                grace=draw(st.none() | ctx.durations(("h", "d"), 10)),
                start=start,
                exempt=draw(ctx.good) if draw(st.booleans()) else None,
                when=draw(ctx.when),
            )

        return policies()


SCHEDULES: tuple[tuple[str, timedelta], ...] = (
    ("FREQ=WEEKLY;BYDAY=SU;BYHOUR=20", timedelta(days=7)),
    ("FREQ=DAILY;BYHOUR=21", timedelta(days=1)),
    ("FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=30", timedelta(days=3)),
    ("FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=10", timedelta(days=28)),
)
"""The schedules the kind's testing strategy draws, with their shortest period (notices
are drawn shorter than it)."""


def _display(rt: Runtime, member: str) -> str:
    profile = rt.profiles.get(member)
    return profile.name if profile is not None and profile.name else member


def _add(made: list[Decision], d: Decision | None) -> None:
    if d is not None:
        made.append(d)


KIND = EvictionKind()
