"""groupops.testing: property-test a rule book with Hypothesis (the ``testing`` extra).

The public API is exactly the names in ``__all__``:

- strategies, in Hypothesis' style (plural nouns, keyword-only arguments, strategies as
  arguments): :func:`members`, :func:`groups`, :func:`events`, :func:`memberships`,
  :func:`conditions`, :func:`rule_books` and :func:`histories` (whole community
  timelines consistent with a rule book, as :class:`Timeline`), and :func:`replay`,
  which feeds a timeline to an engine the way it would have happened;
- :class:`RecordingMessenger`, a messenger that keeps what it delivers (and can be made
  to fail or hang), and :func:`recording_engine`, an engine for tests that stands one
  in for every messenger the book names and loads no installed plugins unless asked
  (neither needs Hypothesis);
- :func:`joins_and_leaves` (consistent joins and leaves, with ties) and the membership
  constraint checks in :data:`MEMBERSHIP_INVARIANTS` (:func:`within_limits`,
  :func:`within_capacity`, :func:`removed_never_revived`);
- for group operations: :func:`requests` (for a digest), :func:`conversations` (for
  group health) and :func:`replies` (to a migration's call), and the checks in
  :data:`GROUP_INVARIANTS` (:func:`check_group_invariants` runs them on an engine);
- invariant checks, one by one (``no_eviction_in_grace(book, decisions, memberships)``
  and the others in :data:`INVARIANTS`, plus :func:`rerun_changes_nothing`) or all
  together (:func:`check_invariants`, :func:`assert_invariants`), each violation an
  :class:`InvariantViolation` naming the member, the decision and its explanation;
- the store contract, for authors of a :class:`~groupops.Store`: subclass
  :class:`StoreContract` (or :class:`DurableStoreContract`, for a store that keeps its
  data across a close) in a pytest module and define ``make_store(self, path)``; pytest
  runs every test of the contract against your store (it needs pytest, not Hypothesis).
- for the engagement economy: :func:`referral_forests`, :func:`points_activity` and
  :func:`ballots` (strategies), :func:`rewards_paid_once` and
  :func:`vote_winners_are_top_n` (record-level, in :data:`ENGAGEMENT_INVARIANTS`) and
  :func:`ledger_is_consistent` (the points ledger, from an engine).
- for segments: :func:`sourced_members`, :func:`segment_conditions` and
  :func:`tier_policies`, and the checks in :data:`SEGMENT_INVARIANTS` (part of
  :data:`INVARIANTS`): :func:`one_message_per_broadcast`, :func:`invited_at_most_twice`,
  :func:`tier_label_in_set` and :func:`handoff_at_most_once`.

``st.from_type(groupops.Event)`` (and Member, Group, Membership, RuleBook) works once
this extra is installed, through Hypothesis' entry point. The pytest fixtures
(``groupops_engine``, ``groupops_sqlite_engine``, ``groupops_messenger``, and the
overridable ``groupops_rule_book``) live in :mod:`groupops.testing.pytest_plugin`,
loaded by pytest automatically and never autouse.

Without Hypothesis installed, importing this package works (so the pytest plugin can
load) but using any name raises :class:`groupops.MissingExtraError` with the command
that installs the extra.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from .._errors import MissingExtraError as _MissingExtraError
from .._messaging import RecordingMessenger
from .._public import publish as _publish
from ._engines import recording_engine

__all__ = [
    "ENGAGEMENT_INVARIANTS",
    "GROUP_INVARIANTS",
    "INVARIANTS",
    "MEMBERSHIP_INVARIANTS",
    "SEGMENT_INVARIANTS",
    "DurableStoreContract",
    "Invariant",
    "InvariantViolation",
    "RecordingMessenger",
    "StoreContract",
    "Timeline",
    "assert_invariants",
    "ballots",
    "check_group_invariants",
    "check_invariants",
    "conditions",
    "conversations",
    "decision_ids_are_stable",
    "events",
    "groups",
    "handoff_at_most_once",
    "health_changes_once",
    "histories",
    "invited_at_most_twice",
    "joins_and_leaves",
    "ladder_moves_one_step",
    "ledger_is_consistent",
    "members",
    "memberships",
    "migration_invites_repliers",
    "no_eviction_in_grace",
    "no_eviction_of_exempt",
    "nothing_decided_after_dissolution",
    "notice_before_eviction",
    "one_message_per_broadcast",
    "points_activity",
    "recording_engine",
    "referral_forests",
    "removed_never_revived",
    "replay",
    "replies",
    "requests",
    "rerun_changes_nothing",
    "revivals_within_max",
    "revived_met_criteria",
    "rewards_paid_once",
    "rule_books",
    "segment_conditions",
    "sourced_members",
    "tier_label_in_set",
    "tier_policies",
    "vote_winners_are_top_n",
    "within_capacity",
    "within_limits",
]

try:
    import hypothesis  # noqa: F401
except ImportError:  # pragma: no cover - exercised in a subprocess by the tests
    _HAVE_HYPOTHESIS = False
else:
    _HAVE_HYPOTHESIS = True

try:
    import pytest
except ImportError:  # pragma: no cover - the testing extra installs it
    _HAVE_PYTEST = False
else:
    _HAVE_PYTEST = True
    # the contract's asserts explain themselves in a failing test, as a test module's do
    pytest.register_assert_rewrite(f"{__name__}._store_contract")

if _HAVE_PYTEST or _TYPE_CHECKING:
    from ._store_contract import DurableStoreContract, StoreContract

if _HAVE_HYPOTHESIS or _TYPE_CHECKING:
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
    from ._invariants_engagement import (
        ENGAGEMENT_INVARIANTS,
        ledger_is_consistent,
        rewards_paid_once,
        vote_winners_are_top_n,
    )
    from ._invariants_groups import (
        GROUP_INVARIANTS,
        check_group_invariants,
        health_changes_once,
        migration_invites_repliers,
        nothing_decided_after_dissolution,
    )
    from ._invariants_membership import (
        MEMBERSHIP_INVARIANTS,
        removed_never_revived,
        within_capacity,
        within_limits,
    )
    from ._invariants_segments import (
        SEGMENT_INVARIANTS,
        handoff_at_most_once,
        invited_at_most_twice,
        one_message_per_broadcast,
        tier_label_in_set,
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
    from ._strategies_engagement import ballots, points_activity, referral_forests
    from ._strategies_groups import conversations, replies, requests
    from ._strategies_membership import joins_and_leaves
    from ._strategies_segments import segment_conditions, sourced_members, tier_policies

_publish(globals(), [name for name in __all__ if name in globals()], __name__)


def __getattr__(name: str) -> object:
    if name in __all__:
        raise _MissingExtraError("testing", feature=f"groupops.testing.{name}")
    raise AttributeError(f"module 'groupops.testing' has no attribute {name!r}")
