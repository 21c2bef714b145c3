"""Decisions: what a policy decided about a member, a group or a membership, and why.

Above the domain inputs (:mod:`groupops._model`) and the rule language's explanations
(:mod:`groupops.rules._explain`): a decision carries the evaluated requirement tree, so
it lives beside the outbox and the reports, not under the rules that make it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal, NamedTuple

from pydantic import Field, model_validator

from ._model import Time, _Frozen
from ._trusted import share_fields_set
from .rules._explain import Explanation

__all__ = ["Decision", "DecisionHead", "DecisionSubject", "decision_id"]


def decision_id(policy: str, action: str, member: str | None, group: str | None, period: str) -> str:
    """The stable id of a decision: the same inputs always give the same id.

    ``member`` is None for a decision about a group alone, ``group`` None for one about a
    member alone (as an empty string: ids of membership decisions are unchanged)."""
    key = "\x1f".join((policy, action, member or "", group or "", period))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


DecisionSubject = Literal["membership", "member", "group"]
"""What a decision concerns: a membership (a member in a group), a member alone (with no
group: an invitation to someone in no group) or a group alone (a post, a rename)."""


class Decision(_Frozen):
    """What a policy decided about one subject, and why: one member in one group (a
    membership), a member alone (``group`` is None) or a group alone (``member`` is
    None); see :attr:`subject`.

    ``id`` is :func:`decision_id` of (policy, action, member, group, period), so deciding
    the same thing twice yields the same id. ``revision`` is the content hash of the rule
    book that made the decision. ``status`` is ``applied`` (recorded, its membership
    change and messages with it), ``vetoed`` (recorded alone: a plugin vetoed it, saying
    ``veto_reason``) or ``preview`` (a dry run: nothing was recorded).

    ``explanation`` is the evaluated requirement tree of the policy's own condition when
    the decision was made: an eviction's ``when`` for ``notice``, ``evict`` and
    ``spare`` (it says who is at risk, so it passed for a notice or an eviction and
    failed for a spare); the next step's ``promote`` for ``promote``; the current step's
    ``keep`` for ``demote``; the policy's ``when`` for ``revive`` and ``invite``. It is
    None for a decision without a condition (``welcome``). :meth:`reasons` words it.

    ``assignee`` is who a decision hands its subject to (a ``handoff``'s salesperson or
    queue); ``from_role`` and ``to_role`` are the labels of a ``tier`` move.
    """

    id: str
    policy: str
    action: str
    member: str | None
    group: str | None
    at: Time
    period: str
    explanation: Explanation | None = None
    revision: str = ""
    target_group: str | None = None
    from_role: str | None = None
    to_role: str | None = None
    assignee: str | None = None
    status: Literal["applied", "vetoed", "preview"] = "applied"
    veto_reason: str | None = None
    rank: int | None = Field(default=None, ge=1)
    reason: str | None = None

    @classmethod
    def make(
        cls,
        *,
        policy: str,
        action: str,
        member: str | None,
        group: str | None,
        period: str,
        at: datetime,
        **fields: Any,
    ) -> Decision:
        """Build a decision whose id is derived from its identity fields."""
        made = cls(
            id=decision_id(policy, action, member, group, period),
            policy=policy,
            action=action,
            member=member,
            group=group,
            period=period,
            at=at,
            **fields,
        )
        return share_fields_set(made)  # a run holds its decisions: one set per shape

    @model_validator(mode="after")
    def _has_subject(self) -> Decision:
        if self.member is None and self.group is None:
            raise ValueError("member, group: a decision concerns a member, a group or both; both are None")
        return self

    @property
    def subject(self) -> DecisionSubject:
        """``membership``, ``member`` (no group) or ``group`` (no member)."""
        if self.member is None:
            return "group"
        return "member" if self.group is None else "membership"

    def reasons(self, locale: str = "en") -> str:
        """Why, in one line, as the member would be told (empty without an explanation).

        The explanation holds the policy's own condition; the words depend on the action:
        a ``notice`` or ``evict`` says what is missing to stay (an eviction's ``when``
        says who is at risk, so it is negated), a ``spare`` what kept the member, a
        ``demote`` which ``keep`` requirement failed, anything else what was met.
        """
        exp = self.explanation
        if exp is None:
            return self.reason or ""
        if self.action in ("notice", "evict"):
            return exp.negate().missing(locale)
        if self.action == "spare":
            return exp.negate().summary(locale)
        if self.action == "demote":
            return exp.missing(locale)
        return exp.summary(locale)


class DecisionHead(NamedTuple):
    """A recorded decision without its explanation and words: what a kind asks of the
    decisions it made before (who was invited, when, how often) and a store can answer
    from its index columns, without reading each decision back whole (see
    ``Runtime.decided``)."""

    id: str
    policy: str
    action: str
    member: str | None
    group: str | None
    period: str
    at: datetime
    status: str

    @classmethod
    def of(cls, d: Decision) -> DecisionHead:
        """The head of a decision."""
        return cls(d.id, d.policy, d.action, d.member, d.group, d.period, d.at, d.status)
