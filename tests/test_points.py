"""The points kind: earnings and redemptions as entries of the store's ledger, each with
its cause; a redemption above the balance is refused with the reason; reruns and
re-ingests never count an entry twice; the balance is the sum of the ledger and never
negative."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import groupops as go
from groupops.rules.kinds.points import available_points

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, tzinfo=TZ)
BOOK = {
    "timezone": "Asia/Shanghai",
    "groups": [{"id": "w1", "name": "福利社"}],
    "policies": [
        {"id": "points", "type": "points", "earn": {"checkin": 1, "share": 5}, "redeem": "redemption"}
    ],
}


def engine(store: go.Store | None = None, **book: object) -> go.Engine:
    data = {**BOOK, **book}
    return go.Engine(go.RuleBook.load(data), store=store or go.MemoryStore(), entry_points=False)


def ev(id: str, kind: str, minutes: float, value: float = 1.0, member: str = "m1") -> dict[str, object]:
    at = T0 + timedelta(minutes=minutes)
    return {"id": id, "kind": kind, "member": member, "group": "w1", "at": at.isoformat(), "value": value}


def test_earnings_and_redemptions_are_entries_with_their_cause_and_the_balance_is_their_sum(
    tmp_path: Path,
) -> None:
    with engine(go.SQLiteStore(tmp_path / "g.db")) as e:
        e.ingest([{"id": "m1", "name": "Lin"}])
        e.ingest(
            [ev(f"c{i}", "checkin", i) for i in range(5)] + [ev("s1", "share", 10), ev("s2", "share", 11)]
        )
        e.ingest([ev("r1", "redemption", 20, value=12)])
        report = e.run(T0 + timedelta(hours=1))
        ledger = e.ledger("m1")
        assert [(x.cause, x.points, x.kind) for x in ledger] == [
            *((f"c{i}", 1.0, "earn") for i in range(5)),
            ("s1", 5.0, "earn"),
            ("s2", 5.0, "earn"),
            ("r1", -12.0, "redeem"),
        ]
        assert e.balance("m1") == sum(x.points for x in ledger) == 3
        assert e.balance("m1", T0 + timedelta(minutes=19)) == 15
        (redeemed,) = report.decisions
        assert (redeemed.action, redeemed.member, redeemed.group) == ("redeem", "m1", None)
        (msg,) = e.store.messages(decision=redeemed.id)
        assert (
            msg.text == "Lin，您已兑换 12 积分，当前余额 3。"
            or msg.text == "Lin, you redeemed 12 points; your balance is 3."
        )


def test_a_redemption_above_the_balance_is_refused_with_the_reason_and_the_balance_unchanged() -> None:
    with engine() as e:
        e.ingest([ev(f"c{i}", "share", i) for i in range(9)] + [ev("r1", "redemption", 30, value=50)])
        report = e.run(T0 + timedelta(hours=1))
        (refused,) = report.decisions
        assert (refused.action, refused.reason, refused.reasons()) == ("refuse", "45 < 50", "45 < 50")
        assert e.balance("m1") == 45
        (msg,) = e.store.messages(decision=refused.id)
        assert msg.text == "m1, your redemption of 50 points was refused: your balance is too low (45 < 50)."
        (note,) = e.explain("m1", "w1", "points", T0 + timedelta(hours=1)).notes
        assert (note.text(), note.text("zh")) == ("points balance: 45", "积分余额：45")


def test_a_redemption_equal_to_the_balance_is_granted_and_leaves_zero() -> None:
    with engine(locale="zh") as e:
        e.ingest([ev(f"c{i}", "share", i) for i in range(10)] + [ev("r1", "redemption", 30, value=50)])
        (redeemed,) = e.run(T0 + timedelta(hours=1)).decisions
        assert redeemed.action == "redeem" and e.balance("m1") == 0
        (msg,) = e.store.messages(decision=redeemed.id)
        assert msg.text == "m1，您已兑换 50 积分，当前余额 0。"


def test_rerunning_and_reingesting_never_count_an_entry_twice(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    events = [ev("c1", "checkin", 0), ev("r1", "redemption", 5, value=1)]
    with engine(go.SQLiteStore(path)) as e:
        e.ingest(events)
        assert [d.action for d in e.run(T0 + timedelta(hours=1)).decisions] == ["redeem"]
        e.ingest(events)
        assert e.run(T0 + timedelta(hours=1)).decisions == ()
        assert e.run(T0 + timedelta(hours=2)).decisions == ()
    with engine(go.SQLiteStore(path)) as again:  # another process, the same file
        assert again.run(T0 + timedelta(hours=3)).decisions == ()
        assert [x.cause for x in again.ledger()] == ["c1", "r1"] and again.balance("m1") == 0


def test_a_dry_run_records_no_entry() -> None:
    with engine() as e:
        e.ingest([ev("c1", "checkin", 0)])
        e.run(T0 + timedelta(hours=1), dry_run=True)
        assert e.ledger() == []


def test_a_late_redemption_cannot_overdraw_what_was_spent_after_it() -> None:
    with engine() as e:
        e.ingest([ev(f"s{i}", "share", i) for i in range(2)] + [ev("r2", "redemption", 30, value=10)])
        e.run(T0 + timedelta(hours=1))
        assert e.balance("m1") == 0
        e.ingest([ev("r1", "redemption", 20, value=10)])  # arrives late: at 20 min the balance was 10
        (refused,) = e.run(T0 + timedelta(hours=2)).decisions
        assert (refused.action, refused.reason) == ("refuse", "0 < 10")
        assert e.balance("m1") == 0


def test_the_points_condition_reads_the_ledger_in_other_policies() -> None:
    rich = {
        "id": "vip",
        "type": "admission",
        "from": ["w1"],
        "to": "vip",
        "when": {"points": "balance", "at_least": 10},
    }
    book = {"groups": [{"id": "w1"}, {"id": "vip"}], "policies": [*BOOK["policies"], rich]}  # type: ignore[list-item]
    with engine(**book) as e:
        e.ingest([{**ev("j", "joined", -60)}, *(ev(f"s{i}", "share", i) for i in range(2))])
        invited = [d for d in e.run(T0 + timedelta(hours=1)).decisions if d.action == "invite"]
        assert [d.member for d in invited] == ["m1"]
        assert invited[0].reasons() == "points balance 10; needs at least 10 points"


def test_a_policy_must_earn_or_redeem_and_not_redeem_a_kind_that_earns() -> None:
    import pytest

    with pytest.raises(go.RuleError, match="give 'earn'"):
        go.RuleBook.load({"groups": [{"id": "w1"}], "policies": [{"id": "p", "type": "points"}]})
    with pytest.raises(go.RuleError, match="redeem: 'checkin' is also a kind that earns points"):
        go.RuleBook.load(
            {
                "groups": [{"id": "w1"}],
                "policies": [{"id": "p", "type": "points", "earn": {"checkin": 1}, "redeem": "checkin"}],
            }
        )


# -- properties ----------------------------------------------------------------------------------

actions = st.lists(
    st.tuples(st.sampled_from(["checkin", "share", "redemption"]), st.integers(0, 600), st.integers(1, 30)),
    max_size=25,
)


@given(actions=actions, runs=st.lists(st.integers(0, 700), min_size=1, max_size=3))
@settings(deadline=None)
def test_the_balance_is_the_sum_of_the_ledger_and_never_negative(actions, runs) -> None:
    with engine() as e:
        e.ingest([ev(f"e{i}", kind, minute, value=float(v)) for i, (kind, minute, v) in enumerate(actions)])
        for minute in sorted(runs):
            e.run(T0 + timedelta(minutes=minute))
        e.run(T0 + timedelta(days=1))
        ledger = e.ledger("m1")
        assert e.balance("m1") == sum(x.points for x in ledger)
        running = 0.0
        for x in ledger:  # by time: the balance at every instant
            running += x.points
            assert running >= 0
        assert len({x.cause for x in ledger}) == len(ledger)
        redemptions = [a for a in actions if a[0] == "redemption"]
        decided = e.decisions(policy="points")
        assert len(decided) == len(redemptions)  # each redemption decided once: granted or refused


def test_available_points_is_the_lowest_balance_from_then_on() -> None:
    def entry(cause: str, points: float, minutes: int) -> go.LedgerEntry:
        return go.LedgerEntry.make(
            member="m1",
            at=T0 + timedelta(minutes=minutes),
            points=points,
            kind="earn" if points >= 0 else "redeem",
            cause=cause,
            cause_type="event",
            policy="p",
        )

    entries = [entry("a", 10, 0), entry("b", -8, 10), entry("c", 5, 20)]
    assert available_points(entries, T0 + timedelta(minutes=5)) == 2
    assert available_points(entries, T0 + timedelta(minutes=25)) == 7
    assert available_points([], T0) == 0


def test_a_ledger_entry_must_carry_the_sign_of_its_kind() -> None:
    with pytest.raises(ValueError, match=r"points: -5\.0 for a 'earn' entry; it must be zero or more"):
        go.LedgerEntry.make(
            member="m1", at=T0, points=-5, kind="earn", cause="e1", cause_type="event", policy="p"
        )
