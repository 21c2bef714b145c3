"""The vote kind: at each period's end one award per winner with its rank and one post
listing them; ballots at the period's end exactly count for it, a microsecond later for
the next; one ballot per member; no vote for oneself; ties by the documented rule."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import groupops as go
from groupops.rules._facts_api import LoggedEvent
from groupops.rules.kinds.vote import tally

TZ = ZoneInfo("Asia/Shanghai")
END = datetime(2026, 11, 30, 20, tzinfo=TZ)  # the last day of November, 20:00
STARS = {
    "id": "stars",
    "type": "vote",
    "groups": ["w1"],
    "schedule": "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=20",
    "start": "2026-11-01T00:00:00+08:00",
    "ballots": "vote",
    "winners": 3,
    "ties": "earliest",
    "one_vote_per_member": True,
}
PEOPLE = "abcdefghij"


def engine(store: go.Store | None = None, **policy: object) -> go.Engine:
    book = go.RuleBook.load(
        {
            "timezone": "Asia/Shanghai",
            "groups": [{"id": "w1", "name": "福利社"}],
            "policies": [{**STARS, **policy}],
        }
    )
    e = go.Engine(book, store=store or go.MemoryStore(), entry_points=False)
    e.ingest([{"id": m, "name": m.upper()} for m in PEOPLE])
    e.ingest(
        [
            {"id": f"j-{m}", "kind": "joined", "member": m, "group": "w1", "at": "2026-10-01T00:00:00+08:00"}
            for m in PEOPLE
        ]
    )
    return e


_n = iter(range(10**9))


def ballot(voter: str, candidate: str, at: datetime) -> dict[str, object]:
    return {
        "id": f"b{next(_n)}",
        "kind": "vote",
        "member": voter,
        "group": "w1",
        "at": at.isoformat(),
        "data": {"for": candidate},
    }


def votes(spec: str, at: datetime) -> list[dict[str, object]]:
    """'ab ac' : a votes for b, a votes for c (each a minute apart from ``at``)."""
    return [ballot(p[0], p[1], at + timedelta(minutes=i)) for i, p in enumerate(spec.split())]


def test_one_award_per_winner_with_its_rank_and_a_post_listing_them(tmp_path: Path) -> None:
    with engine(go.SQLiteStore(tmp_path / "g.db")) as e:
        # a's second ballot (for c) does not count: one ballot per member
        e.ingest(votes("ab cb db eb ac fc gd", END - timedelta(days=3)))
        made = e.run(END + timedelta(hours=1)).decisions
        awards = [(d.member, d.rank) for d in made if d.action == "award"]
        assert awards == [("b", 1), ("c", 2), ("d", 3)]
        (post,) = [d for d in made if d.action == "winners"]
        assert (post.member, post.group) == (None, "w1")
        (msg,) = e.store.messages(decision=post.id)
        assert (
            msg.text
            == "福利社: this period's vote is in. Winners: #1 B (4 votes); #2 C (1 vote); #3 D (1 vote)."
        )
        first = next(d for d in made if d.rank == 1)
        (note,) = e.store.messages(decision=first.id)
        assert note.text == "B, you are #1 in this period's vote in 福利社 (4 votes). Congratulations!"
        assert e.run(END + timedelta(hours=2)).decisions == ()  # decided once


def test_a_ballot_at_the_end_exactly_counts_for_this_period_one_a_microsecond_later_for_the_next() -> None:
    with engine(winners=1) as e:
        e.ingest([ballot("a", "b", END), ballot("c", "d", END + timedelta(microseconds=1))])
        made = e.run(END + timedelta(days=40)).decisions
        awards = [(d.member, d.period) for d in made if d.action == "award"]
        december = datetime(2026, 12, 31, 20, tzinfo=TZ)
        assert awards == [("b", END.isoformat()), ("d", december.isoformat())]


def test_with_one_ballot_per_member_only_the_first_counts_and_no_one_votes_for_themselves() -> None:
    with engine(winners=1) as e:
        e.ingest(votes("ab ac ac aa cc dc", END - timedelta(days=1)))
        (award,) = [d for d in e.run(END).decisions if d.action == "award"]
        # a -> b counts (first), a's later ballots do not; c's vote for c is not a ballot; d -> c
        # so b and c have one vote each: b reached it first
        assert award.member == "b"


def test_without_one_ballot_per_member_every_ballot_counts() -> None:
    with engine(winners=1, one_vote_per_member=False) as e:
        e.ingest(votes("ab ac ac", END - timedelta(days=1)))
        (award,) = [d for d in e.run(END).decisions if d.action == "award"]
        assert award.member == "c"


def test_a_tie_for_third_place_goes_to_who_reached_the_count_first() -> None:
    with engine() as e:
        # b: 3, c: 2, then d and e tie on 1 (e reached 1 first)
        e.ingest(votes("fe ab gb hb ic jc ed", END - timedelta(days=1)))
        awards = [(d.member, d.rank) for d in e.run(END).decisions if d.action == "award"]
        assert awards == [("b", 1), ("c", 2), ("e", 3)]


def test_a_tie_for_third_place_by_member_id_or_shared_by_all() -> None:
    spec = "fe ab gb hb ic jc ed"
    with engine(ties="member") as e:
        e.ingest(votes(spec, END - timedelta(days=1)))
        assert [d.member for d in e.run(END).decisions if d.action == "award"] == ["b", "c", "d"]
    with engine(ties="all") as e:
        e.ingest(votes(spec, END - timedelta(days=1)))
        made = e.run(END).decisions
        assert [(d.member, d.rank) for d in made if d.action == "award"] == [
            ("b", 1),
            ("c", 2),
            ("d", 3),
            ("e", 3),
        ]


def test_votes_for_someone_not_in_the_group_do_not_count_and_a_closed_period_stays_closed() -> None:
    with engine(winners=1) as e:
        assert e.run(END - timedelta(days=1)).decisions == ()  # nothing due yet
        e.ingest(
            [ballot("a", "stranger", END - timedelta(hours=1)), ballot("b", "c", END - timedelta(hours=2))]
        )
        (award,) = [d for d in e.run(END).decisions if d.action == "award"]
        assert award.member == "c"
        # a ballot for November arriving after November's tally is not counted
        e.ingest([ballot("d", "e", END - timedelta(hours=3))])
        assert e.run(END + timedelta(days=31)).decisions == ()


def test_a_vote_policy_is_validated() -> None:
    with pytest.raises(go.RuleError, match="winners"):
        engine(winners=0)
    with pytest.raises(go.RuleError, match="ties"):
        engine(ties="random")


# -- the winners are exactly the top N by the documented order -----------------------------------

T = datetime(2026, 11, 1, tzinfo=TZ)
ballots_st = st.lists(
    st.tuples(st.sampled_from(PEOPLE), st.sampled_from(PEOPLE), st.integers(0, 50)), max_size=40
)


@given(raw=ballots_st, winners=st.integers(1, 4), once=st.booleans())
@settings(deadline=None)
def test_the_winners_are_exactly_the_top_n_by_votes_then_who_reached_the_count_first(
    raw, winners, once
) -> None:
    logged = sorted(
        (LoggedEvent(member=v, at=T + timedelta(minutes=t), value=1.0, data={"for": c}) for v, c, t in raw),
        key=lambda b: (b.at, b.member),
    )
    won = tally(logged, eligible=None, winners=winners, one_vote_per_member=once)
    # the reference: count by hand, then sort by the documented order
    counted: list[LoggedEvent] = []
    for b in logged:
        if b.data["for"] != b.member and not (once and any(x.member == b.member for x in counted)):
            counted.append(b)
    per = {c: sum(1 for b in counted if b.data["for"] == c) for c in {b.data["for"] for b in counted}}
    reached = {c: [b.at for b in counted if b.data["for"] == c][-1] for c in per}
    expected = sorted(per, key=lambda c: (-per[c], reached[c], c))[:winners]
    assert [t.member for t in won] == expected
    assert [t.rank for t in won] == list(range(1, len(expected) + 1))
    assert all(t.votes == per[t.member] for t in won)
