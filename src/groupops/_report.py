"""The operator's HTML report: one self-contained file with inline SVG charts.

:func:`collect` reads a store and a rule book into :class:`ReportData` (plain numbers);
:func:`render_html` draws it: acquisition → activation → retention → conversion per
source channel, each group's role composition against a target mix, and what the rules
did per week. Every chart is hand-written SVG with its numbers in a table beside it; the
file has no scripts and fetches nothing, so it can be opened anywhere or forwarded.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ._errors import InputError, Problem
from ._funnel import FUNNEL_STAGES, FunnelRow, funnel_rows
from ._health import health_table
from ._i18n import text
from ._model import ACTIONS
from ._referrals import REFERRAL_EVENT, ReferralTree, referral_tree
from .plugins._store import Store
from .rules._book import RuleBook
from .rules._time import to_zone
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
    "render_html",
    "report_json",
    "role_bucket",
]

ROLE_BUCKETS: tuple[str, ...] = ("guests", "lecturers", "kols", "active", "ordinary")
DEFAULT_TARGET_MIX: dict[str, float] = {"guests": 4, "lecturers": 6, "kols": 8, "active": 10, "ordinary": 72}
"""The healthy group the method describes: about 4 % notable guests, 6 % lecturers, 8 %
KOLs, 10 % active members and 70 % ordinary ones. Those add up to 98 %; the 2 % the
list leaves out go to ordinary members (the rest of the list), so the mix sums to 100 %."""
LIFECYCLE_ACTIONS: tuple[str, ...] = ("notice", "evict", "revive")
GROWTH_ACTIONS: tuple[str, ...] = ("invite", "promote", "demote")
STAFF_ROLES = frozenset({"owner", "admin", "assistant"})

_ROLE_TO_BUCKET = {
    "guest": "guests",
    "lecturer": "lecturers",
    "kol": "kols",
    "active": "active",
    "core": "active",
}


def check_target_mix(mix: Mapping[str, float]) -> dict[str, float]:
    """``mix`` as a full target mix (a bucket it leaves out is 0 %), or an
    :class:`InputError` naming the value: the buckets are :data:`ROLE_BUCKETS`, each
    share a finite number of at least 0, and the shares sum to 100 % (to 0.01)."""
    problems: list[Problem] = []
    unknown = sorted(set(mix) - set(ROLE_BUCKETS))
    if unknown:
        problems.append(
            Problem("target_mix", f"{unknown!r} are not role buckets (buckets: {', '.join(ROLE_BUCKETS)})")
        )
    for bucket, share in mix.items():
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share < float("inf"):
            problems.append(Problem(f"target_mix.{bucket}", f"{share!r} is not a percentage of at least 0"))
    if not problems:
        total = sum(float(v) for v in mix.values())
        if abs(total - 100.0) > 0.01:
            problems.append(Problem("target_mix", f"{dict(mix)!r} sums to {total:g} %, not 100 %"))
    if problems:
        raise InputError(problems)
    return {b: float(mix.get(b, 0.0)) for b in ROLE_BUCKETS}


def role_bucket(role: str) -> str | None:
    """The composition bucket of a membership role; None for staff (owner, admin,
    assistant), who are not counted. Roles not named here count as ordinary."""
    if role in STAFF_ROLES:
        return None
    return _ROLE_TO_BUCKET.get(role, "ordinary")


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
) -> ReportData:
    """Read the numbers of the report from ``store`` as of ``at`` (default: the latest
    event or run recorded). Events and decisions after ``at`` are left out; memberships
    are taken as they are now, counted if they began by ``at``; a member is counted from
    their first event (so a report dated before any data counts nobody). Members whose
    profile names no source are the funnel's unknown-channel row, so its rows add up to
    every member. ``target_mix`` must sum to 100 % (see :func:`check_target_mix`)."""
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
    kinds = {g.id: g.kind for g in book.groups}
    profiles = store.members()
    funnel = funnel_rows(events, memberships, profiles, kinds, until=at, tz_book=book)
    by_referrer = funnel_rows(events, memberships, profiles, kinds, until=at, by="referrer")
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
    counted = Counter(d.action for d in decisions)
    totals = {a: counted[a] for a in sorted(counted, key=_action_rank)}
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
    )


def _action_rank(action: str) -> tuple[int, str]:
    return (ACTIONS.index(action) if action in ACTIONS else len(ACTIONS), action)


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


# -- rendering -----------------------------------------------------------------------

# The report's words live in the message catalogue (groupops/locales/*.yaml) as
# ``report.<key>``; these keys share an entry with the CLI.
_SHARED: dict[str, str] = {
    "conversion": "word.conversion",
    "generation": "word.generation",
    "group": "word.group",
    "members": "word.members",
    "plan": "word.plan",
    "referrers": "word.referred_others",
    "score": "word.score",
    "speakers": "word.speakers",
    "state": "word.state",
    "state_active": "health.state.active",
    "state_dead": "health.state.dead",
    "state_dormant": "health.state.dormant",
    "total": "word.total",
    "trend": "word.trend",
}

# Okabe–Ito: distinguishable with colour-blindness, and in greyscale print by order.
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
_FUNNEL_COLORS = dict(zip(FUNNEL_STAGES, ("#0072B2", "#56B4E9", "#009E73", "#E69F00"), strict=True))
_BUCKET_COLORS = dict(zip(ROLE_BUCKETS, ("#CC79A7", "#D55E00", "#E69F00", "#009E73", "#B8C4CE"), strict=True))
_ACTION_COLORS = {
    "notice": "#E69F00",
    "evict": "#D55E00",
    "revive": "#009E73",
    "invite": "#0072B2",
    "promote": "#56B4E9",
    "demote": "#CC79A7",
}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _L(locale: str, key: str, **values: Any) -> str:
    """The report's word ``key`` in ``locale``; a key the catalogue lacks is shown as it is."""
    try:
        return text(_SHARED.get(key, f"report.{key}"), locale, **values)
    except KeyError:
        return key


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.0f}%" if whole else "–"


def _nice_max(value: float, ticks: int = 4) -> int:
    """A round axis maximum at or above ``value`` that ``ticks`` divides into round steps."""
    steps = sorted({int(m * 10**k) for k in range(8) for m in (1, 1.5, 2, 2.5, 5) if m * 10**k >= 1})
    return next((s * ticks for s in steps if s * ticks >= value), int(value) + 1)


def _svg_open(width: int, height: int, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{_e(label)}"><title>{_e(label)}</title>'
    )


def _text(x: float, y: float, text: object, *, anchor: str = "start", cls: str = "", size: int = 12) -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}"{klass}>{_e(text)}</text>'


def _legend(items: Iterable[tuple[str, str]]) -> str:
    spans = "".join(
        f'<span class="key"><i style="background:{color}"></i>{_e(label)}</span>' for label, color in items
    )
    return f'<div class="legend">{spans}</div>'


def _label_width(text: str, size: int) -> int:
    """About how wide ``text`` is drawn at ``size`` px: CJK characters are square, Latin
    ones a little over half as wide."""
    return int(sum(size if ord(c) > 0x2E80 else size * 0.6 for c in text)) + 1


def _source_label(row: FunnelRow, locale: str) -> str:
    return row.source if row.source is not None else _L(locale, "unknown_source")


def funnel_svg(rows: Sequence[FunnelRow], locale: str) -> str:
    """Per channel, one bar per funnel stage, as long as its count (shared scale)."""
    width, right, bar, gap, block_gap = 640, 70, 13, 3, 16
    # room for the longest channel name ("unknown channel" included), right-aligned
    left = max(96, 16 + max((_label_width(_source_label(r, locale), 13) for r in rows), default=0))
    block = len(FUNNEL_STAGES) * (bar + gap) + block_gap
    height = max(40, 10 + len(rows) * block)
    top = max((r.acquired for r in rows), default=1) or 1
    scale = (width - left - right) / top
    parts = [_svg_open(width, height, _L(locale, "funnel_title"))]
    y = 8.0
    for r in rows:
        source = _source_label(r, locale)
        parts.append(_text(left - 10, y + 2 * (bar + gap) + 2, source, anchor="end", cls="cat", size=13))
        for stage in FUNNEL_STAGES:
            n = r.stage(stage)
            w = max(1.0, n * scale) if n else 0.0
            parts.append(
                f'<rect x="{left}" y="{y:.1f}" width="{w:.1f}" height="{bar}" rx="2" '
                f'fill="{_FUNNEL_COLORS[stage]}">'
                f"<title>{_e(source)} · {_e(_L(locale, stage))}: {n}</title></rect>"
            )
            shown = f"{n}" if stage == "acquired" else f"{n} · {_pct(n, r.acquired)}"
            parts.append(_text(left + w + 6, y + bar - 2.5, shown, size=11, cls="val"))
            y += bar + gap
        y += block_gap
    parts.append(f'<line x1="{left}" y1="4" x2="{left}" y2="{height - 4}" class="axis"/>')
    parts.append("</svg>")
    return "".join(parts)


def composition_svg(rows: Sequence[CompositionRow], target: Mapping[str, float], locale: str) -> str:
    """100 % stacked bars: the target mix first, then each group."""
    width, left, right, bar, gap = 640, 150, 16, 26, 14
    lines: list[tuple[str, dict[str, float], str]] = [
        (_L(locale, "target"), dict(target), ""),
        *((r.name, {b: r.share(b) for b in ROLE_BUCKETS}, f"n = {r.total}") for r in rows),
    ]
    height = 14 + len(lines) * (bar + gap) + 18
    span = width - left - right
    parts = [_svg_open(width, height, _L(locale, "composition_title"))]
    bottom = 10.0 + len(lines) * (bar + gap)
    # gridlines first, so that the bars and their percentages are drawn over them
    for tick in (0, 25, 50, 75, 100):
        x = left + span * tick / 100
        parts.append(f'<line x1="{x:.1f}" y1="6" x2="{x:.1f}" y2="{bottom - gap + 4:.1f}" class="grid"/>')
        parts.append(_text(x, bottom + 8, f"{tick}%", anchor="middle", size=10, cls="tick"))
    y = 10.0
    for label, shares, sub in lines:
        parts.append(_text(left - 10, y + bar / 2, label, anchor="end", cls="cat", size=13))
        parts.append(_text(left - 10, y + bar / 2 + 13, sub, anchor="end", cls="sub", size=10))
        x = float(left)
        for b in ROLE_BUCKETS:
            w = span * shares.get(b, 0.0) / 100.0
            if w <= 0:
                continue
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar}" fill="{_BUCKET_COLORS[b]}">'
                f"<title>{_e(label)} · {_e(_L(locale, b))}: {shares.get(b, 0.0):.1f}%</title></rect>"
            )
            if w >= 30:
                fg = "#1b1b1b" if b in ("ordinary", "kols") else "#ffffff"
                parts.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + bar / 2 + 4:.1f}" text-anchor="middle" '
                    f'font-size="11" '
                    f'fill="{fg}">{shares.get(b, 0.0):.0f}%</text>'
                )
            x += w
        y += bar + gap
    parts.append("</svg>")
    return "".join(parts)


def columns_svg(periods: Sequence[PeriodRow], actions: Sequence[str], label: str) -> str:
    """Grouped columns: per week, one column per action, with a y axis."""
    width, left, right, top, bottom = 640, 40, 10, 14, 30
    height = 260
    plot_h = height - top - bottom
    peak = max((p.counts.get(a, 0) for p in periods for a in actions), default=0)
    ymax = _nice_max(peak)
    slot = (width - left - right) / max(1, len(periods))
    col = min(18.0, (slot - 10) / max(1, len(actions)))
    parts = [_svg_open(width, height, label)]
    for i in range(5):
        v = ymax * i / 4
        y = top + plot_h - plot_h * v / ymax
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="grid"/>')
        parts.append(_text(left - 6, y + 4, f"{v:.0f}", anchor="end", size=10, cls="tick"))
    for i, p in enumerate(periods):
        x0 = left + i * slot + (slot - col * len(actions)) / 2
        for j, a in enumerate(actions):
            n = p.counts.get(a, 0)
            h = plot_h * n / ymax
            x = x0 + j * col
            y = top + plot_h - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{col - 2:.1f}" height="{h:.1f}" '
                f'fill="{_ACTION_COLORS.get(a, _PALETTE[j % len(_PALETTE)])}">'
                f"<title>{_e(p.label)} · {_e(a)}: {n}</title></rect>"
            )
            if n:
                parts.append(_text(x + (col - 2) / 2, y - 3, n, anchor="middle", size=9, cls="val"))
        parts.append(
            _text(left + i * slot + slot / 2, height - bottom + 16, p.label, anchor="middle", size=11)
        )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" class="axis"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


_REFERRAL_COLORS = {"observed": "#0072B2", "plan": "#B8C4CE"}


def referrals_svg(tree: ReferralTree, locale: str) -> str:
    """Per generation, the observed size beside the plan's m·2^g (shared scale)."""
    width, left, right, bar, gap, block_gap = 640, 96, 70, 13, 3, 16
    rows = tree.generations
    block = 2 * (bar + gap) + block_gap
    height = max(40, 10 + len(rows) * block)
    top = max((max(g.size, g.planned) for g in rows), default=1) or 1
    scale = (width - left - right) / top
    parts = [_svg_open(width, height, _L(locale, "referrals_title"))]
    y = 6.0
    for g in rows:
        label = f"{_L(locale, 'generation')} {g.generation}"
        parts.append(_text(left - 8, y + bar + 2, label, anchor="end", size=13))
        for key, value in (("observed", g.size), ("plan", g.planned)):
            w = max(1.0, value * scale) if value else 0.0
            parts.append(
                f'<rect x="{left}" y="{y:.1f}" width="{w:.1f}" height="{bar}" fill="{_REFERRAL_COLORS[key]}">'
                f"<title>{_e(_L(locale, key))}: {value}</title></rect>"
            )
            parts.append(_text(left + w + 4, y + bar - 2, value, cls="val", size=11))
            y += bar + gap
        y += block_gap
    parts.append("</svg>")
    return "".join(parts)


_STATE_COLORS = {"active": "#009E73", "dormant": "#E69F00", "dead": "#D55E00"}


def health_svg(rows: Sequence[GroupHealth], locale: str) -> str:
    """One bar per group: its health score (0-100) coloured by state, with a mark at the
    previous window's score."""
    width, left, right, top, bar = 640, 160, 50, 10, 18
    height = top + len(rows) * (bar + 10) + 24
    plot_w = width - left - right
    parts = [_svg_open(width, height, _L(locale, "health_title"))]
    for v in (0, 25, 50, 75, 100):
        x = left + plot_w * v / 100
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 22}" class="grid"/>')
        parts.append(_text(x, height - 8, v, anchor="middle", size=10, cls="tick"))
    for i, h in enumerate(rows):
        y = top + i * (bar + 10)
        w = plot_w * h.score / 100
        state = _L(locale, f"state_{h.state}")
        parts.append(_text(left - 8, y + bar - 4, h.name, anchor="end", size=12))
        parts.append(
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" fill="{_STATE_COLORS[h.state]}">'
            f"<title>{_e(h.name)} · {_e(state)}: {h.score} ({h.trend:+d})</title></rect>"
        )
        before = left + plot_w * max(0, min(100, h.score - h.trend)) / 100
        parts.append(
            f'<line x1="{before:.1f}" y1="{y - 2}" x2="{before:.1f}" y2="{y + bar + 2}" class="axis"/>'
        )
        parts.append(_text(left + w + 4, y + bar - 4, f"{h.score} ({h.trend:+d})", size=10, cls="val"))
    parts.append("</svg>")
    return "".join(parts)


def _referrals_panel(tree: ReferralTree | None, locale: str) -> str:
    """The referral section, only when members referred anyone."""
    if tree is None or not tree.generations:
        return ""
    values = tree.model_dump(include={"seeds", "depth", "planned", "members", "planned_members"})
    table = _table(
        [_L(locale, k) for k in ("generation", "observed", "referrers", "conversion", "plan")],
        [[g.generation, g.size, g.referrers, _pct(g.referrers, g.size), g.planned] for g in tree.generations],
    )
    chart = referrals_svg(tree, locale)
    return _panel(
        _L(locale, "referrals_title"),
        _L(locale, "referrals_note", **values),
        _legend((_L(locale, k), c) for k, c in _REFERRAL_COLORS.items()),
        chart,
        table,
    )


def _health_panel(rows: Sequence[GroupHealth], locale: str) -> str:
    if not rows:
        return ""
    table = _table(
        [_L(locale, k) for k in ("group", "state", "speakers", "score", "trend")],
        [
            [h.name, _L(locale, f"state_{h.state}"), f"{h.speakers}/{h.members}", h.score, f"{h.trend:+d}"]
            for h in rows
        ],
        numeric_from=2,
    )
    legend = _legend((_L(locale, f"state_{s}"), c) for s, c in _STATE_COLORS.items())
    chart = health_svg(rows, locale)
    return _panel(_L(locale, "health_title"), _L(locale, "health_note"), legend, chart, table) + "\n"


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], numeric_from: int = 1) -> str:
    head = "".join(
        f"<th{' class=n' if i >= numeric_from else ''}>{_e(h)}</th>" for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=n' if i >= numeric_from else ''}>{_e(c)}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _panel(title: str, note: str, legend: str, chart: str, table: str) -> str:
    return (
        f'<section class="panel"><h2>{_e(title)}</h2><p class="note">{_e(note)}</p>'
        f'<div class="body"><figure>{legend}{chart}</figure>'
        f'<div class="numbers">{table}</div></div></section>'
    )


_CSS = """
:root { color-scheme: light; --ink: #1b1b1b; --muted: #5f6b76; --line: #d9dee3; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 -apple-system, "Segoe UI", "Helvetica Neue", Arial, "PingFang SC", "Microsoft YaHei",
  "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 28px 28px 40px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header p { margin: 0; color: var(--muted); }
.tiles { display: grid; grid-template-columns: repeat(6, 1fr); gap: 12px; margin: 20px 0 8px; }
.tile { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.tile b { display: block; font-size: 24px; font-variant-numeric: tabular-nums; }
.tile span { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px 18px;
  margin-top: 16px; break-inside: avoid; }
.panel h2 { margin: 0; font-size: 17px; }
.note { margin: 2px 0 10px; color: var(--muted); font-size: 12.5px; }
.body { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 24px; align-items: start; }
figure { margin: 0; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; margin: 0 0 6px; font-size: 12px; color: var(--muted); }
.key i { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 5px;
  vertical-align: -1px; }
svg text { fill: var(--ink); }
svg .tick, svg .sub { fill: var(--muted); }
svg .val { fill: #3a444d; }
svg .grid { stroke: #eceff2; stroke-width: 1; }
svg .axis { stroke: #9aa5b1; stroke-width: 1; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { color: var(--muted); font-weight: 600; font-size: 11.5px; }
.n { text-align: right; }
tbody tr:last-child td { border-bottom: none; }
footer { margin-top: 18px; color: var(--muted); font-size: 12px; }
@media (max-width: 900px) {
  .body { grid-template-columns: 1fr; } .tiles { grid-template-columns: repeat(3, 1fr); } }
@media print { body { background: #fff; } .panel { border-color: #bbb; } }
"""


def _referrers_panel(data: ReportData, locale: str) -> str:
    """Members each referrer brought, activated and converted (a table; nothing when no
    profile names a referrer)."""
    if not data.referrers:
        return ""
    stages = FUNNEL_STAGES[1:]
    table = _table(
        [_L(locale, "referrer"), *(_L(locale, s) for s in FUNNEL_STAGES)],
        [
            [r.key, r.acquired, *(f"{r.stage(s)} ({_pct(r.stage(s), r.acquired)})" for s in stages)]
            for r in data.referrers
        ],
    )
    return _panel(_L(locale, "referrers_title"), _L(locale, "referrers_note"), "", "", table) + "\n"


def render_html(data: ReportData, *, locale: str = "en") -> str:
    """The report as one HTML document: inline CSS and SVG, no scripts, no links out."""

    def L(key: str, **values: Any) -> str:
        return _L(locale, key, **values)

    fmt = "%Y-%m-%d %H:%M"
    tiles = [
        (data.members, L("members")),
        (data.events, L("events")),
        (data.decisions, L("decisions")),
        (data.totals.get("invite", 0), L("invite")),
        (data.totals.get("evict", 0), L("evict")),
        (data.totals.get("revive", 0), L("revive")),
    ]
    tiles_html = "".join(f'<div class="tile"><b>{n}</b><span>{_e(label)}</span></div>' for n, label in tiles)

    funnel_table = _table(
        [L("source"), *(L(s) for s in FUNNEL_STAGES)],
        [
            [
                _source_label(r, locale),
                r.acquired,
                *(f"{r.stage(s)} ({_pct(r.stage(s), r.acquired)})" for s in FUNNEL_STAGES[1:]),
            ]
            for r in data.funnel
        ]
        + [
            [
                L("total"),
                sum(r.acquired for r in data.funnel),
                *(
                    f"{sum(r.stage(s) for r in data.funnel)} "
                    f"({_pct(sum(r.stage(s) for r in data.funnel), sum(r.acquired for r in data.funnel))})"
                    for s in FUNNEL_STAGES[1:]
                ),
            ]
        ],
    )
    funnel = _panel(
        L("funnel_title"),
        L("funnel_note"),
        _legend((L(s), _FUNNEL_COLORS[s]) for s in FUNNEL_STAGES),
        funnel_svg(data.funnel, locale) if data.funnel else f"<p>{_e(L('none'))}</p>",
        funnel_table,
    )

    target = data.target_mix
    composition_table = _table(
        [L("group"), *(L(b) for b in ROLE_BUCKETS)],
        [[L("target"), *(f"{target.get(b, 0.0):.0f}%" for b in ROLE_BUCKETS)]]
        + [
            [r.name, *(f"{r.counts.get(b, 0)} ({r.share(b):.0f}%)" for b in ROLE_BUCKETS)]
            for r in data.composition
        ],
    )
    composition = _panel(
        L("composition_title"),
        L("composition_note"),
        _legend((L(b), _BUCKET_COLORS[b]) for b in ROLE_BUCKETS),
        composition_svg(data.composition, data.target_mix, locale),
        composition_table,
    )

    def period_panel(key: str, actions: Sequence[str]) -> str:
        table = _table(
            [L("week"), *(L(a) for a in actions)],
            [[p.start.strftime("%Y-%m-%d"), *(p.counts.get(a, 0) for a in actions)] for p in data.periods]
            + [[L("total"), *(sum(p.counts.get(a, 0) for p in data.periods) for a in actions)]],
        )
        return _panel(
            L(f"{key}_title"),
            L(f"{key}_note"),
            _legend((L(a), _ACTION_COLORS[a]) for a in actions),
            columns_svg(data.periods, actions, L(f"{key}_title")),
            table,
        )

    subtitle = L(
        "as_of",
        at=data.at.strftime(fmt),
        tz=data.timezone,
        since=data.since.strftime("%Y-%m-%d"),
        revision=data.revision,
    )
    lang = _L(locale, "html_lang")
    title = data.title or L("title")
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<header><h1>{_e(title)}</h1><p>{_e(subtitle)}</p></header>\n"
        f'<div class="tiles">{tiles_html}</div>\n'
        f"{funnel}\n{_referrers_panel(data, locale)}{composition}\n{_health_panel(data.health, locale)}"
        f"{period_panel('lifecycle', LIFECYCLE_ACTIONS)}\n"
        f"{period_panel('growth', GROWTH_ACTIONS)}\n"
        f"{_referrals_panel(data.referrals, locale)}\n"
        f"<footer>{_e(L('footer'))}</footer>\n</main>\n</body>\n</html>\n"
    )
