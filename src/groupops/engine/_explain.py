"""Explain: a member under a policy at an instant, on the membership as it was then."""

from __future__ import annotations

from datetime import datetime

from .._errors import UnknownMemberError
from .._model import (
    LabelChange,
    Membership,
    MembershipChange,
)
from .._reports import (
    ExplainReport,
    Note,
)
from .._time import to_zone
from ._base import EngineBase
from ._runtime import _Runtime


def labels_then(history: list[LabelChange], at: datetime) -> tuple[str, ...] | None:
    """The labels a label history says were held at ``at`` (None: it does not say)."""
    held: tuple[str, ...] | None = None
    for change in history:
        if change.at > at:
            return held if held is not None else change.previous
        held = change.labels
    return held


class Explaining(EngineBase):
    """Explain: the requirement table for one member under one policy."""

    def label_history(self, member: str) -> list[LabelChange]:
        """Who had which labels when: every change of ``member``'s labels the store kept
        (by decisions, such as a ``tier`` move, or by the host through the store's
        ``record_labels``), oldest first."""
        return self.store.label_history(member)

    def labels_at(self, member: str, at: datetime) -> tuple[str, ...] | None:
        """The labels ``member`` held at ``at``, from the label history: those of the
        last change at or before ``at``, or those held just before the first change
        after it. None when the history says nothing of ``at`` (no change kept, or the
        labels before the first one are not known)."""
        return labels_then(self.store.label_history(member), to_zone(at, self.book.tz))

    def explain(self, member: str, group: str, policy: str, at: datetime) -> ExplainReport:
        """The requirement table for one member under one policy at ``at``: each
        requirement, the observed value, met or not, and the notes the policy's kind adds
        (a grace period, a period's end, a window), each in English or Chinese
        (:meth:`ExplainReport.render`).

        Events count up to ``at``, and the membership (role, status, join and other
        times) is the one in effect at ``at`` as the policy saw it then, read from the
        store's membership history: at the instant of a recorded decision, the report
        gives that decision's verdict. Where the store keeps no history that far back (a
        database older than the history), the current membership is used and a
        ``no_history`` note says so. Nothing is recorded."""
        at = to_zone(at, self.book.tz)
        if group not in self._known_groups():  # the book's groups and those the store keeps
            self.book.group(group)  # raises UnknownGroupError naming the book's
        p = self.book.policy(policy)
        ms, known = self._membership_then(member, group, p.id, at)
        profile = self.store.get_member(member)
        profiles = {member: profile} if profile is not None else {}
        rt = _Runtime(self, profiles)
        if ms is None and profile is None and not rt.facts.history(member).kinds():
            raise UnknownMemberError(member)
        if ms is None:
            ms = Membership(member=member, group=group, joined_at=at, status="left")
        notes: list[Note] = []
        if not known:
            notes.append(Note(kind="no_history", values={"at": at.isoformat()}))
        sections, kind_notes = self._kind(p).explain(p, rt, ms, at)
        notes += kind_notes
        return ExplainReport(
            member=member,
            group=group,
            policy=p.id,
            policy_type=p.type,
            at=at,
            sections=tuple(sections),
            notes=tuple(notes),
        )

    def _membership_then(
        self, member: str, group: str, policy: str, at: datetime
    ) -> tuple[Membership | None, bool]:
        """The membership as ``policy`` saw it at ``at``, and whether the store's history
        says so (False: the current membership stands in for a past it did not keep).

        In effect at ``at``: the last change before ``at``, or at ``at`` itself unless a
        decision of ``policy`` made it (a decision is explained on the membership it was
        made on). From the last recorded change on, the current membership holds."""
        current = self.store.get_membership(member, group)
        history = getattr(self.store, "membership_history", None)
        changes: list[MembershipChange] = history(member, group) if history is not None else []
        if not changes:
            return current, current is None
        if at >= changes[-1].at and not self._made_by(changes[-1], policy, at):
            return current, True
        then = [c for c in changes if c.at < at or (c.at == at and not self._made_by(c, policy, at))]
        if then:
            return then[-1].membership, True
        # before the first recorded change: not a member yet, unless the membership is
        # older than the history (a database that kept none before)
        first = changes[0]
        if first.decision is None and first.membership.joined_at >= first.at:
            return None, True
        return current, False

    def _made_by(self, change: MembershipChange, policy: str, at: datetime) -> bool:
        if change.decision is None or change.at != at:
            return False
        d = self.store.get_decision(change.decision)
        return d is not None and d.policy == policy
