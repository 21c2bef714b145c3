"""The HTML report's numbers and drawing: the target mix sums to 100 %, the funnel's rows
add up to every member, a report dated before the data shows nobody, and gridlines are
drawn under the bars."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import groupops as go
from groupops._report import (
    DEFAULT_TARGET_MIX,
    CompositionRow,
    PeriodRow,
    check_target_mix,
    collect,
)
from groupops._report_html import columns_svg, composition_svg, render_html
from groupops.rules._book import installed_kinds

TZ = ZoneInfo("Asia/Shanghai")
BOOK = go.RuleBook.load(
    {"timezone": "Asia/Shanghai", "groups": [{"id": "club"}, {"id": "vip", "kind": "paid"}]}
)
RECORDS = [
    {"id": "m1", "name": "Wang", "source": "sales"},
    {"id": "m2", "name": "Li", "source": "sales"},
    {"id": "m3", "name": "Zhang"},  # no channel
    {"id": "m4", "name": "Chen", "source": "content"},
    {"id": "j1", "kind": "joined", "member": "m1", "group": "club", "at": "2026-11-02T09:00:00+08:00"},
    {"id": "j2", "kind": "joined", "member": "m2", "group": "club", "at": "2026-11-03T09:00:00+08:00"},
    {"id": "j3", "kind": "joined", "member": "m3", "group": "club", "at": "2026-11-04T09:00:00+08:00"},
    {"id": "c3", "kind": "checkin", "member": "m3", "group": "club", "at": "2026-11-05T09:00:00+08:00"},
    {"id": "j4", "kind": "joined", "member": "m4", "group": "vip", "at": "2026-11-06T09:00:00+08:00"},
]


@pytest.fixture
def store(tmp_path):
    with go.Engine(BOOK, store=str(tmp_path / "r.db"), entry_points=False) as engine:
        assert engine.ingest(RECORDS).ok
    opened = go.Engine(BOOK, store=str(tmp_path / "r.db"), entry_points=False)
    yield opened.store
    opened.close()


def test_the_default_target_mix_sums_to_100_with_the_methods_shares():
    assert sum(DEFAULT_TARGET_MIX.values()) == 100  # before: 4 + 6 + 8 + 10 + 70 = 98
    assert DEFAULT_TARGET_MIX == {"guests": 4, "lecturers": 6, "kols": 8, "active": 10, "ordinary": 72}


def test_a_target_mix_that_does_not_sum_to_100_is_refused_naming_it(store):
    mix = {"guests": 50, "lecturers": 50, "kols": 50, "active": 50, "ordinary": 50}
    with pytest.raises(go.InputError, match=r"target_mix: .*'guests': 50.* sums to 250 %, not 100 %"):
        collect(store, BOOK, target_mix=mix)
    with pytest.raises(go.InputError, match=r"target_mix.kols: -5 is not a percentage"):
        check_target_mix({"guests": 5, "kols": -5, "ordinary": 100})
    with pytest.raises(go.InputError, match=r"'vips' is not a role bucket"):
        check_target_mix({"vips": 100})
    assert check_target_mix({"ordinary": 100})["guests"] == 0.0


def test_a_target_mix_takes_empty_and_fractional_shares_within_a_hundredth_of_100():
    assert check_target_mix({"guests": 0, "lecturers": 0.5, "ordinary": 99.5})["lecturers"] == 0.5
    assert check_target_mix({"ordinary": 100.005})["ordinary"] == 100.005
    with pytest.raises(go.InputError, match=r"sums to 100\.02 %"):
        check_target_mix({"ordinary": 100.02})
    with pytest.raises(go.InputError) as err:
        check_target_mix({"vips": 100})
    [problem] = err.value.problems
    assert (problem.path, problem.message) == (
        "target_mix",
        "'vips' is not a role bucket (buckets: guests, lecturers, kols, active, ordinary)",
    )


@pytest.mark.parametrize("share", [True, float("nan"), float("inf"), "100", None])
def test_a_target_share_that_is_not_a_finite_number_is_refused_naming_its_bucket(share):
    # one check serves the report and the composition kind: both refuse it, naming it
    with pytest.raises(
        go.InputError, match=rf"target_mix.ordinary: {re.escape(repr(share))} is not a percentage"
    ):
        check_target_mix({"ordinary": share})
    if isinstance(share, float):
        book = {
            "groups": [{"id": "g"}],
            "policies": [
                {
                    "id": "mix",
                    "type": "composition",
                    "groups": ["g"],
                    "schedule": "FREQ=WEEKLY",
                    "target": {"ordinary": share},
                }
            ],
        }
        with pytest.raises(go.RuleError, match=r"policies\[0\]\.target\.ordinary: "):
            go.RuleBook.load(book)


def test_the_funnel_rows_add_up_to_every_member_with_an_unknown_channel_row(store):
    data = collect(store, BOOK)
    assert [r.source for r in data.funnel] == ["sales", "content", None]  # the unknown channel last
    assert sum(r.acquired for r in data.funnel) == data.members == 4
    unknown = data.funnel[-1]
    assert (unknown.acquired, unknown.activated) == (1, 1)  # m3 checked in
    page = render_html(data)
    assert "<td>unknown channel</td><td class=n>1</td>" in page
    assert "<td>total</td><td class=n>4</td>" in page
    assert "未知渠道" in render_html(data, locale="zh")


def test_a_report_dated_before_any_data_shows_nobody(store):
    data = collect(store, BOOK, at=datetime(2026, 10, 1, tzinfo=TZ))
    # before: every member of the store, each "acquired" by their channel
    assert data.members == 0 and data.events == 0
    assert data.funnel == () and data.composition == ()
    midway = collect(store, BOOK, at=datetime(2026, 11, 3, 12, tzinfo=TZ))
    assert midway.members == 2 and sum(r.acquired for r in midway.funnel) == 2


def _grid_before_bars(svg: str) -> bool:
    grid = [m.start() for m in re.finditer(r'class="grid"', svg)]
    bars = [m.start() for m in re.finditer(r"<rect ", svg)]
    return bool(grid) and bool(bars) and max(grid) < min(bars)


def test_gridlines_are_drawn_under_the_bars_and_their_percentages():
    row = CompositionRow(
        group="g", name="G", counts={"guests": 1, "lecturers": 1, "kols": 2, "active": 6, "ordinary": 40}
    )
    svg = composition_svg([row], DEFAULT_TARGET_MIX, "en")
    assert _grid_before_bars(svg)  # before: the 25/50/75 % lines struck through the bars
    assert svg.index('class="grid"') < svg.index("%</text>", svg.index("<rect"))
    periods = [PeriodRow(start=datetime(2026, 11, 2, tzinfo=TZ), counts={"notice": 3, "evict": 1})]
    assert _grid_before_bars(columns_svg(periods, ("notice", "evict", "revive"), "weekly"))


def test_channel_names_fit_left_of_the_funnel(store):
    from groupops._report_html import _label_width, funnel_svg

    for locale, label in (("en", "unknown channel"), ("zh", "未知渠道")):
        svg = funnel_svg(collect(store, BOOK).funnel, locale)
        x = float(re.search(rf'<text x="([\d.]+)"[^>]*text-anchor="end"[^>]*>{label}</text>', svg).group(1))
        assert x - _label_width(label, 13) >= 0, (locale, x)  # before: "unknown channel" was cut off


def test_the_referral_section_shows_each_generation_beside_the_plan_and_only_when_there_are_referrals() -> (
    None
):
    from groupops._report_html import referrals_svg

    with go.Engine(BOOK, entry_points=False) as engine:
        engine.ingest(RECORDS)
        bare = collect(engine.store, BOOK)
        assert bare.referrals is not None and bare.referrals.generations == () and bare.chart_count == 4
        assert "Referral tree" not in render_html(bare)
        engine.ingest(
            [
                {"id": "m2", "name": "Li", "source": "sales", "referrer": "m1"},
                {"id": "m3", "name": "Zhang", "referrer": "m1"},
            ]
        )
        data = collect(engine.store, BOOK)
    tree = data.referrals
    assert tree is not None and data.chart_count == 5
    assert [(g.size, g.planned) for g in tree.generations] == [(1, 1), (2, 2)]
    page = render_html(data, locale="zh")
    assert "裂变树各代人数与计划 S = m·2ⁿ" in page and "m = 1、n = 1 时 S = m·2ⁿ = 2" in page
    svg = referrals_svg(tree, "en")
    assert svg.count("<rect ") == 4 and "<title>plan m·2^g: 2</title>" in svg


def test_names_with_markup_are_shown_not_run(tmp_path):
    evil = '<script>alert("g")</script>'
    book = go.RuleBook.load({"timezone": "Asia/Shanghai", "groups": [{"id": "club", "name": evil}]})
    records = [
        {"id": "m1", "name": "Wang", "source": "<img src=x onerror=alert(1)>"},
        {"id": "j1", "kind": "joined", "member": "m1", "group": "club", "at": "2026-11-02T09:00:00+08:00"},
    ]
    with go.Engine(book, store=str(tmp_path / "r.db"), entry_points=False) as engine:
        assert engine.ingest(records).ok
        data = collect(engine.store, book, title=f"Report {evil}")
    for locale in ("en", "zh"):
        page = render_html(data, locale=locale)
        assert "<script" not in page and "<img" not in page
        shown = "&lt;script&gt;alert(&#34;g&#34;)&lt;/script&gt;"
        assert f"<h1>Report {shown}</h1>" in page
        assert f"<td>{shown}</td>" in page  # the composition table
        assert f'text-anchor="end" font-size="13" class="cat">{shown}</text>' in page  # the chart's label
        assert "<td>&lt;img src=x onerror=alert(1)&gt;</td>" in page  # the funnel's channel


def test_the_report_names_the_actions_its_kinds_declare(store):
    from groupops.rules.kinds import KindRegistry, admission, eviction

    everything = collect(store, BOOK)
    assert everything.actions == tuple(installed_kinds().action_names())
    page = render_html(everything)
    assert all(f"<span>{label}</span>" in page for label in ("invitations", "evictions", "revivals"))

    class NudgeKind(go.Kind):
        name = "nudge"
        actions = (go.ActionSpec("nudge", {"en": "{member.name}, a nudge."}),)

    some = collect(store, BOOK, kinds=KindRegistry([admission.KIND, NudgeKind()]))
    assert some.actions == ("invite", "nudge")
    page = render_html(some)
    # only the tiles and columns of actions the kinds declare
    assert "<span>invitations</span>" in page and "<span>evictions</span>" not in page
    assert "<th class=n>notices</th>" not in page and "<th class=n>promotions</th>" not in page
    assert collect(store, BOOK, kinds=KindRegistry([eviction.KIND])).actions == tuple(
        a.name for a in eviction.KIND.actions
    )
