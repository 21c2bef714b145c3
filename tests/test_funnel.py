"""The funnel as a library function, on a real SQLite file: per source channel, per group
and per referrer, over any period, with the retention window and what counts as activity
configurable and an unknown row; the HTML report draws the same rows."""

from datetime import UTC, datetime, timedelta

import pytest

import groupops as go
from groupops._report import collect, report_json
from groupops._report_html import render_html

AT = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
BOOK = go.RuleBook.load(
    {"timezone": "UTC", "groups": [{"id": "welfare"}, {"id": "camp"}, {"id": "vip", "kind": "paid"}]}
)


def _store(tmp_path):
    store = go.SQLiteStore(tmp_path / "g.db")
    with go.Engine(BOOK, store=store, entry_points=False) as engine:
        engine.ingest(
            [
                go.Member(id="ann", source="sdr", referrer="zhang"),
                go.Member(id="bob", source="sdr", referrer="zhang"),
                go.Member(id="cat", source="content"),
                go.Member(id="dan"),  # no channel, nobody brought him
                # ann: joined, active lately, in vip: converted
                go.Event(id="a1", member="ann", group="welfare", kind="joined", at=AT - 40 * DAY),
                go.Event(id="a2", member="ann", group="welfare", kind="message", at=AT - 2 * DAY),
                go.Event(id="a3", member="ann", group="vip", kind="joined", at=AT - 10 * DAY),
                # bob: joined two groups, active long ago only
                go.Event(id="b1", member="bob", group="welfare", kind="joined", at=AT - 40 * DAY),
                go.Event(id="b2", member="bob", group="camp", kind="joined", at=AT - 39 * DAY),
                go.Event(id="b3", member="bob", group="camp", kind="checkin", at=AT - 35 * DAY),
                # cat: in no group, a purchase in the shop
                go.Event(id="c1", member="cat", kind="purchase", at=AT - 5 * DAY),
                # dan: joined this week, nothing else
                go.Event(id="d1", member="dan", group="welfare", kind="joined", at=AT - 3 * DAY),
            ]
        )
    return go.SQLiteStore(tmp_path / "g.db")


def _rows(rows):
    return [(r.key, r.acquired, r.activated, r.retained, r.converted) for r in rows]


def test_per_source_channel_with_the_unknown_channel_last(tmp_path):
    rows = go.funnel(_store(tmp_path), BOOK, until=AT)
    assert _rows(rows) == [("sdr", 2, 2, 1, 1), ("content", 1, 1, 0, 0), (None, 1, 0, 0, 0)]
    assert rows[0].rate("converted") == 0.5 and rows[0].by == "source"


def test_per_group_a_member_counts_in_each_group_and_those_in_none_are_the_unknown_row(tmp_path):
    rows = go.funnel(_store(tmp_path), BOOK, until=AT, by="group")
    assert _rows(rows) == [
        ("welfare", 3, 2, 1, 1),
        ("camp", 1, 1, 0, 0),
        ("vip", 1, 1, 1, 1),
        (None, 1, 1, 0, 0),
    ]


def test_per_referrer_salespeople_get_their_rows(tmp_path):
    rows = go.funnel(_store(tmp_path), BOOK, until=AT, by="referrer")
    assert _rows(rows) == [("zhang", 2, 2, 1, 1), (None, 2, 1, 0, 0)]


def test_over_a_period_only_members_first_seen_in_it_are_acquired(tmp_path):
    rows = go.funnel(_store(tmp_path), BOOK, since=AT - 7 * DAY, until=AT)
    assert _rows(rows) == [("content", 1, 1, 0, 0), (None, 1, 0, 0, 0)]
    early = go.funnel(_store(tmp_path), BOOK, until=AT - 30 * DAY)  # events after until left out
    assert _rows(early) == [("sdr", 2, 1, 1, 0)]


def test_the_retention_window_and_what_counts_as_activity_are_configurable(tmp_path):
    store = _store(tmp_path)
    wide = go.funnel(store, BOOK, until=AT, retention=go.parse_duration("6w"))
    assert _rows(wide)[0] == ("sdr", 2, 2, 2, 1)
    joined_counts = go.funnel(store, BOOK, until=AT, activity=["joined", "message"])
    assert _rows(joined_counts) == [("sdr", 2, 2, 1, 1), ("content", 1, 0, 0, 0), (None, 1, 1, 1, 0)]


def test_bad_arguments_name_the_field(tmp_path):
    store = _store(tmp_path)
    with pytest.raises(go.InputError, match=r"since: .* is not before until"):
        go.funnel(store, BOOK, since=AT, until=AT)
    with pytest.raises(go.InputError, match="by: 'channel' is not one of source, group, referrer"):
        go.funnel(store, BOOK, until=AT, by="channel")


def test_the_report_draws_the_librarys_rows_and_a_referrers_table(tmp_path):
    store = _store(tmp_path)
    data = collect(store, BOOK, at=AT)
    assert data.funnel == go.funnel(store, BOOK, until=AT)
    assert _rows(data.referrers) == [("zhang", 2, 2, 1, 1)]
    assert report_json(data)["referrers"] == [
        {"referrer": "zhang", "acquired": 2, "activated": 2, "retained": 1, "converted": 1}
    ]
    page = render_html(data, locale="zh")
    assert "推荐人：带来、激活、转化的成员" in page and "<td>zhang</td>" in page
