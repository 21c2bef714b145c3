"""Hypothesis' entry point: registers strategies so ``st.from_type(groupops.Event)`` works.

Hypothesis calls :func:`_hypothesis_setup_hook` when it is imported (entry-point group
``hypothesis``), so nothing here runs unless Hypothesis is in use.
"""

from __future__ import annotations


def _hypothesis_setup_hook() -> None:
    """Register a strategy for each groupops model Hypothesis may be asked for by type."""
    from hypothesis import strategies as st

    from .._model import Event, Group, Member, Membership
    from ..rules._book import RuleBook
    from ._strategies import events, groups, members, memberships, rule_books

    st.register_type_strategy(Event, events())
    st.register_type_strategy(Member, members())
    st.register_type_strategy(Group, groups())
    st.register_type_strategy(Membership, memberships())
    st.register_type_strategy(RuleBook, rule_books())
