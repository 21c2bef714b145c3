"""groupops.testing: property-test a rule book with Hypothesis (the ``testing`` extra).

The public API is exactly the names in ``__all__``:

- strategies, in Hypothesis' style (plural nouns, keyword-only arguments, strategies as
  arguments): :func:`members`, :func:`groups`, :func:`events`, :func:`memberships`,
  :func:`conditions`, :func:`rule_books` and :func:`histories` (whole community
  timelines consistent with a rule book, as :class:`Timeline`), and :func:`replay`,
  which feeds a timeline to an engine the way it would have happened;
- :func:`recording_engine`, an engine for tests that stands a recording messenger in
  for every messenger the book names and loads no installed plugins unless asked
  (it needs no Hypothesis);
- for group operations: :func:`requests` (for a digest), :func:`conversations` (for
  group health) and :func:`replies` (to a migration's call), and the checks in
  :data:`GROUP_INVARIANTS` (:func:`check_group_invariants` runs them on an engine);
- invariant checks, one by one (``no_eviction_in_grace(book, decisions, memberships)``
  and the others in :data:`INVARIANTS`, plus :func:`rerun_changes_nothing`) or all
  together (:func:`check_invariants`, :func:`assert_invariants`), each violation an
  :class:`InvariantViolation` naming the member, the decision and its explanation.

``st.from_type(groupops.Event)`` (and Member, Group, Membership, RuleBook) works once
this extra is installed, through Hypothesis' entry point. The pytest fixtures
(``groupops_engine``, ``groupops_sqlite_engine``, ``groupops_messenger``, and the
overridable ``groupops_rule_book``) live in :mod:`groupops.testing.pytest_plugin`,
loaded by pytest automatically and never autouse.

Without Hypothesis installed, importing this package works (so the pytest plugin can
load) but using any name raises :class:`groupops.MissingExtraError` with the command
that installs the extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import MissingExtraError
from ._engines import recording_engine

__all__ = [
    "GROUP_INVARIANTS",
    "INVARIANTS",
    "Invariant",
    "InvariantViolation",
    "Timeline",
    "assert_invariants",
    "check_group_invariants",
    "check_invariants",
    "conditions",
    "conversations",
    "decision_ids_are_stable",
    "events",
    "groups",
    "health_changes_once",
    "histories",
    "ladder_moves_one_step",
    "members",
    "memberships",
    "migration_invites_repliers",
    "no_eviction_in_grace",
    "no_eviction_of_exempt",
    "nothing_decided_after_dissolution",
    "notice_before_eviction",
    "recording_engine",
    "replay",
    "replies",
    "requests",
    "rerun_changes_nothing",
    "revivals_within_max",
    "revived_met_criteria",
    "rule_books",
]

try:
    import hypothesis  # noqa: F401
except ImportError:  # pragma: no cover - exercised in a subprocess by the tests
    _HAVE_HYPOTHESIS = False
else:
    _HAVE_HYPOTHESIS = True

if _HAVE_HYPOTHESIS or TYPE_CHECKING:
    from ._invariants import (
        INVARIANTS,
        Invariant,
        InvariantViolation,
        assert_invariants,
        check_invariants,
        decision_ids_are_stable,
        ladder_moves_one_step,
        no_eviction_in_grace,
        no_eviction_of_exempt,
        notice_before_eviction,
        rerun_changes_nothing,
        revivals_within_max,
        revived_met_criteria,
    )
    from ._invariants_groups import (
        GROUP_INVARIANTS,
        check_group_invariants,
        health_changes_once,
        migration_invites_repliers,
        nothing_decided_after_dissolution,
    )
    from ._strategies import (
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
    from ._strategies_groups import conversations, replies, requests


def __getattr__(name: str) -> Any:
    if name in __all__:
        raise MissingExtraError("testing", feature=f"groupops.testing.{name}")
    raise AttributeError(f"module 'groupops.testing' has no attribute {name!r}")
