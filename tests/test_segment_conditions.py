"""The condition leaves of issue 13: ``source``, ``referrer``, ``member_of`` and named
``segment``s. Compiled verdicts agree with a naive reading of the profile, ``holds``,
``decide`` from measured rows and the explanation agree, and a book resolves segment
names (unknown names and circles are errors). The reference evaluator
tests/_old_evaluate.py predates these leaves and does not know them."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

import groupops as go
from groupops._validation import problems_from
from groupops.rules._evaluate import holds

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CONDITION = TypeAdapter(go.rules.Condition)
NAMES = st.sampled_from(["sdr", "sales", "导购", "content"])
GROUPS = {"welfare": "general", "vip": "paid", "camp": "activity", "vip2": "paid"}


def _ctx(member=None, present_in=None, membership=None):
    return go.rules.Context(
        at=AT,
        tz=UTC,
        history=go.rules.Community(UTC, []).history("m1"),
        group="welfare",
        member=member,
        membership=membership,
        present_in=present_in,
    )


profiles = st.builds(
    lambda source, referrer: go.Member(id="m1", source=source, referrer=referrer),
    st.none() | NAMES,
    st.none() | st.sampled_from(["zhang", "li"]),
)
presence = st.lists(st.sampled_from(sorted(GROUPS)), unique=True).map(lambda gs: {g: GROUPS[g] for g in gs})
leaves = st.one_of(
    st.lists(NAMES, min_size=1, unique=True).map(lambda xs: {"source": xs}),
    st.sampled_from(["any", "zhang", "li"]).map(lambda x: {"referrer": x}),
    st.lists(st.sampled_from(sorted(GROUPS)), min_size=1, unique=True).map(lambda xs: {"member_of": xs}),
    st.sampled_from(["paid", "general", "flash"]).map(lambda k: {"member_of": {"kind": k}}),
)
conditions = st.recursive(
    leaves,
    lambda kids: st.one_of(
        st.lists(kids, min_size=1, max_size=3).map(lambda xs: {"all": xs}),
        st.lists(kids, min_size=1, max_size=3).map(lambda xs: {"any": xs}),
        kids.map(lambda x: {"not": x}),
    ),
    max_leaves=6,
)


def naive(cond, member, present):
    if "all" in cond:
        return all(naive(c, member, present) for c in cond["all"])
    if "any" in cond:
        return any(naive(c, member, present) for c in cond["any"])
    if "not" in cond:
        return not naive(cond["not"], member, present)
    if "source" in cond:
        return member.source is not None and member.source in cond["source"]
    if "referrer" in cond:
        want = cond["referrer"]
        return member.referrer is not None and (want == "any" or member.referrer == want)
    want = cond["member_of"]
    if isinstance(want, dict):
        return want["kind"] in present.values()
    return any(g in present for g in want)


@given(cond=conditions, member=profiles, present=presence)
def test_compiled_verdicts_holds_decide_and_explain_agree_with_the_profile(cond, member, present):
    parsed = CONDITION.validate_python(cond)
    ctx = _ctx(member, present)
    want = naive(cond, member, present)
    compiled = go.rules.compile_condition(parsed, at=AT, tz=UTC)
    assert compiled.holds(ctx) is want
    assert compiled.decide(compiled.measure(ctx)) is want
    assert go.rules.evaluate(parsed, ctx).passed is want


def test_a_member_with_no_source_or_referrer_fails_and_the_explanation_says_none():
    ctx = _ctx(go.Member(id="m1"))
    e = go.rules.evaluate({"source": "sdr"}, ctx)
    assert not e.passed and e.summary() == "source is none; needs one of ['sdr']"
    e = go.rules.evaluate({"referrer": "any"}, ctx)
    assert not e.passed and e.summary("zh") == "推荐人为 无（要求有推荐人）"
    assert (
        go.rules.evaluate({"not": {"referrer": "any"}}, ctx).negate().missing()
        == "referrer is none; needs a referrer"
    )


def test_member_of_without_a_presence_map_reads_the_membership_alone():
    joined = AT - timedelta(days=3)
    present = go.Membership(member="m1", group="welfare", joined_at=joined)
    left = present.model_copy(update={"status": "left"})
    assert holds({"member_of": "welfare"}, _ctx(membership=present))
    assert not holds({"member_of": "welfare"}, _ctx(membership=left))
    assert not holds({"member_of": "welfare"}, _ctx())


def test_member_of_a_kind_names_the_kinds_observed():
    e = go.rules.evaluate({"member_of": {"kind": "paid"}}, _ctx(present_in={"welfare": "general"}))
    assert e.observed == ["general"] and not e.passed
    assert e.summary() == "in groups of kind: general; needs in a group of kind paid"
    assert e.summary("zh") == "所在群类型：general（要求在paid 类群）"


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"member_of": []}, "member_of"),
        ({"member_of": {"kind": []}}, r"member_of.kind"),
        ({"source": []}, "source"),
        ({"member_of": {"group": "x"}}, "group"),
    ],
)
def test_malformed_leaves_are_refused_naming_the_field(bad, message):
    with pytest.raises(ValidationError) as info:
        CONDITION.validate_python(bad)
    assert any(message in str(p) for p in problems_from(info.value)), problems_from(info.value)


def _book(**extra):
    return {"groups": [{"id": "welfare"}, {"id": "vip", "kind": "paid"}], **extra}


def test_a_book_resolves_segments_in_segments_and_in_policies():
    book = go.RuleBook.load(
        _book(
            segments={
                "leads": {"source": ["sdr"]},
                "bplus": {"all": [{"label": "B+"}, {"segment": "leads"}]},
            },
            policies=[
                {
                    "id": "vip",
                    "type": "admission",
                    "from": ["welfare"],
                    "to": "vip",
                    "when": {"segment": "bplus"},
                }
            ],
        )
    )
    when = book.policies[0].when
    assert when.definition == book.segments["bplus"]
    ctx = _ctx(go.Member(id="m1", labels=["B+"], source="sdr"))
    assert holds(when, ctx)
    assert not holds(when, _ctx(go.Member(id="m1", labels=["B+"], source="content")))
    # the explanation is the segment's condition, leaf by leaf
    assert [leaf.test for leaf in go.rules.evaluate(when, ctx).leaves()] == ["label", "source"]
    # a book without segments keeps its revision: the key is left out of its data
    assert "segments" not in go.RuleBook.load(_book()).to_data()


def test_an_unknown_segment_is_an_error_naming_where_and_the_known_ones():
    with pytest.raises(go.RuleError) as info:
        go.RuleBook.load(
            _book(
                segments={"leads": {"source": "sdr"}},
                policies=[
                    {
                        "id": "v",
                        "type": "admission",
                        "from": ["welfare"],
                        "to": "vip",
                        "when": {"segment": "lead"},
                    }
                ],
            )
        )
    assert "policies[0].when: unknown segment 'lead' (segments: leads)" in str(info.value)


def test_segments_in_a_circle_are_an_error_not_a_hang():
    with pytest.raises(go.RuleError, match=r"a -> b -> c -> a"):
        go.RuleBook.load(
            _book(
                segments={
                    "a": {"segment": "b"},
                    "b": {"all": [{"label": "x"}, {"segment": "c"}]},
                    "c": {"segment": "a"},
                }
            )
        )


def test_a_segment_outside_a_book_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="segment 'x' is not resolved"):
        holds({"segment": "x"}, _ctx(go.Member(id="m1")))


def test_member_of_in_an_engine_sees_every_group_the_member_is_present_in(tmp_path):
    book = go.RuleBook.load(
        {
            "timezone": "UTC",
            "groups": [{"id": "welfare"}, {"id": "camp"}, {"id": "vip", "kind": "paid"}],
            "policies": [
                {
                    "id": "to-camp",
                    "type": "admission",
                    "from": ["welfare"],
                    "to": "camp",
                    "when": {"not": {"member_of": {"kind": "paid"}}},
                }
            ],
        }
    )
    joined = AT - timedelta(days=10)
    with go.Engine(book, store=str(tmp_path / "g.db"), entry_points=False) as engine:
        engine.ingest(
            [
                go.Member(id="ann"),
                go.Member(id="bob"),
                go.Event(id="j1", member="ann", group="welfare", kind="joined", at=joined),
                go.Event(id="j2", member="bob", group="welfare", kind="joined", at=joined),
                go.Event(id="j3", member="bob", group="vip", kind="joined", at=joined),
            ]
        )
        invited = [d.member for d in engine.run(AT).decisions if d.action == "invite"]
    assert invited == ["ann"]
