"""groupops.testing invariants: each catches a deliberately broken decision log, and all
hold on real engine runs over generated histories (example book and generated books)."""

from datetime import datetime, timedelta
from importlib.resources import files
from zoneinfo import ZoneInfo

import pytest
from _books import camp_book
from hypothesis import given
from hypothesis import strategies as st

import groupops as go
from groupops.testing import (
    INVARIANTS,
    InvariantViolation,
    assert_invariants,
    check_invariants,
    decision_ids_are_stable,
    histories,
    ladder_moves_one_step,
    no_eviction_in_grace,
    no_eviction_of_exempt,
    notice_before_eviction,
    replay,
    rerun_changes_nothing,
    revivals_within_max,
    revived_met_criteria,
    rule_books,
)

TZ = ZoneInfo("Asia/Shanghai")
EXAMPLE_BOOK = go.load_rule_book(files("groupops.examples").joinpath("community.yaml"))
BOOK = go.RuleBook.load(
    camp_book(
        group={"id": "camp"},
        weekly={"start": "2026-09-01T00:00:00+08:00"},
        roles={
            "steps": [
                {"role": "member"},
                {"role": "active", "promote": {"count": "message", "within": "7d", "at_least": 3}},
                {"role": "lecturer", "promote": {"count": "answer", "within": "7d", "at_least": 3}},
            ]
        },
    )
)
SUN = datetime(2026, 9, 13, 20, 0, tzinfo=TZ)  # a period end
FRI = SUN - timedelta(days=2)  # its notice time
PERIOD = SUN.isoformat()


def ms(member="m", **kw):
    kw.setdefault("joined_at", datetime(2026, 9, 1, 9, 0, tzinfo=TZ))
    return go.Membership(member=member, group="camp", **kw)


def decision(action, at, period=PERIOD, policy="weekly", member="m", **kw):
    return go.Decision.make(
        policy=policy, action=action, member=member, group="camp", period=period, at=at, **kw
    )


def notice_and_evict(member="m"):
    return [decision("notice", FRI, member=member), decision("evict", SUN, member=member)]


def names(found):
    return {v.invariant for v in found}


# -- each invariant catches a broken log -------------------------------------------------


def test_a_clean_log_breaks_no_law():
    evicted = ms(status="evicted", evicted_at=SUN)
    log = notice_and_evict()
    for check in INVARIANTS:
        assert check(BOOK, log, [evicted], events=[], members=[]) == [], check.__name__


def test_eviction_inside_grace_is_caught():
    joined = datetime(2026, 9, 10, 9, 0, tzinfo=TZ)  # three days before the period ends
    found = no_eviction_in_grace(
        BOOK, notice_and_evict(), [ms(joined_at=joined, status="evicted", evicted_at=SUN)]
    )
    assert [v.decision.action for v in found] == ["notice", "evict"]
    v = found[1]
    assert isinstance(v, InvariantViolation)
    assert (v.invariant, v.member, v.group) == ("no_eviction_in_grace", "m", "camp")
    assert "grace of 7d" in v.message and "2026-09-17" in v.message
    assert "no_eviction_in_grace" in str(v) and "evict by policy 'weekly'" in str(v)


def test_grace_runs_from_the_last_revival():
    evicted_before = datetime(2026, 9, 6, 20, 0, tzinfo=TZ)
    revived = datetime(2026, 9, 9, 9, 0, tzinfo=TZ)
    log = [
        decision("notice", evicted_before - timedelta(days=2), period=evicted_before.isoformat()),
        decision("evict", evicted_before, period=evicted_before.isoformat()),
        decision("revive", revived, policy="comeback", period="revival-1"),
        *notice_and_evict(),
    ]
    joined = datetime(2026, 8, 20, 9, 0, tzinfo=TZ)  # long enough before the first period
    now = ms(joined_at=joined, status="evicted", evicted_at=SUN, revived_at=revived, revivals=1)
    found = no_eviction_in_grace(BOOK, log, [now])
    assert [v.decision.period for v in found] == [PERIOD, PERIOD]  # the second period only


def test_eviction_of_an_exempt_member_is_caught_with_the_role_held_then():
    lecturer = ms(role="lecturer", status="evicted", evicted_at=SUN)
    found = no_eviction_of_exempt(BOOK, notice_and_evict(), [lecturer], events=[])
    assert [v.decision.action for v in found] == ["notice", "evict"]
    assert "role" in found[0].explanation and "lecturer" in found[0].explanation
    # a member who became a lecturer only after the eviction was not exempt then
    later = decision(
        "promote",
        SUN + timedelta(days=1),
        policy="roles",
        period="step-1",
        from_role="active",
        to_role="lecturer",
    )
    now = ms(role="lecturer", status="evicted", evicted_at=SUN, promoted_at=later.at, role_changes=1)
    assert no_eviction_of_exempt(BOOK, [*notice_and_evict(), later], [now], events=[]) == []


def test_exempt_needs_the_events():
    with pytest.raises(ValueError, match="events="):
        no_eviction_of_exempt(BOOK, notice_and_evict(), [ms()])


def test_eviction_without_timely_notice_is_caught():
    evicted = ms(status="evicted", evicted_at=SUN)
    found = notice_before_eviction(BOOK, [decision("evict", SUN)], [evicted])
    assert [v.message for v in found] == ["evicted without a notice for this period"]
    late = [decision("notice", SUN - timedelta(days=1)), decision("evict", SUN)]
    found = notice_before_eviction(BOOK, late, [evicted])
    assert len(found) == 1 and "less than 2d before" in found[0].message
    # a vetoed notice is no notice
    vetoed = [decision("notice", FRI, status="vetoed", veto_reason="no"), decision("evict", SUN)]
    assert len(notice_before_eviction(BOOK, vetoed, [evicted])) == 1


def test_notice_to_a_member_who_joined_after_the_notice_time_is_caught():
    joined = FRI + timedelta(hours=1)
    found = notice_before_eviction(
        BOOK, [decision("notice", FRI + timedelta(hours=2))], [ms(joined_at=joined)]
    )
    assert len(found) == 1 and "after this period's notice time" in found[0].message


def _revived(at, *, revivals=1, status="active"):
    return ms(status=status, evicted_at=SUN, revived_at=at, revivals=revivals)


def test_revival_without_the_criteria_is_caught_with_the_reevaluation():
    at = SUN + timedelta(days=3)
    log = [*notice_and_evict(), decision("revive", at, policy="comeback", period="revival-1")]
    found = revived_met_criteria(BOOK, log, [_revived(at)], events=[])
    assert len(found) == 1
    v = found[0]
    assert "criteria do not hold" in v.message and v.decision.action == "revive"
    assert "payment" in v.explanation  # the re-evaluation, not the decision's own claim
    paid = go.Event(id="p", kind="payment", member="m", group="camp", at=at - timedelta(hours=1))
    assert revived_met_criteria(BOOK, log, [_revived(at)], events=[paid]) == []
    # a payment before the eviction does not count (since: evicted)
    early = paid.model_copy(update={"at": SUN - timedelta(hours=1)})
    assert len(revived_met_criteria(BOOK, log, [_revived(at)], events=[early])) == 1


def test_revival_outside_the_window_or_without_eviction_is_caught():
    at = SUN + timedelta(days=15)
    paid = go.Event(id="p", kind="payment", member="m", group="camp", at=at - timedelta(hours=1))
    log = [*notice_and_evict(), decision("revive", at, policy="comeback", period="revival-1")]
    found = revived_met_criteria(BOOK, log, [_revived(at)], events=[paid])
    assert len(found) == 1 and "outside the window" in found[0].message
    never = [decision("revive", SUN, policy="comeback", period="revival-1")]
    found = revived_met_criteria(BOOK, never, [ms(revived_at=SUN, revivals=1)], events=[paid])
    assert [v.message for v in found] == ["revived, but was never evicted"]


def test_revivals_beyond_max_are_caught():
    first, second = SUN + timedelta(days=1), SUN + timedelta(days=9)
    week_later = SUN + timedelta(days=7)
    log = [
        *notice_and_evict(),
        decision("revive", first, policy="comeback", period="revival-1"),
        decision("notice", week_later - timedelta(days=2), period=week_later.isoformat()),
        decision("evict", week_later, period=week_later.isoformat()),
        decision("revive", second, policy="comeback", period="revival-2"),
    ]
    now = ms(evicted_at=week_later, revived_at=second, revivals=2)
    found = revivals_within_max(BOOK, log, [now])
    assert {v.message for v in found} == {
        "revival number 2 exceeds max 1",
        "membership records 2 revivals; max is 1",
    }
    assert any(v.decision is None for v in found)
    paid = go.Event(id="p", kind="payment", member="m", group="camp", at=second)
    assert "revived with 1 revivals used of max 1" in {
        v.message for v in revived_met_criteria(BOOK, log, [now], events=[paid])
    }


def test_duplicate_or_unstable_decision_ids_are_caught():
    d = decision("notice", FRI)
    assert len(decision_ids_are_stable(BOOK, [d, d], [ms()])) == 1
    forged = d.model_copy(update={"id": "0" * 32})
    found = decision_ids_are_stable(BOOK, [forged], [ms()])
    assert len(found) == 1 and d.id in found[0].message


def test_ladder_jumps_and_double_moves_are_caught():
    at = datetime(2026, 9, 5, 9, 0, tzinfo=TZ)
    jump = decision("promote", at, policy="roles", period="step-1", from_role="member", to_role="lecturer")
    found = ladder_moves_one_step(BOOK, [jump], [ms(role="lecturer", promoted_at=at, role_changes=1)])
    assert len(found) == 1 and "not one step" in found[0].message
    wrong_way = decision("demote", at, policy="roles", period="step-1", from_role="member", to_role="active")
    assert "not one step" in ladder_moves_one_step(BOOK, [wrong_way], [ms(role="active")])[0].message
    up = decision("promote", at, policy="roles", period="step-1", from_role="member", to_role="active")
    up_again = decision(
        "promote", at, policy="roles", period="step-2", from_role="active", to_role="lecturer"
    )
    now = ms(role="lecturer", promoted_at=at, role_changes=2)
    assert [v.message for v in ladder_moves_one_step(BOOK, [up, up_again], [now])] == [
        f"moved twice at {at.isoformat()}"
    ]
    stale = decision("promote", at, policy="roles", period="step-2", from_role="active", to_role="lecturer")
    found = ladder_moves_one_step(BOOK, [up, stale.model_copy(update={"from_role": "member"})], [now])
    assert any("not one step" in v.message for v in found)
    off = decision("promote", at, policy="roles", period="step-1", from_role="member", to_role="owner")
    assert "leaves the ladder" in ladder_moves_one_step(BOOK, [off], [ms(role="owner")])[0].message


class _FlakyMetric:
    """A host metric that reads something outside the events (here: a call counter)."""

    def __init__(self):
        self.calls = 0

    @go.hookimpl
    def groupops_register_metrics(self, register):
        def flaky(history, *, group, start, end):
            self.calls += 1
            return float(self.calls > 1)

        register("flaky", flaky)


def test_a_rerun_that_decides_differently_is_caught():
    book = go.RuleBook.load(
        {
            "groups": [{"id": "camp"}],
            "policies": [
                {
                    "id": "roles",
                    "type": "ladder",
                    "groups": ["camp"],
                    "steps": [
                        {"role": "member"},
                        {"role": "active", "promote": {"metric": "flaky", "at_least": 1}},
                    ],
                }
            ],
        }
    )
    engine = go.Engine(book, plugins=[_FlakyMetric()], entry_points=False)
    t = datetime(2026, 9, 1, 9, 0, tzinfo=TZ)
    engine.ingest([go.Event(id="j", kind="joined", member="m", group="camp", at=t)])
    assert engine.run(t).decisions == ()
    found = rerun_changes_nothing(engine, t)
    assert [(v.invariant, v.member, v.decision.action) for v in found] == [
        ("rerun_changes_nothing", "m", "promote")
    ]
    with pytest.raises(AssertionError, match="rerun_changes_nothing"):
        assert_invariants(engine, at_times=[t])
    assert engine.decisions() == []  # checking recorded nothing


def test_check_invariants_reports_violations_from_the_store():
    engine = go.Engine(BOOK, entry_points=False)
    engine.put_membership(ms(status="evicted", evicted_at=SUN))
    engine.store.add_decision(decision("evict", SUN))  # as if a buggy engine had evicted without notice
    found = check_invariants(engine, at_times=[])
    assert names(found) == {"notice_before_eviction"}
    assert engine.store.get_state("last_run_at") is None


# -- and hold on real runs ---------------------------------------------------------------


@given(histories(book=EXAMPLE_BOOK))
def test_invariants_hold_on_the_example_book(tl):
    engine = go.Engine(EXAMPLE_BOOK, entry_points=False)
    replay(tl, engine)
    assert_invariants(engine)


@given(st.data())
def test_invariants_hold_on_generated_books(data):
    book = data.draw(rule_books(min_policies=1), label="book")
    tl = data.draw(histories(book=book, max_members=5, max_events=30), label="history")
    engine = go.Engine(book, entry_points=False)
    replay(tl, engine)
    assert_invariants(engine)


@given(histories(book=BOOK, max_days=35))
def test_invariants_hold_after_every_run(tl):
    # the law "re-running at the same time changes nothing" after each run, not just the last
    engine = go.Engine(BOOK, entry_points=False)
    engine.ingest(tl.members)
    done = 0
    for t in tl.run_times:
        batch = [e for e in tl.events[done:] if e.at <= t]
        engine.ingest(batch)
        done += len(batch)
        engine.run(t)
        assert rerun_changes_nothing(engine, t) == []
    assert_invariants(engine)


def test_a_member_evicted_and_back_in_the_same_minute_breaks_no_grace_law():
    # found by the long profile of the stateful test: the grace law judged an eviction
    # (and a notice given at that instant) by the joining that began right after it
    tz = ZoneInfo("Asia/Shanghai")
    book = go.RuleBook.load(
        {
            "timezone": "Asia/Shanghai",
            "groups": [{"id": "camp"}],
            "policies": [
                {
                    "id": "daily",
                    "type": "eviction",
                    "groups": ["camp"],
                    "schedule": "FREQ=DAILY;BYHOUR=20",
                    "notice": "6h",
                    "grace": "1d",
                    "when": {"days_since": "checkin", "at_least": 2},
                }
            ],
        }
    )
    engine = go.Engine(book, entry_points=False)
    engine.ingest(
        [{"id": "j1", "kind": "joined", "member": "m1", "group": "camp", "at": "2026-09-01T09:00:00+08:00"}]
    )
    for day in range(3, 6):
        for hour in (14, 20):
            engine.run(datetime(2026, 9, day, hour, tzinfo=tz))
    [evicted] = [d for d in engine.decisions() if d.action == "evict"]
    engine.ingest(
        [{"id": "j2", "kind": "joined", "member": "m1", "group": "camp", "at": evicted.at.isoformat()}]
    )
    assert engine.membership("m1", "camp").joined_at == evicted.at
    assert check_invariants(engine, at_times=[]) == []
