"""The operator's report, its numbers: :func:`collect` reads a store and a rule book into
:class:`ReportData` (plain, typed numbers; :func:`report_json` writes them as JSON).

What the report shows: acquisition → activation → retention → conversion per source
channel, each group's role composition against a target mix, group health, the referral
tree, and what the rules did per week. :func:`~groupops._report_html.render_html` draws
it as one self-contained HTML page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ._errors import InputError, Problem
from ._funnel import FUNNEL_STAGES, FunnelRow, funnel_rows
from ._health import health_table
from ._referrals import REFERRAL_EVENT, ReferralTree, referral_tree
from ._time import to_zone
from .plugins._store import Store
from .rules._book import RuleBook, installed_kinds
from .rules.kinds import KindRegistry
from .rules.kinds.composition import BUCKETS, DEFAULT_MIX, bucket_of, mix_problems
from .rules.kinds.health import GroupHealth

__all__ = [
    "DEFAULT_TARGET_MIX",
    "FUNNEL_STAGES",
    "ROLE_BUCKETS",
    "CompositionRow",
    "FunnelRow",
    "PeriodRow",
    "ReportData",
    "check_target_mix",
    "collect",
    "report_json",
    "role_bucket",
]

ROLE_BUCKETS: tuple[str, ...] = BUCKETS
"""The composition kind's role buckets: the report counts members as it does."""
DEFAULT_TARGET_MIX: Mapping[str, float] = DEFAULT_MIX
"""The composition kind's default mix, the healthy group the method describes: about 4 %
notable guests, 6 % lecturers, 8 % KOLs, 10 % active members and 70 % ordinary ones.
Those add up to 98 %; the 2 % the list leaves out go to ordinary members (the rest of
the list), so the mix sums to 100 %."""
LIFECYCLE_ACTIONS: tuple[str, ...] = ("notice", "evict", "revive")
GROWTH_ACTIONS: tuple[str, ...] = ("invite", "promote", "demote")


def check_target_mix(mix: Mapping[str, float]) -> dict[str, float]:
    """``mix`` as a full target mix (a bucket it leaves out is 0 %), or an
    :class:`InputError` naming the value: the buckets are :data:`ROLE_BUCKETS`, each
    share a finite number of at least 0, and the shares sum to 100 % (to 0.01)."""
    problems = mix_problems(mix)
    if problems:
        raise InputError([Problem(f"target_mix.{b}" if b else "target_mix", m) for b, m in problems])
    return {b: float(mix.get(b, 0.0)) for b in ROLE_BUCKETS}


def role_bucket(role: str) -> str | None:
    """The composition bucket of a membership role, as the composition kind counts it
    (:func:`~groupops.rules.kinds.composition.bucket_of`): None for staff (owner, admin,
    assistant), who are not counted; a role it does not name counts as ordinary."""
    return bucket_of(role)


@dataclass(frozen=True)
class CompositionRow:
    """The members of one group by role bucket (staff left out)."""

    group: str
    name: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def share(self, bucket: str) -> float:
        return 100.0 * self.counts.get(bucket, 0) / self.total if self.total else 0.0


@dataclass(frozen=True)
class PeriodRow:
    """Decisions applied in one week (Monday 00:00 to Monday 00:00, book time zone)."""

    start: datetime
    counts: dict[str, int]

    @property
    def label(self) -> str:
        return self.start.strftime("%m-%d")


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, as plain numbers (an empty title: the default)."""

    title: str
    at: datetime
    since: datetime
    timezone: str
    revision: str
    members: int
    events: int
    decisions: int
    funnel: tuple[FunnelRow, ...]
    composition: tuple[CompositionRow, ...]
    target_mix: dict[str, float]
    periods: tuple[PeriodRow, ...]
    totals: dict[str, int] = field(default_factory=dict)
    referrals: ReferralTree | None = None
    referrers: tuple[FunnelRow, ...] = ()
    health: tuple[GroupHealth, ...] = ()
    actions: tuple[str, ...] = ()
    """The actions the book's kinds declare (their :class:`~groupops.ActionSpec`), in
    the order the kinds registered them: the order of ``totals``."""

    @property
    def chart_count(self) -> int:
        referrals = 1 if self.referrals is not None and self.referrals.generations else 0
        return 4 + referrals + (1 if self.health else 0)


def _latest(store: Store) -> datetime | None:
    moments: list[datetime] = []
    last_run = store.get_state("last_run_at")
    if last_run is not None:
        moments.append(datetime.fromisoformat(last_run))
    return max(moments) if moments else None


def collect(
    store: Store,
    book: RuleBook,
    *,
    at: datetime | None = None,
    target_mix: Mapping[str, float] = DEFAULT_TARGET_MIX,
    title: str | None = None,
    kinds: KindRegistry | None = None,
) -> ReportData:
    """Read the numbers of the report from ``store`` as of ``at`` (default: the latest
    event or run recorded). Events and decisions after ``at`` are left out; memberships
    are taken as they are now, counted if they began by ``at``; a member is counted from
    their first event (so a report dated before any data counts nobody). Members whose
    profile names no source are the funnel's unknown-channel row, so its rows add up to
    every member. ``target_mix`` must sum to 100 % (see :func:`check_target_mix`).
    ``kinds``: the policy kinds whose actions the report names (default: the installed
    ones); an action no kind declares is counted after theirs."""
    tz = book.tz
    target_mix = check_target_mix(target_mix)
    events = [e for _, e in store.events_after(0)]
    decisions = [d for d in store.decisions() if d.status == "applied"]
    if at is None:
        moments = [e.at for e in events] + [d.at for d in decisions]
        last_run = _latest(store)
        if last_run is not None:
            moments.append(last_run)
        if not moments:
            raise InputError(
                [Problem("", "the database holds no events or decisions yet: nothing to report")]
            )
        at = max(moments)
    at = to_zone(at, tz)
    events = [e for e in events if e.at <= at]
    decisions = [d for d in decisions if d.at <= at]
    memberships = [ms for ms in store.memberships() if ms.joined_at <= at]

    # funnel: the library's, per source channel ------------------------------------------
    group_kinds = {g.id: g.kind for g in book.groups}
    profiles = store.members()
    funnel = funnel_rows(events, memberships, profiles, group_kinds, until=at, tz_book=book)
    by_referrer = funnel_rows(events, memberships, profiles, group_kinds, until=at, by="referrer")
    referrers = tuple(r for r in by_referrer if r.key is not None)

    # composition --------------------------------------------------------------------
    composition: list[CompositionRow] = []
    for g in book.groups:
        counts = Counter(
            bucket
            for ms in memberships
            if ms.group == g.id and ms.present and (bucket := role_bucket(ms.role)) is not None
        )
        if counts:
            composition.append(
                CompositionRow(
                    group=g.id, name=g.name or g.id, counts={b: counts.get(b, 0) for b in ROLE_BUCKETS}
                )
            )

    # periods ------------------------------------------------------------------------
    first = min([e.at for e in events] + [d.at for d in decisions], default=at)
    week = _week_start(first.astimezone(tz))
    periods: list[PeriodRow] = []
    by_week: dict[datetime, Counter[str]] = {}
    for d in decisions:
        by_week.setdefault(_week_start(d.at.astimezone(tz)), Counter())[d.action] += 1
    while week <= at:
        periods.append(PeriodRow(start=week, counts=dict(by_week.get(week, Counter()))))
        week = _week_start(week + timedelta(days=7, hours=12))
    actions = tuple(dict.fromkeys((kinds if kinds is not None else installed_kinds()).action_names()))
    rank = {a: i for i, a in enumerate(actions)}
    counted = Counter(d.action for d in decisions)
    totals = {a: counted[a] for a in sorted(counted, key=lambda a: (rank.get(a, len(rank)), a))}
    open_groups = [g for g in store.groups() if g.status == "open"]
    health = health_table(store, at, book=book, groups=open_groups) if open_groups else []
    return ReportData(
        title=title or "",
        at=at,
        since=first.astimezone(tz),
        timezone=book.timezone,
        revision=book.revision,
        members=sum(r.acquired for r in funnel),
        events=len(events),
        decisions=len(decisions),
        funnel=funnel,
        referrers=referrers,
        composition=tuple(composition),
        target_mix=dict(target_mix),
        periods=tuple(periods),
        totals=totals,
        referrals=referral_tree(profiles, [e for e in events if e.kind == REFERRAL_EVENT]),
        health=tuple(health),
        actions=actions,
    )


def _week_start(at: datetime) -> datetime:
    day = at - timedelta(days=at.weekday())
    return day.replace(hour=0, minute=0, second=0, microsecond=0)


def report_json(data: ReportData) -> dict[str, Any]:
    """The report's numbers as JSON-ready data."""
    return {
        "title": data.title,
        "at": data.at.isoformat(),
        "since": data.since.isoformat(),
        "timezone": data.timezone,
        "revision": data.revision,
        "members": data.members,
        "events": data.events,
        "decisions": data.decisions,
        "totals": data.totals,
        "funnel": [{"source": r.source, **{s: r.stage(s) for s in FUNNEL_STAGES}} for r in data.funnel],
        "referrers": [{"referrer": r.key, **{s: r.stage(s) for s in FUNNEL_STAGES}} for r in data.referrers],
        "composition": [
            {"group": r.group, "name": r.name, "total": r.total, "counts": r.counts} for r in data.composition
        ],
        "target_mix": data.target_mix,
        "periods": [{"start": p.start.isoformat(), "counts": p.counts} for p in data.periods],
        "referrals": _referrals_json(data.referrals),
        "health": [
            {
                "group": h.group,
                "name": h.name,
                "state": h.state,
                "score": h.score,
                "trend": h.trend,
                "speakers": h.speakers,
                "members": h.members,
                "topics": h.topics,
                "questions": h.questions,
                "answered": h.answered,
            }
            for h in data.health
        ],
    }


def _referrals_json(tree: ReferralTree | None) -> dict[str, Any] | None:
    if tree is None:
        return None
    doc: dict[str, Any] = tree.model_dump(exclude={"generation_of"})
    doc["generations"] = tree.rows()
    return doc
