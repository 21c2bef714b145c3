"""Laws of the rule language, checked on generated events, conditions and rule books.

* Adding events never turns an ``at_least`` pass into a fail (count, sum of non-negative
  values, distinct days), nor any negation-free combination of such leaves.
* Events outside a leaf's window (before its start, or after ``at``) change nothing.
* Every leaf of an explanation reports what a naive loop over the raw events computes.
* load → dump → load is the identity on rule books, and the JSON Schema accepts them all.
"""

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import jsonschema
import pytest
import yaml
from dateutil.relativedelta import relativedelta
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import TypeAdapter

import groupops as go
from groupops.rules._templates import PLACEHOLDERS

TZ = ZoneInfo("Europe/Berlin")  # has DST: calendar windows and local days are not trivial
GROUP = "camp"
KINDS = ("checkin", "purchase", "message")
ANCHORS = ("joined", "evicted", "revived", "promoted", "period_start")
CONDITION = TypeAdapter(go.rules.Condition)
# 2026-03-29 (spring forward) falls inside the range the events are drawn from
BASE = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
SPAN = 40 * 86400


# -- strategies ------------------------------------------------------------------------------------
#
# Times are drawn so that edges are hit often, not by luck: exactly at (or a second either
# side of) a window start, a local midnight, or ``at`` itself.

moments = st.integers(0, SPAN).map(lambda s: BASE + timedelta(seconds=s))
ats = st.one_of(
    moments,
    st.sampled_from(
        [
            datetime(2026, 3, 29, 20, 0, tzinfo=TZ),  # the evening of the spring-forward day
            datetime(2026, 3, 30, 0, 0, tzinfo=TZ),  # a local midnight
            datetime(2026, 4, 12, 23, 59, 59, tzinfo=TZ),
        ]
    ),
)
EDGE_DURATIONS = ["30m", "12h", "1d", "3d", "7d", "2w", "1mo"]
durations = st.one_of(
    st.sampled_from(EDGE_DURATIONS),
    st.builds(lambda n, unit: f"{n}{unit}", st.integers(1, 30), st.sampled_from(["m", "h", "d", "w", "mo"])),
)
# quarters are exact in binary, so sums do not depend on the order they are added in
amounts = st.integers(0, 400).map(lambda n: n / 4)
thresholds = st.integers(0, 12).map(float)
ANY_KIND = st.sampled_from(KINDS)
jitter = st.integers(-1, 1).map(lambda j: timedelta(seconds=j))


def instants(at, edges=EDGE_DURATIONS):
    """Moments in the event range, biased towards the edges that matter for ``at``: the
    starts of windows ``edges`` long (pass a condition's own durations to hit its edges)."""
    return st.one_of(
        moments,
        st.builds(lambda d, j: naive_before(d, at) + j, st.sampled_from(list(edges)), jitter),
        st.builds(
            lambda day, j: wall_to_instant(datetime(2026, 3, 10) + timedelta(days=day)) + j,
            st.integers(0, 40),
            jitter,
        ),
        st.integers(-2, 2).map(lambda j: at.astimezone(UTC) + timedelta(seconds=j)),
    )


data_fields = st.one_of(st.just({}), amounts.map(lambda a: {"amount": a}), st.just({"amount": "n/a"}))
places = st.sampled_from([GROUP, "other", None])
zones = st.sampled_from([UTC, TZ])


def event_lists(at, *, min_size=0, max_size=20, kinds=ANY_KIND, prefix="e", edges=EDGE_DURATIONS):
    fields = st.tuples(kinds, places, instants(at, edges), zones, amounts, data_fields)

    def build(rows):
        return [
            go.Event(id=f"{prefix}{i}", kind=k, member="m1", group=g, at=t.astimezone(z), value=v, data=d)
            for i, (k, g, t, z, v, d) in enumerate(rows)
        ]

    return st.lists(fields, min_size=min_size, max_size=max_size).map(build)


@st.composite
def memberships(draw, at, edges=EDGE_DURATIONS):
    when = instants(at, edges)
    joined = draw(when)
    # the other moments come at or after joining
    later = st.one_of(st.none(), when.map(lambda m: max(m, joined)))
    return go.Membership(
        member="m1",
        group=GROUP,
        joined_at=joined,
        evicted_at=draw(later),
        revived_at=draw(later),
        promoted_at=draw(later),
    )


@dataclass
class Scenario:
    at: datetime
    events: list
    extra: list
    membership: go.Membership
    period_start: datetime | None


@st.composite
def scenarios(draw, *, kinds=ANY_KIND, extra=0, cond=None):
    at = draw(ats)
    edges = durations_in(cond) or EDGE_DURATIONS
    return Scenario(
        at=at,
        events=draw(event_lists(at, kinds=kinds, edges=edges)),
        extra=draw(
            event_lists(at, min_size=min(extra, 1), max_size=extra, kinds=kinds, prefix="extra", edges=edges)
        ),
        membership=draw(memberships(at, edges)),
        period_start=draw(st.one_of(st.none(), instants(at, edges))),
    )


def durations_in(cond):
    """The ``within`` durations a condition uses."""
    if isinstance(cond, dict):
        own = [cond["within"]] if "within" in cond else []
        return own + [d for v in cond.values() for d in durations_in(v)]
    if isinstance(cond, list):
        return [d for c in cond for d in durations_in(c)]
    return []


windows = st.one_of(
    st.just({}),
    durations.map(lambda d: {"within": d}),
    st.sampled_from(ANCHORS).map(lambda a: {"since": a}),
)
scopes = st.sampled_from([{}, {"scope": "group"}, {"scope": "member"}])
comparators = st.dictionaries(
    st.sampled_from(["at_least", "at_most", "above", "below", "equals"]), thresholds, min_size=1, max_size=2
)


def windowed(key, extra=None):
    return st.builds(
        lambda kind, w, s, c, e: {key: kind, **w, **s, **c, **(e or {})},
        st.sampled_from(KINDS),
        windows,
        scopes,
        comparators,
        extra if extra is not None else st.just({}),
    )


fact_leaves = st.one_of(
    windowed("count"),
    windowed("sum", st.sampled_from([{}, {"field": "amount"}, {"field": "value"}])),
    windowed("distinct_days"),
    st.builds(lambda k, s, c: {"days_since": k, **s, **c}, st.sampled_from(KINDS), scopes, comparators),
    st.builds(lambda a, c: {"tenure": a, **c}, st.sampled_from(ANCHORS[:4]), comparators),
)


def combinations(children):
    lists = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        lists.map(lambda cs: {"all": cs}),
        lists.map(lambda cs: {"any": cs}),
        children.map(lambda c: {"not": c}),
        lists.flatmap(lambda cs: st.integers(0, len(cs)).map(lambda k: {"at_least_of": k, "of": cs})),
    )


fact_conditions = st.recursive(fact_leaves, combinations, max_leaves=6)


def at_least_leaves(kinds=ANY_KIND):
    return st.builds(
        lambda key, kind, w, s, t, f: {key: kind, **w, **s, "at_least": t, **f},
        st.sampled_from(["count", "sum", "distinct_days"]),
        kinds,
        windows,
        scopes,
        thresholds,
        st.sampled_from([{}, {"field": "amount"}]),
    ).map(lambda d: d if "sum" in d else {k: v for k, v in d.items() if k != "field"})


def positive_combinations(children):
    lists = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        lists.map(lambda cs: {"all": cs}),
        lists.map(lambda cs: {"any": cs}),
        lists.flatmap(lambda cs: st.integers(0, len(cs)).map(lambda k: {"at_least_of": k, "of": cs})),
    )


monotone_conditions = st.recursive(at_least_leaves(), positive_combinations, max_leaves=5)


# -- the naive model: loops over the raw event list, no History -----------------------------------


def ts(at):
    return at.astimezone(UTC).timestamp()


def wall_to_instant(wall):
    # A wall time read in TZ; one skipped by spring-forward is read with the offset from
    # before the jump, so it lands as far after the gap's start as it was meant to be.
    return wall.replace(tzinfo=TZ).astimezone(UTC)


def naive_before(text, at):
    d = go.parse_duration(text)
    if d.unit in ("m", "h"):
        return at.astimezone(UTC) - timedelta(minutes=d.amount * (1 if d.unit == "m" else 60))
    delta = {
        "d": relativedelta(days=d.amount),
        "w": relativedelta(days=7 * d.amount),
        "mo": relativedelta(months=d.amount),
    }[d.unit]
    return wall_to_instant(at.astimezone(TZ).replace(tzinfo=None) - delta)


def naive_anchor(name, membership, period_start):
    if name == "period_start":
        return period_start
    return getattr(membership, f"{name}_at")


def naive_window(leaf, at, membership, period_start):
    """(start or None, empty?)"""
    if "within" in leaf:
        return naive_before(leaf["within"], at), False
    if "since" in leaf:
        start = naive_anchor(leaf["since"], membership, period_start)
        return start, start is None or ts(start) > ts(at)
    return None, False


def selected(events, kind, scope, start, at):
    out = []
    for e in events:
        if e.kind != kind:
            continue
        if scope == "group" and e.group not in (GROUP, None):
            continue
        if start is not None and ts(e.at) < ts(start):
            continue
        if ts(e.at) > ts(at):
            continue
        out.append(e)
    return out


def number(e, field):
    if field == "value":
        return e.value
    v = e.data.get(field)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return 0.0
    return float(v)


def naive_observed(leaf, events, at, membership, period_start, default_scope):
    scope = leaf.get("scope", default_scope)
    if "days_since" in leaf:
        times = [ts(e.at) for e in selected(events, leaf["days_since"], scope, None, at)]
        return (ts(at) - max(times)) / 86400 if times else math.inf
    if "tenure" in leaf:
        since = getattr(membership, f"{leaf['tenure']}_at")
        return None if since is None else (ts(at) - ts(since)) / 86400
    start, empty = naive_window(leaf, at, membership, period_start)
    key = next(k for k in ("count", "sum", "distinct_days") if k in leaf)
    chosen = [] if empty else selected(events, leaf[key], scope, start, at)
    if key == "count":
        return len(chosen)
    if key == "sum":
        return sum(number(e, leaf.get("field", "value")) for e in chosen)
    return len({e.at.astimezone(TZ).date() for e in chosen})


def naive_compare(observed, leaf):
    if observed is None:
        return False
    ops = {
        "at_least": observed >= leaf.get("at_least", -math.inf),
        "at_most": observed <= leaf.get("at_most", math.inf),
        "above": "above" not in leaf or observed > leaf["above"],
        "below": "below" not in leaf or observed < leaf["below"],
        "equals": "equals" not in leaf or observed == leaf["equals"],
    }
    return all(ops.values())


def naive_leaves(cond):
    for key in ("all", "any"):
        if key in cond:
            return [x for c in cond[key] for x in naive_leaves(c)]
    if "not" in cond:
        return naive_leaves(cond["not"])
    if "at_least_of" in cond:
        return [x for c in cond["of"] for x in naive_leaves(c)]
    return [cond]


def naive_holds(cond, leaf_results):
    """Evaluate the tree from the leaves' naive verdicts, consumed in depth-first order."""
    if "all" in cond:
        return all([naive_holds(c, leaf_results) for c in cond["all"]])
    if "any" in cond:
        return any([naive_holds(c, leaf_results) for c in cond["any"]])
    if "not" in cond:
        return not naive_holds(cond["not"], leaf_results)
    if "at_least_of" in cond:
        return sum(naive_holds(c, leaf_results) for c in cond["of"]) >= cond["at_least_of"]
    return next(leaf_results)


# -- evaluation helpers ---------------------------------------------------------------------------------


def evaluate(cond, events, at, membership=None, period_start=None, default_scope="group"):
    ctx = go.rules.Context(
        at=at,
        tz=TZ,
        history=go.rules.Community(TZ, events).history("m1"),
        group=GROUP,
        membership=membership,
        period_start=period_start,
        default_scope=default_scope,
    )
    return go.rules.evaluate(CONDITION.validate_python(cond), ctx)


# -- laws ------------------------------------------------------------------------------------------------


def evaluate_in(cond, sc, events=None, default_scope="group"):
    return evaluate(
        cond, sc.events if events is None else events, sc.at, sc.membership, sc.period_start, default_scope
    )


@given(cond=fact_conditions, data=st.data(), default_scope=st.sampled_from(["group", "member"]))
def test_every_leaf_reports_what_a_naive_loop_computes(cond, data, default_scope):
    sc = data.draw(scenarios(cond=cond))
    e = evaluate_in(cond, sc, default_scope=default_scope)
    leaves = naive_leaves(cond)
    explained = e.leaves()
    assert len(explained) == len(leaves)
    verdicts = []
    for leaf, got in zip(leaves, explained, strict=True):
        want = naive_observed(leaf, sc.events, sc.at, sc.membership, sc.period_start, default_scope)
        assert got.observed == want, (leaf, got)
        assert got.passed is naive_compare(want, leaf), (leaf, got)
        verdicts.append(got.passed)
    assert e.passed is naive_holds(cond, iter(verdicts))


@given(cond=monotone_conditions, sc=scenarios(extra=10))
def test_more_events_never_turn_an_at_least_pass_into_a_fail(cond, sc):
    before = evaluate_in(cond, sc)
    after = evaluate_in(cond, sc, sc.events + sc.extra)
    for b, a in zip(before.leaves(), after.leaves(), strict=True):
        assert a.observed >= b.observed
    if before.passed:
        assert after.passed


@given(leaf=at_least_leaves(kinds=st.just("checkin")), data=st.data())
def test_qualifying_events_inside_the_window_raise_the_measure(leaf, data):
    sc = data.draw(scenarios(kinds=st.just("checkin"), extra=10, cond=leaf))
    start, empty = naive_window(leaf, sc.at, sc.membership, sc.period_start)
    assume(not empty)
    lo = ts(start) if start is not None else ts(BASE)
    hi = ts(sc.at)
    # spread the extra events over the closed window [start, at], in the evaluated group
    n = len(sc.extra)
    inside = [
        e.model_copy(
            update={"group": GROUP, "at": datetime.fromtimestamp(lo + (hi - lo) * k / max(n - 1, 1), tz=UTC)}
        )
        for k, e in enumerate(sc.extra)
    ]
    assert all(lo <= ts(e.at) <= hi for e in inside)
    before = evaluate_in(leaf, sc)
    after = evaluate_in(leaf, sc, sc.events + inside)
    if "count" in leaf:
        assert after.observed == before.observed + n
    assert after.observed >= before.observed
    if before.passed:
        assert after.passed


@given(
    cond=st.one_of(windowed("count"), windowed("sum"), windowed("distinct_days")),
    data=st.data(),
    seconds=st.lists(st.integers(1, 90 * 86400), min_size=1, max_size=8),
    later=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_events_outside_the_window_change_nothing(cond, data, seconds, later):
    sc = data.draw(scenarios(cond=cond))
    start, _ = naive_window(cond, sc.at, sc.membership, sc.period_start)
    kind = next(cond[k] for k in ("count", "sum", "distinct_days") if k in cond)
    outside = []
    for i, (s, after_at) in enumerate(zip(seconds, later, strict=False)):
        if after_at or start is None:
            when = sc.at.astimezone(UTC) + timedelta(seconds=s)
        else:
            when = start.astimezone(UTC) - timedelta(seconds=s)
        outside.append(go.Event(id=f"out{i}", kind=kind, member="m1", group=GROUP, at=when, value=7))
    before = evaluate_in(cond, sc)
    after = evaluate_in(cond, sc, sc.events + outside)
    assert after.observed == before.observed
    assert after.passed is before.passed


@given(at=ats, within=durations, offsets=st.lists(st.integers(-2, 2), min_size=1, max_size=5))
def test_a_window_starts_exactly_where_the_calendar_says(at, within, offsets):
    start = naive_before(within, at)
    events = [
        go.Event(id=f"w{i}", kind="checkin", member="m1", group=GROUP, at=start + timedelta(seconds=s))
        for i, s in enumerate(offsets)
    ]
    cond = {"count": "checkin", "within": within, "at_least": 0}
    e = evaluate(cond, events, at)
    assert e.observed == sum(1 for s in offsets if s >= 0)
    assert ts(e.window_start) == ts(start)


near_midnight = st.builds(
    lambda day, seconds: (
        wall_to_instant(datetime(2026, 3, 25) + timedelta(days=day)) + timedelta(seconds=seconds)
    ),
    st.integers(0, 8),
    st.integers(-2, 2) | st.integers(-7200, 7200),
)


@given(
    times=st.lists(near_midnight, max_size=12),
    zone=zones,
    window=st.sampled_from([{}, {"within": "2d"}, {"within": "36h"}]),
)
def test_distinct_days_are_local_calendar_days(times, zone, window):
    at = datetime(2026, 4, 3, 12, tzinfo=TZ)
    events = [
        go.Event(id=f"m{i}", kind="message", member="m1", group=GROUP, at=t.astimezone(zone))
        for i, t in enumerate(times)
    ]
    cond = {"distinct_days": "message", **window, "at_least": 0}
    want = naive_observed(cond, events, at, None, None, "group")
    assert evaluate(cond, events, at).observed == want
    # in order or not, the answer is the same
    assert evaluate(cond, events[::-1], at).observed == want


@given(sc=scenarios(extra=5))
def test_days_since_ignores_events_after_at(sc):
    cond = {"days_since": "checkin", "scope": "member", "at_least": 3}
    later = [
        e.model_copy(update={"at": sc.at.astimezone(UTC) + timedelta(seconds=1 + i)})
        for i, e in enumerate(sc.extra)
    ]
    assert evaluate_in(cond, sc, sc.events + later) == evaluate_in(cond, sc)


# -- rule books --------------------------------------------------------------------------------------------

ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=8)
names = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]),
    max_size=12,
)
scalars = st.one_of(
    names, st.integers(-(10**6), 10**6), st.booleans(), st.floats(allow_nan=False, allow_infinity=False)
)
schedules = st.sampled_from(
    [
        "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20",
        "FREQ=DAILY;BYHOUR=9;BYMINUTE=30",
        "FREQ=MONTHLY;BYMONTHDAY=1",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
    ]
)
placeholders = sorted(PLACEHOLDERS)
templates = st.dictionaries(
    st.sampled_from(["welcome", "invite", "notice", "evict", "revive", "promote", "demote"]),
    st.lists(
        st.one_of(
            names.map(lambda s: s.replace("{", "").replace("}", "")),  # braces would be placeholders
            st.sampled_from(placeholders).map(lambda p: "{" + p + "}"),
        ),
        max_size=4,
    ).map("".join),
    max_size=3,
)
book_leaves = st.one_of(
    fact_leaves,
    st.builds(lambda m, w, c: {"metric": m, **w, **c}, ids, windows, comparators),
    st.lists(names.filter(str.strip), min_size=1, max_size=3).map(lambda ls: {"label": ls}),
    names.filter(str.strip).map(lambda n: {"label": n}),
    st.lists(ids, min_size=1, max_size=3).map(lambda rs: {"role": rs}),
    st.builds(
        lambda a, test: {"attr": a, **test},
        ids,
        st.one_of(
            st.lists(scalars, min_size=0, max_size=3).map(lambda v: {"in": v}),
            scalars.map(lambda v: {"equals": v}),
            comparators.filter(lambda c: "equals" not in c),
        ),
    ),
)
book_conditions = st.recursive(book_leaves, combinations, max_leaves=5)
aware_starts = st.builds(
    lambda s, tz: (BASE + timedelta(seconds=s)).astimezone(tz),
    st.integers(0, SPAN),
    st.sampled_from([UTC, TZ, ZoneInfo("Asia/Shanghai")]),
)


def optional(key, strategy):
    return st.one_of(st.just({}), strategy.map(lambda v: {key: v}))


@st.composite
def policies(draw, pid, group_ids):
    kind = draw(st.sampled_from(["admission", "eviction", "revival", "ladder"]))
    some_groups = st.lists(st.sampled_from(group_ids), min_size=1, max_size=2, unique=True)
    common = (
        {"id": pid, "type": kind}
        | draw(optional("description", names))
        | draw(optional("templates", templates))
    )
    if kind == "admission":
        source, target = draw(st.permutations(group_ids))[:2]
        return (
            common
            | {"from": [source], "to": target, "when": draw(book_conditions)}
            | draw(optional("expires", durations))
        )
    if kind == "eviction":
        return (
            common
            | {"groups": draw(some_groups), "schedule": draw(schedules), "when": draw(book_conditions)}
            | draw(optional("start", aware_starts.map(datetime.isoformat)))
            | draw(optional("notice", durations))
            | draw(optional("grace", durations))
            | draw(optional("exempt", book_conditions))
        )
    if kind == "revival":
        return common | {
            "groups": draw(some_groups),
            "within": draw(durations),
            "max": draw(st.integers(0, 3)),
            "when": draw(book_conditions),
        }
    roles = draw(st.lists(ids, min_size=2, max_size=4, unique=True))
    steps = [{"role": roles[0]}]
    for role in roles[1:]:
        steps.append(
            {"role": role, "promote": draw(book_conditions)}
            | draw(optional("keep", book_conditions))
            | draw(optional("grace", durations))
        )
    return common | {"groups": draw(some_groups), "steps": steps}


@st.composite
def rule_books(draw):
    group_ids = draw(st.lists(ids, min_size=2, max_size=4, unique=True))
    groups = [
        {"id": g}
        | draw(optional("name", names))
        | draw(optional("kind", st.sampled_from(["general", "activity", "interest", "paid"])))
        | draw(optional("capacity", st.integers(1, 500)))
        for g in group_ids
    ]
    policy_ids = draw(st.lists(ids, max_size=4, unique=True))
    return (
        {"groups": groups, "policies": [draw(policies(pid, group_ids)) for pid in policy_ids]}
        | draw(optional("timezone", st.sampled_from(["UTC", "Asia/Shanghai", "Europe/Berlin"])))
        | draw(optional("locale", st.sampled_from(["en", "zh"])))
        | draw(optional("templates", templates))
    )


@pytest.fixture(scope="module")
def schema_validator():
    schema = go.rule_book_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@given(data=rule_books())
def test_load_dump_load_is_identity(data):
    book = go.RuleBook.load(data)
    for text, parse in (
        (go.dump_rule_book(book, "yaml"), yaml.safe_load),
        (go.dump_rule_book(book, "json"), json.loads),
    ):
        again = go.RuleBook.load(parse(text))
        assert again == book
        assert again.to_data() == book.to_data()
        assert again.revision == book.revision


@given(data=rule_books())
def test_the_schema_accepts_every_generated_book(data, schema_validator):
    schema_validator.validate(data)  # as written, shorthand included
    schema_validator.validate(go.RuleBook.load(data).to_data())  # as dumped
