"""Hypothesis strategies for segments (issue 13): members with a source channel and a
referrer, conditions over them (``source``, ``referrer``, ``member_of``, ``label``) and
``tier`` policies."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from .._model import Member
from ..rules._conditions import AllOf, AnyOf, GroupKinds, Label, MemberOf, Not, Referrer, Source
from ..rules.kinds.tier import Tier
from ._strategies import _check_sizes, _check_strategy, _ids, _or

__all__ = ["segment_conditions", "sourced_members", "tier_policies"]

SOURCES = ("sdr", "sales", "导购", "content", "partner")
REFERRERS = ("sdr-zhang", "sdr-li", "friend-wang")
LABELS = ("A", "B+", "B")
GROUP_KINDS = ("general", "paid", "activity")


def sourced_members(
    *,
    ids: SearchStrategy[str] | None = None,
    sources: SearchStrategy[str] | None = None,
    referrers: SearchStrategy[str] | None = None,
    labels: SearchStrategy[str] | None = None,
    max_labels: int = 3,
) -> SearchStrategy[Member]:
    """Members with a source channel from ``sources`` and a referrer from ``referrers``
    (each sometimes missing, as on real profiles) and up to ``max_labels`` labels."""
    for name, value in (("ids", ids), ("sources", sources), ("referrers", referrers), ("labels", labels)):
        _check_strategy(value, name)
    _check_sizes(0, max_labels, "labels")
    return st.builds(
        lambda id_, source, referrer, labels_: Member(
            id=id_, source=source, referrer=referrer, labels=labels_
        ),
        _or(ids, _ids()),
        st.none() | _or(sources, st.sampled_from(SOURCES)),
        st.none() | _or(referrers, st.sampled_from(REFERRERS)),
        st.lists(_or(labels, st.sampled_from(LABELS)), max_size=max_labels, unique=True),
    )


def segment_conditions(
    *,
    sources: SearchStrategy[str] | None = None,
    referrers: SearchStrategy[str] | None = None,
    groups: SearchStrategy[str] | None = None,
    group_kinds: SearchStrategy[str] | None = None,
    labels: SearchStrategy[str] | None = None,
    max_leaves: int = 4,
) -> SearchStrategy[Any]:
    """Conditions that select members as segments do: ``source``, ``referrer`` (``any``
    included), ``member_of`` a group or a kind of group, and ``label`` leaves, joined by
    ``all`` / ``any`` / ``not``, up to ``max_leaves`` leaves."""
    for name, value in (
        ("sources", sources),
        ("referrers", referrers),
        ("groups", groups),
        ("group_kinds", group_kinds),
        ("labels", labels),
    ):
        _check_strategy(value, name)
    if not isinstance(max_leaves, int) or isinstance(max_leaves, bool) or max_leaves < 1:
        raise InvalidArgument(f"max_leaves={max_leaves!r} must be an integer of at least 1")

    def names(strategy: SearchStrategy[str]) -> SearchStrategy[tuple[str, ...]]:
        return st.lists(strategy, min_size=1, max_size=3, unique=True).map(tuple)

    leaves = st.one_of(
        names(_or(sources, st.sampled_from(SOURCES))).map(lambda xs: Source(source=xs)),
        (st.just("any") | _or(referrers, st.sampled_from(REFERRERS))).map(lambda x: Referrer(referrer=(x,))),
        names(_or(groups, _ids())).map(lambda xs: MemberOf(member_of=xs)),
        names(_or(group_kinds, st.sampled_from(GROUP_KINDS))).map(
            lambda ks: MemberOf(member_of=GroupKinds(kind=ks))
        ),
        names(_or(labels, st.sampled_from(LABELS))).map(lambda xs: Label(label=xs)),
    )
    return st.recursive(
        leaves,
        lambda kids: st.one_of(
            st.lists(kids, min_size=1, max_size=3).map(lambda xs: AllOf(all=tuple(xs))),
            st.lists(kids, min_size=1, max_size=3).map(lambda xs: AnyOf(any=tuple(xs))),
            kids.map(lambda x: Not(not_=x)),
        ),
        max_leaves=max_leaves,
    )


def tier_policies(
    *,
    ids: SearchStrategy[str] | None = None,
    labels: SearchStrategy[str] | None = None,
    event_kinds: SearchStrategy[str] | None = None,
    max_labels: int = 4,
) -> SearchStrategy[Tier]:
    """``tier`` policies of 2 to ``max_labels`` distinct labels, each label above the
    lowest reached by a rising count of one event kind; ``demote`` either way."""
    for name, value in (("ids", ids), ("labels", labels), ("event_kinds", event_kinds)):
        _check_strategy(value, name)
    _check_sizes(2, max_labels, "labels")

    @st.composite
    def build(draw: st.DrawFn) -> Tier:
        names = draw(
            st.lists(
                _or(labels, st.sampled_from(("unpaid", "first_paid", "premium", "die_hard", "vip"))),
                min_size=2,
                max_size=max_labels,
                unique=True,
            )
        )
        kind = draw(_or(event_kinds, st.sampled_from(("payment", "purchase"))))
        thresholds = sorted(
            draw(st.lists(st.integers(1, 10), min_size=len(names) - 1, max_size=len(names) - 1, unique=True))
        )
        steps = {
            label: {"count": kind, "at_least": n} for label, n in zip(names[1:], thresholds, strict=True)
        }
        return Tier.model_validate(
            {
                "id": draw(_or(ids, _ids())),
                "type": "tier",
                "labels": names,
                "steps": steps,
                "demote": draw(st.booleans()),
            }
        )

    return build()
