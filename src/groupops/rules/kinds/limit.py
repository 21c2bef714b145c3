"""The limit kind: at most so many groups per member, per group kind and per family.

Trigger: ``on: joined`` (the default): each join is checked at its own time; a join
that breaks a limit gets one decision (``remove`` or ``refuse``) on that membership.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from ..._decision import Decision
from ..._i18n import messages, plural_form, text
from ..._model import Event, Group, GroupKind, Membership
from ..._reports import Note
from ._membership import REFUSE, REMOVE, joining, present_at, removed
from ._registry import GroupRef, Kind, PolicyBase, Runtime, Verdict

__all__ = ["KIND", "Limit", "LimitKind", "held_groups", "limit_breach"]


class Limit(PolicyBase):
    """At most ``max[kind]`` present memberships in open groups of each group kind, and
    at most ``per_family`` in the groups of any one family. A join that breaks either
    gets ``action`` (``remove``, or ``refuse``: the join is turned back) on the newest
    membership, the one just opened; the message names the groups already held.

    ``groups`` (optional) limits which joins are checked; by default every join in any
    group is. Leaving one group and then joining another is not a breach."""

    type: Literal["limit"] = "limit"
    max: dict[GroupKind, int] = Field(default_factory=dict)
    per_family: int | None = Field(default=None, ge=1)
    action: Literal["remove", "refuse"] = "remove"
    groups: tuple[GroupRef, ...] = ()

    default_on: ClassVar[tuple[str, ...]] = ("joined",)

    @model_validator(mode="after")
    def _something_limited(self) -> Limit:
        if not self.max and self.per_family is None:
            raise ValueError("give 'max' (per group kind) or 'per_family', or both")
        bad = [k for k, n in self.max.items() if n < 0]
        if bad:
            raise ValueError(f"max.{bad[0]}: {self.max[bad[0]]!r} is not a number of groups (0 or more)")
        return self


def limit_breach(policy: Limit, group: Group, held: Sequence[Group], locale: str = "en") -> str | None:
    """Why being in ``group`` as well as ``held`` (the other open groups the member is
    in) breaks ``policy``, in ``locale``; None when it does not."""
    sep = text("sep.list", locale)
    most = policy.max.get(group.kind)
    if most is not None:
        same = [g for g in held if g.kind == group.kind]
        if len(same) >= most:
            held_names = _names(same, sep)
            return text(f"limit.kind.{plural_form(most)}", locale, held=held_names, n=most, kind=group.kind)
    if policy.per_family is not None and group.family is not None:
        same = [g for g in held if g.family == group.family]
        if len(same) >= policy.per_family:
            n = policy.per_family
            held_names = _names(same, sep)
            return text(f"limit.family.{plural_form(n)}", locale, held=held_names, n=n, family=group.family)
    return None


def _names(groups: Sequence[Group], sep: str) -> str:
    return sep.join(g.display_name for g in groups) or "-"


def held_groups(rt: Runtime, member: str, when: datetime, *, before: Membership | None = None) -> list[Group]:
    """The open groups ``member`` was in at ``when``; with ``before``, only those joined
    before that membership (ties: by group id), so of two joins at one instant the
    second is the one over a limit."""
    held: list[Group] = []
    for g in rt.groups():
        if g.status != "open" or (before is not None and g.id == before.group):
            continue
        ms = rt.membership(member, g.id)
        if ms is None or not present_at(ms, when):
            continue
        if before is not None and (ms.joined_at, ms.group) > (before.joined_at, before.group):
            continue
        held.append(g)
    return held


def _present(rt: Runtime, member: str, when: datetime) -> list[tuple[Group, Membership]]:
    """The open groups ``member`` was in at ``when``, with the memberships."""
    found: list[tuple[Group, Membership]] = []
    for g in rt.groups():
        ms = rt.membership(member, g.id) if g.status == "open" else None
        if ms is not None and present_at(ms, when):
            found.append((g, ms))
    return found


def _order(held: tuple[Group, Membership]) -> tuple[datetime, str]:
    """Which of two joins is the newer: the later, and at one instant the one whose group
    id sorts last."""
    return held[1].joined_at, held[0].id


def _newest_over(
    policy: Limit, group: Group, present: list[tuple[Group, Membership]]
) -> tuple[Group, Membership] | None:
    """Of the memberships ``present`` (``group``'s among them), the newest over a limit
    that ``group``'s kind or family breaks, or None. Deciding on the newest, not on the
    join that triggered, makes two joins at one instant come out the same whichever is
    checked first, in one run or in two."""
    most = policy.max.get(group.kind)
    if most is not None:
        same = [gm for gm in present if gm[0].kind == group.kind]
        if len(same) > most:
            return max(same, key=_order)
    if policy.per_family is not None and group.family is not None:
        same = [gm for gm in present if gm[0].family == group.family]
        if len(same) > policy.per_family:
            return max(same, key=_order)
    return None


class LimitKind(Kind):
    """Checks each join against the member's other groups."""

    name = "limit"
    order = 40
    model = Limit
    label: ClassVar[Mapping[str, str]] = messages("policy_type.limit")
    actions = (REMOVE, REFUSE)
    placeholders = frozenset({"reason", "held"})

    def on_event(
        self, policy: Limit, event: Event, rt: Runtime, when: datetime, at: datetime
    ) -> list[Decision]:
        """Check the join ``event`` opened, at ``when``: over a limit, one decision on it."""
        joined = joining(event, policy.groups, rt, when)
        if joined is None:
            return []  # not the joining this event opened, or gone again before it
        group, ms = joined
        present = _present(rt, ms.member, when)
        newest = _newest_over(policy, group, present)
        if newest is None:
            return []
        over_group, over = newest  # the newest join over the limit: this one, or one at the same instant
        with rt.isolated(policy.id, over, when):
            held = [g for g, m in present if g.id != over_group.id and _order((g, m)) < _order(newest)]
            reason = limit_breach(policy, over_group, held, rt.locale)
            if reason is None:
                return []
            d = rt.decide(policy.id, policy.action, over, f"joined-{over.joined_at.isoformat()}", when, None)
            after = removed(over, when) if over.present else None
            values = {"reason": reason, "held": _names(held, text("sep.list", rt.locale))}
            recorded = rt.apply(Verdict(d, over, after, values=values))
            return [recorded] if recorded is not None else []
        return []

    def refuses(
        self,
        policy: Limit,
        rt: Runtime,
        member: str,
        group: Group,
        at: datetime,
        *,
        leaving: str | None = None,
    ) -> str | None:
        """Why joining ``group`` at ``at`` (leaving ``leaving``) would break the limit."""
        if policy.groups and group.id not in policy.groups:
            return None
        held = [g for g in held_groups(rt, member, at) if g.id not in (group.id, leaving)]
        return limit_breach(policy, group, held, rt.locale)

    def explain(
        self, policy: Limit, rt: Runtime, ms: Membership, at: datetime
    ) -> tuple[list[Any], list[Any]]:
        group = rt.group(ms.group)
        if group is None:
            return [], []
        held = held_groups(rt, ms.member, at, before=ms)
        reason = limit_breach(policy, group, held, rt.locale)
        if reason is None:
            return [], [Note(kind="within_limits")]
        return [], [Note(kind="limit", values={"reason": reason})]


KIND = LimitKind()
