"""Condition leaves over other members and the points ledger: ``member_of``,
``referees`` (a condition evaluated for each referee as of the same instant) and
``points: balance``; compiled verdicts, explanations and words agree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter

import groupops as go
from groupops.rules._evaluate import holds

AT = datetime(2026, 11, 20, 12, tzinfo=UTC)
TZ = UTC
CONDITION: TypeAdapter[go.rules.Condition] = TypeAdapter(go.rules.Condition)


class World:
    """A small world: profiles, memberships, events and ledger entries in lists."""

    def __init__(
        self,
        members: Sequence[go.Member],
        memberships: Sequence[go.Membership] = (),
        events: Sequence[go.Event] = (),
        entries: Sequence[go.LedgerEntry] = (),
    ) -> None:
        self.members = {m.id: m for m in members}
        self.memberships = list(memberships)
        self.community = go.rules.Community(TZ, events)
        self.entries = list(entries)

    def history(self, member: str) -> go.rules.History:
        return self.community.history(member)

    def profile(self, member: str) -> go.Member | None:
        return self.members.get(member)

    def membership(self, member: str, group: str) -> go.Membership | None:
        return next((ms for ms in self.memberships if (ms.member, ms.group) == (member, group)), None)

    def memberships_of(self, member: str) -> list[go.Membership]:
        return [ms for ms in self.memberships if ms.member == member]

    def referees(self, member: str) -> list[str]:
        return sorted(m.id for m in self.members.values() if m.referrer == member)

    def referrers(self) -> list[str]:
        return sorted({m.referrer for m in self.members.values() if m.referrer is not None})

    def balance(self, member: str, at: datetime) -> float:
        return sum(e.points for e in self.entries if e.member == member and e.at <= at)


def context(world: World, member: str, group: str = "w1", at: datetime = AT) -> go.rules.Context:
    return go.rules.Context(
        at=at,
        tz=TZ,
        history=world.history(member),
        group=group,
        member=world.profile(member),
        membership=world.membership(member, group),
        world=world,
    )


def joined(member: str, group: str, days_ago: float, **kw: object) -> go.Membership:
    return go.Membership(member=member, group=group, joined_at=AT - timedelta(days=days_ago), **kw)


def referral_world() -> World:
    members = [go.Member(id="a", name="Ann")] + [go.Member(id=r, referrer="a") for r in ("b", "c", "d", "e")]
    memberships = [
        joined("a", "w1", 30),
        joined("b", "w1", 10),
        joined("c", "w1", 8),
        joined("d", "w1", 9, status="left", left_at=AT - timedelta(days=2)),  # left before 7 days
        joined("e", "w2", 20),  # in another group only
    ]
    return World(members, memberships)


STAYED = {"referees": {"all": [{"member_of": "w1"}, {"tenure": "joined", "at_least": 7}]}, "at_least": 3}


def test_referees_counts_those_meeting_the_condition_as_of_the_same_instant() -> None:
    world = referral_world()
    cond = CONDITION.validate_python(STAYED)
    exp = go.rules.evaluate(cond, context(world, "a"))
    assert (exp.passed, exp.observed, exp.subject) == (False, 2.0, ["b", "c"])
    assert holds(cond, context(world, "a")) is False
    assert exp.summary() == "2 referees qualify (b, c); needs at least 3 referees"
    assert exp.summary("zh") == "合格的被推荐人 2 人：b、c（要求至少 3 人）"
    # two days earlier, c had been in w1 only 6 days
    assert go.rules.evaluate(cond, context(world, "a", at=AT - timedelta(days=2))).subject == ["b"]


def test_the_compiled_verdict_the_explanation_and_holds_agree_as_referees_change() -> None:
    world = referral_world()
    for n in range(0, 5):
        cond = CONDITION.validate_python({**STAYED, "at_least": n})
        ctx = context(world, "a")
        assert holds(cond, ctx) is go.rules.evaluate(cond, ctx).passed is (2 >= n)


def test_a_member_without_referees_or_without_a_world_has_none() -> None:
    world = referral_world()
    cond = CONDITION.validate_python({"referees": {"member_of": "w1"}, "at_least": 1})
    assert (
        go.rules.evaluate(cond, context(world, "b")).summary()
        == "no referee qualifies; needs at least 1 referee"
    )
    alone = go.rules.Context(at=AT, tz=TZ, history=world.history("a"), group="w1", member=world.profile("a"))
    assert go.rules.evaluate(cond, alone).observed == 0.0


def test_member_of_reads_every_present_membership_of_the_member() -> None:
    world = referral_world()
    in_w2 = CONDITION.validate_python({"member_of": ["w2", "w3"]})
    assert go.rules.evaluate(in_w2, context(world, "e", group="w1")).passed
    assert not go.rules.evaluate(in_w2, context(world, "a")).passed
    left = go.rules.evaluate(CONDITION.validate_python({"member_of": "w1"}), context(world, "d"))
    assert (left.passed, left.summary()) == (False, "in groups: none; needs in w1")
    assert left.negate().summary() == "in groups: none; needs not in w1"
    assert left.summary("zh") == "所在群：无（要求在群 w1）"


def entry(member: str, cause: str, points: float, at: datetime) -> go.LedgerEntry:
    kind = "earn" if points >= 0 else "redeem"
    return go.LedgerEntry.make(
        member=member, at=at, points=points, kind=kind, cause=cause, cause_type="event", policy="points"
    )


def test_points_balance_is_the_sum_of_entries_at_or_before_the_instant() -> None:
    entries = [
        entry("a", "e1", 80, AT - timedelta(days=3)),
        entry("a", "e2", 25, AT),
        entry("a", "e3", -10, AT + timedelta(seconds=1)),
    ]
    world = World([go.Member(id="a")], [joined("a", "w1", 30)], entries=entries)
    cond = CONDITION.validate_python({"points": "balance", "at_least": 100})
    now = go.rules.evaluate(cond, context(world, "a"))
    assert (now.passed, now.observed) == (True, 105.0)
    assert now.summary() == "points balance 105; needs at least 100 points"
    before = go.rules.evaluate(cond, context(world, "a", at=AT - timedelta(microseconds=1)))
    assert (before.passed, before.summary("zh")) == (False, "积分余额 80（要求至少 100 分）")
    assert before.negate().requirements() == "points balance: fewer than 100 points"


def test_a_member_seen_without_a_world_or_a_profile_has_no_points_referees_or_referrer() -> None:
    # a host evaluating one member by itself: no ledger, no other members
    history = go.rules.Community(TZ, []).history("a")
    alone = go.rules.Context(
        at=AT, tz=TZ, history=history, group="w1", member=go.Member(id="a", referrer="z")
    )
    balance = go.rules.evaluate(CONDITION.validate_python({"points": "balance", "at_most": 0}), alone)
    assert (balance.passed, balance.observed) == (True, 0.0)
    # only a membership, no profile and no world: nobody is known to have brought them
    unknown = go.rules.Context(at=AT, tz=TZ, history=history, group="w1", membership=joined("a", "w1", 3))
    brought = go.rules.evaluate(CONDITION.validate_python({"referrer": "any"}), unknown)
    assert (brought.passed, brought.observed) == (False, None)
    came = go.rules.evaluate(CONDITION.validate_python({"source": "ads"}), unknown)
    assert (came.passed, came.observed) == (False, None)
    # a world, but a subject that is nobody in it: it counts no referees
    world = referral_world()
    nobody = go.rules.Context(at=AT, tz=TZ, history=history, group="w1", world=world)
    anyone = CONDITION.validate_python({"referees": {"not": {"label": "never"}}, "at_least": 1})
    assert go.rules.evaluate(anyone, nobody).observed == 0.0
    assert go.rules.evaluate(anyone, context(world, "a")).observed == 4.0


def test_each_compiled_leaf_is_named_by_its_condition_key() -> None:
    # the key is what a store's pre-aggregated facts and the explanations are matched on
    from groupops.rules._compile import compile_condition

    keys = [
        ({"points": "balance", "at_least": 1}, "points"),
        ({"referees": {"member_of": "w1"}, "at_least": 1}, "referees"),
        ({"member_of": "w1"}, "member_of"),
        ({"referrer": "any"}, "referrer"),
        ({"source": "ads"}, "source"),
        ({"count": "checkin", "within": "7d", "at_least": 1}, "count"),
        ({"sum": "purchase", "field": "value", "within": "7d", "at_least": 1}, "sum"),
        ({"distinct_days": "checkin", "within": "7d", "at_least": 1}, "distinct_days"),
    ]
    cond = CONDITION.validate_python({"all": [c for c, _ in keys]})
    compiled = compile_condition(cond, at=AT, tz=TZ)
    assert [spec.test for spec in compiled.leaves] == [k for _, k in keys]
    assert [spec.leaf for spec in compiled.leaves] == list(cond.all)
    balance = go.rules.evaluate(CONDITION.validate_python(keys[0][0]), context(referral_world(), "a"))
    assert balance.to_json()["subject"] == "balance"


def test_the_explanations_of_source_referrer_and_member_of_say_what_was_seen_and_wanted() -> None:
    world = World([go.Member(id="a", source="ads", referrer="z")], [joined("a", "w1", 3)])
    ctx = context(world, "a")

    def explained(cond: dict[str, object]) -> dict[str, object]:
        exp = go.rules.evaluate(CONDITION.validate_python(cond), ctx).to_json()
        return {k: exp[k] for k in ("passed", "subject", "observed", "expect")}

    assert explained({"source": ["fair", "ads"]}) == {
        "passed": True,
        "subject": "source",
        "observed": "ads",
        "expect": {"in": ["fair", "ads"]},
    }
    assert explained({"referrer": "any"}) == {
        "passed": True,
        "subject": "referrer",
        "observed": "z",
        "expect": {"present": True},
    }
    assert explained({"referrer": ["y"]}) == {
        "passed": False,
        "subject": "referrer",
        "observed": "z",
        "expect": {"in": ["y"]},
    }
    assert explained({"member_of": ["w2", "w1"]}) == {
        "passed": True,
        "subject": ["w2", "w1"],
        "observed": ["w1"],
        "expect": {"member_of": ["w2", "w1"]},
    }


@dataclass(frozen=True)
class OwnSubject:
    """A host's own subject: only what the :class:`Subject` protocol asks for (no world,
    no ``present_in``, no ``peer``)."""

    history: go.rules.History
    group: str
    member: go.Member | None
    membership: go.Membership | None
    period_start: datetime | None = None


def test_a_subject_with_only_the_protocols_fields_compiles_the_leaves_over_others() -> None:
    from groupops.rules._compile import compile_condition

    cond = CONDITION.validate_python(
        {
            "all": [
                {"member_of": "w1"},
                {"points": "balance", "at_most": 0},
                {"referees": {"member_of": "w1"}, "at_most": 0},
            ]
        }
    )
    subject = OwnSubject(
        go.rules.Community(TZ, []).history("a"), "w1", go.Member(id="a"), joined("a", "w1", 3)
    )
    compiled = compile_condition(cond, at=AT, tz=TZ)
    assert compiled.measure(subject) == (["w1"], 0.0, 0.0)
    assert compiled.holds(subject)


def test_new_leaves_are_validated_with_the_field_and_value_named() -> None:
    with pytest.raises(ValueError, match="points"):
        CONDITION.validate_python({"points": "earned", "at_least": 1})
    with pytest.raises(ValueError, match="needs a comparator"):
        CONDITION.validate_python({"referees": {"member_of": "w1"}})
    with pytest.raises(ValueError, match="member_of"):
        CONDITION.validate_python({"member_of": []})


def test_the_book_finds_metrics_and_leaves_inside_a_referees_condition() -> None:
    book = go.RuleBook.load(
        {
            "groups": [{"id": "w1"}],
            "policies": [
                {
                    "id": "fans",
                    "type": "referral_reward",
                    "when": {"referees": {"metric": "live_minutes", "at_least": 30}, "at_least": 2},
                    "reward": {"text": "a mug"},
                }
            ],
        }
    )
    assert book.metrics_used() == {"live_minutes"}
