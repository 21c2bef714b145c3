"""The migrate kind: ask a dead group's members to reply, move those who do, close it.

Trigger: its ``start`` (the call) and the end of its ``window`` (invitations, then the
old group dissolved), in time order with every other trigger.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from ..._decision import Decision
from ..._errors import Problem
from ..._i18n import messages
from ..._model import Event, Group, Time
from ..._time import DurationField
from ._playbook import PlaybookKind
from ._registry import BookRefs, GroupRef, PolicyBase, Runtime, Verdict, catalogued_action
from .dissolve import dissolve_group, moved_invitation

__all__ = ["KIND", "Migrate", "MigrateKind", "repliers", "route_by_capacity"]

_CALL, _END = 0, 1


class Migrate(PolicyBase):
    """Move the members of ``from`` who want to go into ``to``, then dissolve ``from``.

    At ``start``: one post in ``from`` (``migrate_call``) asking members to reply
    ``reply`` within ``window``. At ``start + window``: an ``invite`` to ``to`` for each
    member whose ``message`` event in ``from`` says exactly ``reply`` (``data.text``,
    surrounding blanks ignored) at a time in ``[start, start + window]`` — a reply
    exactly at the window's end counts, one after it does not — then one ``dissolve`` of
    ``from``. ``to`` is a group, or a family: each invitation then goes to the family's
    first open group (by id) with room (present members plus invitations so far below
    its capacity), else to its least full one."""

    type: Literal["migrate"] = "migrate"
    from_: GroupRef = Field(alias="from")
    to: GroupRef
    start: Time
    window: DurationField
    reply: str = Field(default="1", min_length=1)
    replies: str = Field(default="message", min_length=1)

    own_moments: ClassVar[str] = "a migration is due at its 'start' and window's end"

    @model_validator(mode="after")
    def _elsewhere(self) -> Migrate:
        if self.to == self.from_:
            raise ValueError(f"to: {self.to!r} is the group members leave ('from')")
        return self

    def group_ids(self) -> tuple[str, ...]:
        return (self.from_,)


def repliers(events: Sequence[Event], reply: str) -> list[str]:
    """The members whose event's ``data.text`` is ``reply`` (blanks ignored), in the
    order of their first such reply."""
    found: dict[str, None] = {}
    for e in events:
        if str(e.data.get("text", "")).strip() == reply.strip():
            found.setdefault(e.member, None)
    return list(found)


def route_by_capacity(groups: Sequence[Group], sizes: Mapping[str, int]) -> str | None:
    """The group of ``groups`` (open ones, by id) the next member goes to: the first with
    room under its capacity, else the least full; None when there is none."""
    open_ = sorted((g for g in groups if g.status == "open"), key=lambda g: g.id)
    for g in open_:
        if g.capacity is None or sizes.get(g.id, 0) < g.capacity:
            return g.id
    if not open_:
        return None
    return min(open_, key=lambda g: (sizes.get(g.id, 0), g.id)).id


class MigrateKind(PlaybookKind):
    """The call at ``start``; invitations and the old group's dissolution at its end."""

    name = "migrate"
    model = Migrate
    label: ClassVar[Mapping[str, str]] = messages("migrate.label")
    actions = (catalogued_action("migrate.migrate_call", audience="group"),)
    placeholders = frozenset({"reply"})

    def book_problems(self, policy: Mapping[str, Any], path: str, book: BookRefs) -> list[Problem]:
        """``from`` names a group of the book; ``to`` a group or a family."""
        problems = [
            *super().book_problems(policy, path, book),
            *book.group(f"{path}.from", policy.get("from")),
        ]
        to = policy.get("to")
        if isinstance(to, str) and to not in book.families:
            problems += book.group(f"{path}.to", to)
        return problems

    def moments(self, policy: Migrate, rt: Runtime) -> list[tuple[datetime, int]]:
        return [(policy.start, _CALL), (policy.window.after(policy.start, rt.tz), _END)]

    def decide_moment(
        self, policy: Migrate, rt: Runtime, when: datetime, what: int, at: datetime
    ) -> list[Decision]:
        old = rt.group(policy.from_)
        if old is None or old.status != "open":
            return []
        if what == _CALL:
            with rt.isolated(policy.id, None, when, group=policy.from_):
                target_id = self._target_name(policy, rt)
                d = rt.decide_about(
                    policy.id,
                    "migrate_call",
                    group=policy.from_,
                    period="call",
                    at=when,
                    target_group=target_id,
                )
                deadline = policy.window.after(policy.start, rt.tz)
                recorded = rt.apply(Verdict(d, deadline=deadline, values={"reply": policy.reply}))
                return [recorded] if recorded is not None else []
            return []
        (events,) = rt.facts.group_events([policy.from_], [policy.replies], policy.start, when)
        made: list[Decision] = []
        family = [g for g in rt.groups() if g.family == policy.to] if rt.group(policy.to) is None else []
        sizes = {g.id: sum(1 for ms in rt.memberships(g.id) if ms.present) for g in family}
        for member in repliers(events, policy.reply):
            source = rt.membership(member, policy.from_)
            with rt.isolated(policy.id, source, when):
                if any(
                    d.status == "applied"
                    for d in rt.decisions(policy=policy.id, member=member, action="invite")
                ):
                    continue  # invited already (a retry of this moment)
                to = route_by_capacity(family, sizes) if family else policy.to
                if to is None:
                    continue  # a family with no open group: nothing to invite to
                target = rt.membership(member, to)
                if target is not None and target.present:
                    continue
                d = rt.decide_about(
                    policy.id, "invite", member=member, group=to, period="migrate", at=when, target_group=to
                )
                values = {"invitation": moved_invitation(old.display_name, rt.locale)}
                recorded = rt.apply(Verdict(d, target, None, about=source, values=values))
                if recorded is not None:
                    made.append(recorded)
                    sizes[to] = sizes.get(to, 0) + 1
        dissolved = dissolve_group(rt, policy.id, policy.from_, when)
        if dissolved is not None:
            made.append(dissolved)
        return made

    @staticmethod
    def _target_name(policy: Migrate, rt: Runtime) -> str | None:
        if rt.group(policy.to) is not None:
            return policy.to
        family = sorted(
            (g for g in rt.groups() if g.family == policy.to and g.status == "open"), key=lambda g: g.id
        )
        return family[0].id if family else None


KIND = MigrateKind()
