"""A member's history answers every question as a naive loop over their events does,
whatever order the events arrive in and however a kind is spread over groups and the
member-wide place (a kind's series of every place is shared with its one place until a
second place appears)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

import groupops as go

TZ = ZoneInfo("Europe/Berlin")
BASE = datetime(2026, 3, 20, tzinfo=UTC)  # the spring-forward day falls inside
KINDS = ("checkin", "purchase")
PLACES = (None, "camp", "vip")

_events = st.lists(
    st.builds(
        lambda kind, group, hours, value, amount: (kind, group, BASE + timedelta(hours=hours), value, amount),
        st.sampled_from(KINDS),
        st.sampled_from(PLACES),
        st.integers(0, 24 * 20),
        st.integers(0, 8).map(float),
        st.integers(0, 8),
    ),
    max_size=25,
)
_bound = st.integers(-24, 24 * 21).map(lambda h: BASE + timedelta(hours=h))


@given(_events, _bound, _bound, st.booleans())
def test_a_history_answers_as_a_loop_over_its_events(
    rows: list[tuple[str, str | None, datetime, float, int]], start: datetime, end: datetime, between: bool
) -> None:
    history = go.rules.History(TZ)
    for i, (kind, group, at, value, amount) in enumerate(rows):  # in the order drawn: often not by time
        history.add(
            go.Event(
                id=f"e{i}", member="m", group=group, kind=kind, at=at, value=value, data={"amount": amount}
            )
        )
        if between:  # asked between events too (sums kept as events come), or only at the end
            _sums_agree(history, rows[: i + 1])
    assert history.kinds() == {kind for kind, *_ in rows}
    for kind in KINDS:
        for asked in (*PLACES, "other"):
            # a group's events and the member-wide ones; None: every event of the kind
            seen = [
                r
                for r in rows
                if r[0] == kind and (asked is None or r[1] in (asked, None)) and start <= r[2] <= end
            ]
            where = f"{kind} in {asked} over [{start}, {end}]"
            assert history.count(kind, asked, start, end) == len(seen), where
            assert history.total(kind, "value", asked, start, end) == sum(r[3] for r in seen), where
            assert history.total(kind, "amount", asked, start, end) == sum(r[4] for r in seen), where
            days = {r[2].astimezone(TZ).date() for r in seen}
            assert history.distinct_days(kind, asked, start, end) == len(days), where
            before = [
                r[2]
                for r in rows
                if r[0] == kind and (asked is None or r[1] in (asked, None)) and r[2] <= end
            ]
            assert history.last_at(kind, asked, end) == (max(before) if before else None), where
            got = sorted((at, value) for at, value, _ in history.events(kind, asked, start, end))
            assert got == sorted((r[2], r[3]) for r in seen), where
        for place in PLACES:  # exactly one place: its own events, by time (ties: as they came)
            own = sorted(
                (
                    (i, r)
                    for i, r in enumerate(rows)
                    if r[0] == kind and r[1] == place and start <= r[2] <= end
                ),
                key=lambda ir: ir[1][2],
            )
            got_in = [(at, value) for at, value, _ in history.events_in(kind, place, start, end)]
            assert got_in == [(r[2], r[3]) for _, r in own]
            if place is not None:
                assert [i for i, *_ in history.in_group(kind, place, start, end)] == [f"e{i}" for i, _ in own]


def test_a_kind_seen_in_a_second_place_keeps_the_first_places_answers() -> None:
    history = go.rules.History(TZ)
    day = timedelta(days=1)
    at = BASE + 5 * day

    def checkin(id: str, group: str, when: datetime, value: float) -> None:
        history.add(go.Event(id=id, member="m", group=group, kind="checkin", at=when, value=value))

    checkin("a", "camp", at, 2.0)
    assert history.distinct_days("checkin", None, None, at) == 1  # sums kept from here on
    checkin("b", "camp", at - 2 * day, 4.0)  # before the last one: sums are rebuilt when asked
    checkin("c", "vip", at + day, 3.0)  # a second place: "every place" gets its own series
    checkin("d", "camp", at + 2 * day, 5.0)
    checkin("e", "vip", at + 3 * day, 1.0)
    end = at + 3 * day
    assert [history.total("checkin", "value", g, None, end) for g in ("camp", "vip", None)] == [
        11.0,
        4.0,
        15.0,
    ]
    assert [history.count("checkin", g, None, end) for g in ("camp", "vip", None)] == [3, 2, 5]
    assert [history.distinct_days("checkin", g, None, end) for g in ("camp", "vip", None)] == [3, 2, 5]
    checkin("f", "camp", at + 4 * day, 6.0)  # after everything was asked once
    end += day
    assert [history.total("checkin", "value", g, None, end) for g in ("camp", "vip", None)] == [
        17.0,
        4.0,
        21.0,
    ]
    assert [history.distinct_days("checkin", g, None, end) for g in ("camp", "vip", None)] == [4, 2, 6]
    # kept sums at the split: a vip check-in the same day as the first camp one, a camp one
    # the next day
    history = go.rules.History(TZ)
    checkin("g", "camp", at, 1.0)
    checkin("h", "vip", at + timedelta(hours=1), 1.0)
    checkin("i", "camp", at + day, 1.0)
    assert [history.distinct_days("checkin", g, None, at + day) for g in ("camp", "vip", None)] == [2, 1, 2]
    assert [history.total("checkin", "value", g, None, at + day) for g in ("camp", "vip", None)] == [
        2.0,
        1.0,
        3.0,
    ]


def _sums_agree(history: go.rules.History, rows: list[tuple[str, str | None, datetime, float, int]]) -> None:
    end = BASE + timedelta(days=30)
    for kind in KINDS:
        for asked in PLACES:
            seen = [r for r in rows if r[0] == kind and (asked is None or r[1] in (asked, None))]
            assert history.total(kind, "value", asked, None, end) == sum(r[3] for r in seen)
            assert history.total(kind, "amount", asked, None, end) == sum(r[4] for r in seen)
            days = {r[2].astimezone(TZ).date() for r in seen}
            assert history.distinct_days(kind, asked, None, end) == len(days)
