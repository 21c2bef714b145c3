"""groupops.testing strategies: valid models, Hypothesis' API style, round trips, and
histories that are time-ordered and consistent with their rule book."""

import subprocess
import sys
import textwrap
from datetime import datetime
from importlib.resources import files
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import groupops as go
from groupops.rules._conditions import Attr, Label, Role, iter_leaves
from groupops.testing import (
    Timeline,
    conditions,
    events,
    groups,
    histories,
    members,
    memberships,
    replay,
    rule_books,
)

EXAMPLE_BOOK = go.load_rule_book(files("groupops.examples").joinpath("community.yaml"))


# -- every strategy draws valid models, and models round-trip ---------------------------


@given(members())
def test_members_are_valid_and_round_trip(m):
    assert go.Member.model_validate(m.model_dump()) == m
    assert list(m.labels) == sorted(set(m.labels))


@given(groups())
def test_groups_are_valid_and_round_trip(g):
    assert go.Group.model_validate(g.model_dump()) == g


@given(events())
def test_events_are_valid_and_round_trip(e):
    assert e.at.tzinfo is not None
    assert go.Event.model_validate(e.model_dump()) == e
    # through JSON the zone becomes a fixed offset: the same instant, though Python's ``==``
    # says no for a wall time that a daylight-saving change makes ambiguous (PEP 495)
    again = go.Event.model_validate_json(e.model_dump_json())
    assert again.at.timestamp() == e.at.timestamp()
    assert again.model_copy(update={"at": e.at}) == e


@given(memberships())
def test_memberships_are_consistent_and_round_trip(ms):
    assert go.Membership.model_validate(ms.model_dump()) == ms
    for later in (ms.left_at, ms.evicted_at, ms.revived_at, ms.promoted_at):
        assert later is None or later >= ms.joined_at
    if ms.status == "evicted":
        assert ms.evicted_at is not None


@given(conditions())
def test_conditions_validate_and_evaluate(cond):
    data = go.RuleBook(
        groups=[go.Group(id="g")],
        policies=[go.rules.Revival(id="r", groups=("g",), within=go.parse_duration("7d"), when=cond)],
    ).to_data()
    again = go.RuleBook.load(data)
    assert again.policies[0].when == cond
    ctx = go.rules.Context(
        at=datetime(2026, 9, 1, tzinfo=go.RuleBook(groups=[go.Group(id="g")]).tz),
        tz=again.tz,
        history=go.rules.History(again.tz),
        group="g",
    )
    assert isinstance(go.rules.evaluate(cond, ctx).passed, bool)


@given(rule_books())
def test_rule_books_are_valid_and_load_back_equal(book):
    assert book.cross_check() == []
    assert go.RuleBook.load(book.to_data()) == book


@given(rule_books())
def test_rule_books_round_trip_through_model_dump(book):
    assert go.RuleBook.model_validate(book.model_dump()) == book


def test_rule_books_draw_every_policy_type_by_default():
    from hypothesis import Phase

    seen = set()

    @settings(max_examples=60, derandomize=True, database=None, phases=[Phase.generate])
    @given(rule_books(min_policies=1))
    def collect(book):
        seen.update(p.type for p in book.policies)

    collect()
    assert seen == {"admission", "eviction", "revival", "ladder", "welcome"}


@settings(max_examples=10)
@given(st.data())
def test_welcome_books_replay_and_keep_the_laws(data):
    from groupops.testing import assert_invariants

    book = data.draw(rule_books(policy_types=["welcome", "eviction"], min_policies=1))
    engine = go.Engine(book, entry_points=False)
    replay(data.draw(histories(book=book, max_members=3, max_events=10)), engine)
    assert_invariants(engine)


def test_a_rule_book_with_not_round_trips_through_model_dump():
    book = go.RuleBook(
        groups=[go.Group(id="a"), go.Group(id="b")],
        policies=[
            go.rules.Admission(
                id="x", from_=("a",), to="b", when=go.rules.Not(not_=go.rules.Label(label="A"))
            )
        ],
    )
    assert go.RuleBook.model_validate(book.model_dump()) == book


# -- registration with Hypothesis -------------------------------------------------------


@pytest.mark.parametrize("model", [go.Event, go.Member, go.Group, go.Membership, go.RuleBook])
def test_from_type_works_for_models(model):
    @given(st.from_type(model))
    def check(value):
        assert isinstance(value, model)
        assert type(value).model_validate(value.model_dump(by_alias=True)) == value

    check()


# -- Hypothesis' API style: strategies as arguments, InvalidArgument ---------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: rule_books(min_groups=3, max_groups=2),
        lambda: rule_books(min_policies=5, max_policies=1),
        lambda: rule_books(policy_types=["admission"], min_policies=1, max_groups=1),
        lambda: rule_books(policy_types=["nonsense"]),
        lambda: rule_books(policy_types=[]),
        lambda: histories(book=EXAMPLE_BOOK, min_members=4, max_members=2),
        lambda: histories(book=EXAMPLE_BOOK, max_days=0),
        lambda: histories(book="not a book"),
        lambda: conditions(leaf_types=["count", "bogus"]),
        lambda: conditions(leaf_types=["metric"]),
        lambda: conditions(max_leaves=0),
        lambda: conditions(anchors=["yesterday"]),
        lambda: members(ids="m1"),
        lambda: members(max_labels=-1),
        lambda: events(kinds=["checkin"]),
        lambda: groups(kinds="paid"),
    ],
)
def test_impossible_or_malformed_requests_raise_invalid_argument(make):
    with pytest.raises(InvalidArgument):
        make().validate()


def test_strategies_take_strategies():
    @given(events(kinds=st.just("checkin"), members=st.sampled_from(["a", "b"]), groups=st.just("camp")))
    def check(e):
        assert (e.kind, e.group) == ("checkin", "camp") and e.member in ("a", "b")

    check()


def test_metric_leaves_only_with_metric_names():
    @given(conditions(leaf_types=["metric"], metrics=st.just("live_minutes"), max_leaves=1))
    def check(cond):
        assert isinstance(cond, go.rules.Metric) and cond.metric == "live_minutes"

    check()


# -- histories ---------------------------------------------------------------------------


def _check_consistent(tl: Timeline) -> None:
    book = tl.book
    group_ids = {g.id for g in book.groups}
    member_ids = {m.id for m in tl.members}
    assert [e.at for e in tl.events] == sorted(e.at for e in tl.events)
    assert len({e.id for e in tl.events}) == len(tl.events)
    assert list(tl.run_times) == sorted(set(tl.run_times))
    assert tl.run_times[0] == tl.start and tl.run_times[-1] == tl.end
    joined: dict[tuple[str, str], datetime] = {}
    left: dict[tuple[str, str], datetime] = {}
    for e in tl.events:
        assert e.at.tzinfo is not None and e.at.utcoffset() == e.at.astimezone(book.tz).utcoffset()
        assert tl.start <= e.at <= tl.end
        assert e.member in member_ids
        assert e.group is None or e.group in group_ids
        key = (e.member, e.group)
        if e.kind == "joined":
            joined.setdefault(key, e.at)
        elif e.kind == "left":
            assert key in joined, f"{e.member} leaves {e.group} before joining"
            left[key] = e.at
        elif e.group is not None:
            assert key in joined, f"{e.member} acts in {e.group} before joining it"
            assert key not in left, f"{e.member} acts in {e.group} after leaving it"


@given(histories(book=EXAMPLE_BOOK))
def test_histories_are_time_ordered_and_consistent_with_the_example_book(tl):
    _check_consistent(tl)
    assert {e.kind for e in tl.events} <= {
        "joined",
        "left",
        "checkin",
        "purchase",
        "violation",
        "activity",
        "redemption",
        "makeup_task",
        "payment",
        "message",
        "answer",
    }


@given(st.data())
def test_histories_are_consistent_with_generated_books(data):
    book = data.draw(rule_books())
    tl = data.draw(histories(book=book, max_members=4, max_events=20))
    _check_consistent(tl)
    roles = {e.data.get("role", "member") for e in tl.events if e.kind == "joined"}
    vocabulary = {"member", "admin"}
    vocabulary |= {
        r
        for _, c in book.conditions()
        for leaf in iter_leaves(c)
        if isinstance(leaf, Role)
        for r in leaf.role
    }
    vocabulary |= {r for p in book.policies_of(go.rules.Ladder) for r in p.roles()}
    assert roles <= vocabulary
    labels = {x for m in tl.members for x in m.labels}
    assert labels <= {
        x
        for _, c in book.conditions()
        for leaf in iter_leaves(c)
        if isinstance(leaf, Label)
        for x in leaf.label
    } | {"A", "B+", "B"}
    attrs = {leaf.attr for _, c in book.conditions() for leaf in iter_leaves(c) if isinstance(leaf, Attr)}
    assert {a for m in tl.members for a in m.attributes} <= attrs | {"city", "orders", "spend", "verified"}


@given(histories(book=EXAMPLE_BOOK, min_members=2, max_members=3, max_events=5, max_days=3))
def test_history_sizes_are_respected(tl):
    assert 2 <= len(tl.members) <= 3
    assert sum(1 for e in tl.events if e.kind not in ("joined", "left")) <= 5
    assert (tl.end - tl.start).days <= 3


def test_histories_shrink_to_a_small_case():
    # a failing case ("somebody was evicted") shrinks to one member who joins the camp
    # and does nothing: the smallest history that still fails
    from hypothesis import find

    data = EXAMPLE_BOOK.to_data()
    for p in data["policies"]:
        if p["type"] == "eviction":  # a schedule anchored near the histories: quick to iterate
            p["start"] = "2025-12-01T00:00:00+08:00"
    book = go.RuleBook.load(data)

    def has_an_eviction(tl):
        engine = go.Engine(book, entry_points=False)
        replay(tl, engine)
        return any(d.action == "evict" for d in engine.decisions())

    smallest = find(
        histories(book=book),
        has_an_eviction,
        settings=settings(max_examples=500, database=None, deadline=None),
    )
    # (an eviction needs a run at a notice time, then one a whole notice later: the
    # shrinker settles on those runs and may keep the member's other joins beside them)
    assert len(smallest.members) == 1
    assert {e.kind for e in smallest.events} == {"joined"}
    assert [e.group for e in smallest.events].count("camp-7") == 1
    assert "m0 joined in camp-7" in repr(smallest)


@settings(max_examples=20)
@given(histories(book=EXAMPLE_BOOK, min_members=2))
def test_replay_feeds_events_before_each_run(tl):
    seen = []

    class Spy:
        @go.hookimpl
        def groupops_observe_decision(self, decision, engine):
            seen.append(decision)

    engine = go.Engine(EXAMPLE_BOOK, entry_points=False, plugins=[Spy()])
    original = engine.run

    def run(at, **kw):
        # every event up to the run time is in; none after it
        stored = [e for _, e in engine.store.events_after(0)]
        assert stored == [e for e in tl.events if e.at <= at]
        return original(at, **kw)

    engine.run = run
    reports = replay(tl, engine)
    assert [r.at for r in reports] == list(tl.run_times)
    assert [d.id for r in reports for d in r.decisions] == [d.id for d in seen]
    assert sum(1 for _ in engine.store.events_after(0)) == len(tl.events)


def test_without_hypothesis_the_package_says_how_to_install_it():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["hypothesis"] = None  # as if it were not installed
        import groupops
        import groupops.testing
        import groupops.testing.pytest_plugin  # the pytest plugin still loads
        assert callable(groupops.testing.recording_engine)  # it needs no Hypothesis
        try:
            groupops.testing.histories
        except groupops.MissingExtraError as exc:
            print(exc)
        else:
            raise SystemExit("no error")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'groupops[testing]'" in out
    assert "groupops.testing.histories" in out


def test_rule_books_draws_a_plugin_kind_through_its_own_strategy():
    class Greet(go.ScheduledPolicy):
        type: Literal["greet"] = "greet"
        groups: tuple[str, ...]

    class GreetKind(go.ScheduledKind):
        name = "greet"
        model = Greet

        def strategy(self, ctx):
            return st.builds(Greet, id=st.just("x"), groups=ctx.some_groups, schedule=st.just("FREQ=DAILY"))

    class Silent(go.Kind):
        name = "silent"

    class Plugin:
        @go.hookimpl
        def groupops_register_kinds(self, register):
            register(GreetKind())
            register(Silent())

    kinds = go.registered_kinds(plugins=[Plugin()], entry_points=False)

    @settings(max_examples=20)
    @given(rule_books(kinds=kinds, policy_types=["greet", "eviction"], min_policies=2, max_policies=3))
    def drawn(book):
        assert {p.type for p in book.policies} <= {"greet", "eviction"}
        for p in book.policies:
            assert p.id == f"{p.type}-{book.policies.index(p)}"
            assert set(p.groups) <= {g.id for g in book.groups}
        assert go.RuleBook.load(book.to_data(), kinds=kinds) == book

    drawn()
    with pytest.raises(InvalidArgument, match="kind 'silent' has no testing strategy"):
        rule_books(kinds=kinds, policy_types=["silent"]).example()
