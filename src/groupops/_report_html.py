"""The operator's report drawn as one HTML page: the markup of :class:`ReportData`.

The numbers come from :func:`~groupops._report.collect`; this module lays them out. Each
chart is a list of shapes (bars, labels, lines: positions and words, no markup) drawn by
``templates/chart.svg.j2``; the page, its panels and tables are
``templates/report.html.j2``; the CSS is ``templates/report.css``. Jinja2 renders them
with autoescape on, so a name with markup in it (``<script>``) is shown, never run.

Over 500 lines for a reason: five charts and their panels, each a short function that
places shapes; splitting them apart would scatter one page's layout over modules.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import jinja2
from markupsafe import Markup

from ._funnel import FUNNEL_STAGES, FunnelRow
from ._i18n import text
from ._referrals import ReferralTree
from ._report import GROWTH_ACTIONS, LIFECYCLE_ACTIONS, ROLE_BUCKETS, CompositionRow, PeriodRow, ReportData
from .rules.kinds.health import GroupHealth

__all__ = [
    "Chart",
    "columns_svg",
    "composition_svg",
    "funnel_svg",
    "health_svg",
    "referrals_svg",
    "render_html",
]

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
_REFERRAL_COLORS = {"observed": "#0072B2", "plan": "#B8C4CE"}
_STATE_COLORS = {"active": "#009E73", "dormant": "#E69F00", "dead": "#D55E00"}


# -- shapes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rect:
    """A bar, with the words a pointer over it shows (its ``<title>``)."""

    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str
    rx: int = 0
    shape: Literal["rect"] = "rect"


@dataclass(frozen=True)
class Label:
    """Words or a number at a point."""

    x: float
    y: float
    text: object
    anchor: str = "start"
    cls: str = ""
    size: int = 12
    fill: str = ""
    shape: Literal["text"] = "text"


@dataclass(frozen=True)
class Line:
    """An axis or a gridline."""

    x1: float
    y1: float
    x2: float
    y2: float
    cls: str
    shape: Literal["line"] = "line"


@dataclass(frozen=True)
class Chart:
    """One chart as plain data: its size, what it shows (``label``) and its shapes."""

    width: int
    height: int
    label: str
    shapes: tuple[Rect | Label | Line, ...] = field(default=())


def _num(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.1f}"


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("groupops", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["num"] = _num
    return env


def _draw(chart: Chart) -> str:
    return _environment().get_template("chart.svg.j2").render(chart=chart)


@functools.cache
def _css() -> str:
    return (resources.files("groupops") / "templates" / "report.css").read_text(encoding="utf-8")


def _L(locale: str, key: str, **values: Any) -> str:
    """The report's word ``key`` in ``locale``; a key the catalogue lacks is shown as it is."""
    try:
        return text(_SHARED.get(key, f"report.{key}"), locale, **values)
    except KeyError:
        return key


def _action_label(locale: str, action: str) -> str:
    return _L(locale, action)


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.0f}%" if whole else "–"


def _nice_max(value: float, ticks: int = 4) -> int:
    """A round axis maximum at or above ``value`` that ``ticks`` divides into round steps."""
    steps = sorted({int(m * 10**k) for k in range(8) for m in (1, 1.5, 2, 2.5, 5) if m * 10**k >= 1})
    return next((s * ticks for s in steps if s * ticks >= value), int(value) + 1)


def _label_width(words: str, size: int) -> int:
    """About how wide ``words`` are drawn at ``size`` px: CJK characters are square, Latin
    ones a little over half as wide."""
    return int(sum(size if ord(c) > 0x2E80 else size * 0.6 for c in words)) + 1


def _source_label(row: FunnelRow, locale: str) -> str:
    return row.source if row.source is not None else _L(locale, "unknown_source")


# -- charts --------------------------------------------------------------------------


def funnel_chart(rows: Sequence[FunnelRow], locale: str) -> Chart:
    """Per channel, one bar per funnel stage, as long as its count (shared scale)."""
    width, right, bar, gap, block_gap = 640, 70, 13, 3, 16
    # room for the longest channel name ("unknown channel" included), right-aligned
    left = max(96, 16 + max((_label_width(_source_label(r, locale), 13) for r in rows), default=0))
    block = len(FUNNEL_STAGES) * (bar + gap) + block_gap
    height = max(40, 10 + len(rows) * block)
    top = max((r.acquired for r in rows), default=1) or 1
    scale = (width - left - right) / top
    shapes: list[Rect | Label | Line] = []
    y = 8.0
    for r in rows:
        source = _source_label(r, locale)
        shapes.append(Label(left - 10, y + 2 * (bar + gap) + 2, source, anchor="end", cls="cat", size=13))
        for stage in FUNNEL_STAGES:
            n = r.stage(stage)
            w = max(1.0, n * scale) if n else 0.0
            title = f"{source} · {_L(locale, stage)}: {n}"
            shapes.append(Rect(left, y, w, bar, _FUNNEL_COLORS[stage], title, rx=2))
            shown = f"{n}" if stage == "acquired" else f"{n} · {_pct(n, r.acquired)}"
            shapes.append(Label(left + w + 6, y + bar - 2.5, shown, size=11, cls="val"))
            y += bar + gap
        y += block_gap
    shapes.append(Line(left, 4, left, height - 4, "axis"))
    return Chart(width, height, _L(locale, "funnel_title"), tuple(shapes))


def composition_chart(rows: Sequence[CompositionRow], target: Mapping[str, float], locale: str) -> Chart:
    """100 % stacked bars: the target mix first, then each group."""
    width, left, right, bar, gap = 640, 150, 16, 26, 14
    lines: list[tuple[str, dict[str, float], str]] = [
        (_L(locale, "target"), dict(target), ""),
        *((r.name, {b: r.share(b) for b in ROLE_BUCKETS}, f"n = {r.total}") for r in rows),
    ]
    height = 14 + len(lines) * (bar + gap) + 18
    span = width - left - right
    shapes: list[Rect | Label | Line] = []
    bottom = 10.0 + len(lines) * (bar + gap)
    # gridlines first, so that the bars and their percentages are drawn over them
    for tick in (0, 25, 50, 75, 100):
        x = left + span * tick / 100
        shapes.append(Line(x, 6, x, bottom - gap + 4, "grid"))
        shapes.append(Label(x, bottom + 8, f"{tick}%", anchor="middle", size=10, cls="tick"))
    y = 10.0
    for label, shares, sub in lines:
        shapes.append(Label(left - 10, y + bar / 2, label, anchor="end", cls="cat", size=13))
        shapes.append(Label(left - 10, y + bar / 2 + 13, sub, anchor="end", cls="sub", size=10))
        x = float(left)
        for b in ROLE_BUCKETS:
            w = span * shares.get(b, 0.0) / 100.0
            if w <= 0:
                continue
            title = f"{label} · {_L(locale, b)}: {shares.get(b, 0.0):.1f}%"
            shapes.append(Rect(x, y, w, bar, _BUCKET_COLORS[b], title))
            if w >= 30:
                fg = "#1b1b1b" if b in ("ordinary", "kols") else "#ffffff"
                shapes.append(
                    Label(
                        x + w / 2,
                        y + bar / 2 + 4,
                        f"{shares.get(b, 0.0):.0f}%",
                        anchor="middle",
                        size=11,
                        fill=fg,
                    )
                )
            x += w
        y += bar + gap
    return Chart(width, height, _L(locale, "composition_title"), tuple(shapes))


def columns_chart(periods: Sequence[PeriodRow], actions: Sequence[str], label: str) -> Chart:
    """Grouped columns: per week, one column per action, with a y axis."""
    width, left, right, top, bottom = 640, 40, 10, 14, 30
    height = 260
    plot_h = height - top - bottom
    peak = max((p.counts.get(a, 0) for p in periods for a in actions), default=0)
    ymax = _nice_max(peak)
    slot = (width - left - right) / max(1, len(periods))
    col = min(18.0, (slot - 10) / max(1, len(actions)))
    shapes: list[Rect | Label | Line] = []
    for i in range(5):
        v = ymax * i / 4
        y = top + plot_h - plot_h * v / ymax
        shapes.append(Line(left, y, width - right, y, "grid"))
        shapes.append(Label(left - 6, y + 4, f"{v:.0f}", anchor="end", size=10, cls="tick"))
    for i, p in enumerate(periods):
        x0 = left + i * slot + (slot - col * len(actions)) / 2
        for j, a in enumerate(actions):
            n = p.counts.get(a, 0)
            h = plot_h * n / ymax
            x = x0 + j * col
            y = top + plot_h - h
            fill = _ACTION_COLORS.get(a, _PALETTE[j % len(_PALETTE)])
            shapes.append(Rect(x, y, col - 2, h, fill, f"{p.label} · {a}: {n}"))
            if n:
                shapes.append(Label(x + (col - 2) / 2, y - 3, n, anchor="middle", size=9, cls="val"))
        shapes.append(
            Label(left + i * slot + slot / 2, height - bottom + 16, p.label, anchor="middle", size=11)
        )
    shapes.append(Line(left, top + plot_h, width - right, top + plot_h, "axis"))
    return Chart(width, height, label, tuple(shapes))


def referrals_chart(tree: ReferralTree, locale: str) -> Chart:
    """Per generation, the observed size beside the plan's m·2^g (shared scale)."""
    width, left, right, bar, gap, block_gap = 640, 96, 70, 13, 3, 16
    rows = tree.generations
    block = 2 * (bar + gap) + block_gap
    height = max(40, 10 + len(rows) * block)
    top = max((max(g.size, g.planned) for g in rows), default=1) or 1
    scale = (width - left - right) / top
    shapes: list[Rect | Label | Line] = []
    y = 6.0
    for g in rows:
        shapes.append(
            Label(left - 8, y + bar + 2, f"{_L(locale, 'generation')} {g.generation}", anchor="end", size=13)
        )
        for key, value in (("observed", g.size), ("plan", g.planned)):
            w = max(1.0, value * scale) if value else 0.0
            shapes.append(Rect(left, y, w, bar, _REFERRAL_COLORS[key], f"{_L(locale, key)}: {value}"))
            shapes.append(Label(left + w + 4, y + bar - 2, value, cls="val", size=11))
            y += bar + gap
        y += block_gap
    return Chart(width, height, _L(locale, "referrals_title"), tuple(shapes))


def health_chart(rows: Sequence[GroupHealth], locale: str) -> Chart:
    """One bar per group: its health score (0-100) coloured by state, with a mark at the
    previous window's score."""
    width, left, right, top, bar = 640, 160, 50, 10, 18
    height = top + len(rows) * (bar + 10) + 24
    plot_w = width - left - right
    shapes: list[Rect | Label | Line] = []
    for v in (0, 25, 50, 75, 100):
        x = left + plot_w * v / 100
        shapes.append(Line(x, top, x, height - 22, "grid"))
        shapes.append(Label(x, height - 8, v, anchor="middle", size=10, cls="tick"))
    for i, h in enumerate(rows):
        y = top + i * (bar + 10)
        w = plot_w * h.score / 100
        state = _L(locale, f"state_{h.state}")
        shapes.append(Label(left - 8, y + bar - 4, h.name, anchor="end", size=12))
        title = f"{h.name} · {state}: {h.score} ({h.trend:+d})"
        shapes.append(Rect(left, y, w, bar, _STATE_COLORS[h.state], title))
        before = left + plot_w * max(0, min(100, h.score - h.trend)) / 100
        shapes.append(Line(before, y - 2, before, y + bar + 2, "axis"))
        shapes.append(Label(left + w + 4, y + bar - 4, f"{h.score} ({h.trend:+d})", size=10, cls="val"))
    return Chart(width, height, _L(locale, "health_title"), tuple(shapes))


def funnel_svg(rows: Sequence[FunnelRow], locale: str) -> str:
    """:func:`funnel_chart` drawn as SVG."""
    return _draw(funnel_chart(rows, locale))


def composition_svg(rows: Sequence[CompositionRow], target: Mapping[str, float], locale: str) -> str:
    """:func:`composition_chart` drawn as SVG."""
    return _draw(composition_chart(rows, target, locale))


def columns_svg(periods: Sequence[PeriodRow], actions: Sequence[str], label: str) -> str:
    """:func:`columns_chart` drawn as SVG."""
    return _draw(columns_chart(periods, actions, label))


def referrals_svg(tree: ReferralTree, locale: str) -> str:
    """:func:`referrals_chart` drawn as SVG."""
    return _draw(referrals_chart(tree, locale))


def health_svg(rows: Sequence[GroupHealth], locale: str) -> str:
    """:func:`health_chart` drawn as SVG."""
    return _draw(health_chart(rows, locale))


# -- the page ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    headers: Sequence[str]
    rows: Sequence[Sequence[object]]
    numeric_from: int = 1


@dataclass(frozen=True)
class _Panel:
    title: str
    note: str
    legend: Sequence[tuple[str, str]]
    chart: Markup | None
    table: _Table
    empty: str = ""


def _funnel_panel(data: ReportData, locale: str) -> _Panel:
    rows: list[list[object]] = [
        [
            _source_label(r, locale),
            r.acquired,
            *(f"{r.stage(s)} ({_pct(r.stage(s), r.acquired)})" for s in FUNNEL_STAGES[1:]),
        ]
        for r in data.funnel
    ]
    acquired = sum(r.acquired for r in data.funnel)
    reached = {s: sum(r.stage(s) for r in data.funnel) for s in FUNNEL_STAGES[1:]}
    rows.append([_L(locale, "total"), acquired, *(f"{n} ({_pct(n, acquired)})" for n in reached.values())])
    return _Panel(
        _L(locale, "funnel_title"),
        _L(locale, "funnel_note"),
        [(_L(locale, s), _FUNNEL_COLORS[s]) for s in FUNNEL_STAGES],
        Markup(funnel_svg(data.funnel, locale)) if data.funnel else None,
        _Table([_L(locale, "source"), *(_L(locale, s) for s in FUNNEL_STAGES)], rows),
        empty=_L(locale, "none"),
    )


def _referrers_panel(data: ReportData, locale: str) -> _Panel | None:
    """Members each referrer brought, activated and converted (a table; nothing when no
    profile names a referrer)."""
    if not data.referrers:
        return None
    stages = FUNNEL_STAGES[1:]
    table = _Table(
        [_L(locale, "referrer"), *(_L(locale, s) for s in FUNNEL_STAGES)],
        [
            [r.key, r.acquired, *(f"{r.stage(s)} ({_pct(r.stage(s), r.acquired)})" for s in stages)]
            for r in data.referrers
        ],
    )
    return _Panel(_L(locale, "referrers_title"), _L(locale, "referrers_note"), [], None, table)


def _composition_panel(data: ReportData, locale: str) -> _Panel:
    target = data.target_mix
    table = _Table(
        [_L(locale, "group"), *(_L(locale, b) for b in ROLE_BUCKETS)],
        [[_L(locale, "target"), *(f"{target.get(b, 0.0):.0f}%" for b in ROLE_BUCKETS)]]
        + [
            [r.name, *(f"{r.counts.get(b, 0)} ({r.share(b):.0f}%)" for b in ROLE_BUCKETS)]
            for r in data.composition
        ],
    )
    return _Panel(
        _L(locale, "composition_title"),
        _L(locale, "composition_note"),
        [(_L(locale, b), _BUCKET_COLORS[b]) for b in ROLE_BUCKETS],
        Markup(composition_svg(data.composition, data.target_mix, locale)),
        table,
    )


def _health_panel(rows: Sequence[GroupHealth], locale: str) -> _Panel | None:
    if not rows:
        return None
    table = _Table(
        [_L(locale, k) for k in ("group", "state", "speakers", "score", "trend")],
        [
            [h.name, _L(locale, f"state_{h.state}"), f"{h.speakers}/{h.members}", h.score, f"{h.trend:+d}"]
            for h in rows
        ],
        numeric_from=2,
    )
    legend = [(_L(locale, f"state_{s}"), c) for s, c in _STATE_COLORS.items()]
    chart = Markup(health_svg(rows, locale))
    return _Panel(_L(locale, "health_title"), _L(locale, "health_note"), legend, chart, table)


def _period_panel(data: ReportData, locale: str, key: str, actions: Sequence[str]) -> _Panel:
    table = _Table(
        [_L(locale, "week"), *(_action_label(locale, a) for a in actions)],
        [[p.start.strftime("%Y-%m-%d"), *(p.counts.get(a, 0) for a in actions)] for p in data.periods]
        + [[_L(locale, "total"), *(sum(p.counts.get(a, 0) for p in data.periods) for a in actions)]],
    )
    title = _L(locale, f"{key}_title")
    return _Panel(
        title,
        _L(locale, f"{key}_note"),
        [
            (_action_label(locale, a), _ACTION_COLORS.get(a, _PALETTE[i % len(_PALETTE)]))
            for i, a in enumerate(actions)
        ],
        Markup(columns_svg(data.periods, actions, title)),
        table,
    )


def _referrals_panel(tree: ReferralTree | None, locale: str) -> _Panel | None:
    """The referral section, only when members referred anyone."""
    if tree is None or not tree.generations:
        return None
    values = tree.model_dump(include={"seeds", "depth", "planned", "members", "planned_members"})
    table = _Table(
        [_L(locale, k) for k in ("generation", "observed", "referrers", "conversion", "plan")],
        [[g.generation, g.size, g.referrers, _pct(g.referrers, g.size), g.planned] for g in tree.generations],
    )
    return _Panel(
        _L(locale, "referrals_title"),
        _L(locale, "referrals_note", **values),
        [(_L(locale, k), c) for k, c in _REFERRAL_COLORS.items()],
        Markup(referrals_svg(tree, locale)),
        table,
    )


def _shown(actions: Iterable[str], data: ReportData) -> tuple[str, ...]:
    """Of ``actions``, those the book's kinds declare (all of them when the report was
    collected without kinds)."""
    return tuple(a for a in actions if not data.actions or a in data.actions)


def render_html(data: ReportData, *, locale: str = "en") -> str:
    """The report as one HTML document: inline CSS and SVG, no scripts, no links out."""
    tiles = [
        (data.members, _L(locale, "members")),
        (data.events, _L(locale, "events")),
        (data.decisions, _L(locale, "decisions")),
        *(
            (data.totals.get(a, 0), _action_label(locale, a))
            for a in _shown(("invite", "evict", "revive"), data)
        ),
    ]
    panels = [
        _funnel_panel(data, locale),
        _referrers_panel(data, locale),
        _composition_panel(data, locale),
        _health_panel(data.health, locale),
        _period_panel(data, locale, "lifecycle", _shown(LIFECYCLE_ACTIONS, data)),
        _period_panel(data, locale, "growth", _shown(GROWTH_ACTIONS, data)),
        _referrals_panel(data.referrals, locale),
    ]
    subtitle = _L(
        locale,
        "as_of",
        at=data.at.strftime("%Y-%m-%d %H:%M"),
        tz=data.timezone,
        since=data.since.strftime("%Y-%m-%d"),
        revision=data.revision,
    )
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            lang=_L(locale, "html_lang"),
            title=data.title or _L(locale, "title"),
            subtitle=subtitle,
            css=Markup(_css()),
            tiles=tiles,
            panels=[p for p in panels if p is not None],
            footer=_L(locale, "footer"),
        )
    )
