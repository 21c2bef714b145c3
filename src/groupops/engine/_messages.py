"""Message composition: the outbox messages of a decision."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from .._decision import Decision
from .._groups import current_group
from .._i18n import pick
from .._messaging import can_carry_out
from .._model import Group, Member, Membership
from .._outbox import Audience, OutboxMessage
from ..rules._templates import GROUP_TASK_TEMPLATES, TASK_TEMPLATES, render_template
from ..rules.kinds import ActionSpec
from ._base import EngineBase


class Composing(EngineBase):
    """Message composition: a decision's messages, rendered from its kind's templates,
    addressed to its member, its group (a post) or the group's operators."""

    def _group_now(self, group_id: str | None) -> Group | None:
        """A group as the store keeps it now (a renamed group shows its new name), else
        as the book declares it; None for no group."""
        if group_id is None:
            return None
        found = self.store.get_group(group_id) if hasattr(self.store, "get_group") else None
        if found is not None:
            return found
        return current_group(self.store, self.book.group(group_id))

    def _message_context(
        self,
        d: Decision,
        ms: Membership | None,
        profiles: Mapping[str, Member],
        *,
        deadline: datetime | None = None,
    ) -> dict[str, object]:
        """The values of a decision's placeholders (``{member.name}``, ``{reasons}``...);
        a value may be a function of no arguments, called when a template names it."""
        locale = self.book.locale
        member = profiles.get(d.member) if d.member is not None else None
        group = self._group_now(d.group)
        target = self._group_now(d.target_group)
        return {
            "member.id": d.member or "",
            "member.name": (member.name if member and member.name else d.member or ""),
            "group.id": group.id if group else "",
            "group.name": (group.name or group.id) if group else "",
            "target.id": target.id if target else "",
            "target.name": (target.name or target.id) if target else "",
            "policy": d.policy,
            "action": d.action,
            "period": d.period,
            # worded only where a template names it (an invitation's does not)
            "reasons": partial(d.reasons, locale),
            "deadline": deadline.astimezone(self.book.tz).strftime("%Y-%m-%d %H:%M") if deadline else "",
            "role": ms.role if ms is not None else "",
            "at": d.at.astimezone(self.book.tz).strftime("%Y-%m-%d %H:%M"),
            **self._kind_values(d),
        }

    def _kind_values(self, d: Decision) -> dict[str, str]:
        """The placeholders the decision's kind adds (``{invitation}`` for an invitation)."""
        policy = self.book.policy(d.policy)
        return self._kind(policy).message_values(policy, d, self.book.locale)

    def _action_spec(self, policy: Any, action: str) -> ActionSpec | None:
        """The action as the deciding policy's kind declares it (two kinds may each
        declare an action of one name, with their own words), else as the first kind
        that declares it does (``task``, an action of another kind)."""
        return self._kind(policy).action(action) or self.kinds.action(action)

    def _render(
        self,
        action: str,
        policy_id: str,
        context: Mapping[str, object],
        fallback: Mapping[str, str] = TASK_TEMPLATES,
    ) -> str:
        policy = self.book.policy(policy_id)
        text = None if action in policy.templates else self._kind(policy).policy_template(policy, action)
        if text is None:
            text = self.book.template(action, policy)
        if text is None:
            spec = self._action_spec(policy, action)
            text = (
                (spec.template(self.book.locale) if spec else None) or pick(fallback, self.book.locale) or ""
            )
        return render_template(text, context)

    def _messages_for(
        self, d: Decision, context: Mapping[str, object], *, recipients: tuple[str, ...] | None = None
    ) -> list[OutboxMessage]:
        """The decision's messages: to its audience through the group's messenger (the
        default messenger for a member in no group) when that messenger can carry the
        action out; otherwise, the text the member may still be told, and one task per
        operator of the group. ``recipients`` replace the group's operators (a handoff
        goes to its salesperson)."""
        group = self._group_now(d.group)
        name = (group.messenger if group is not None else None) or self.default_messenger
        messenger = self.messengers.get(name)
        spec = self._action_spec(self.book.policy(d.policy), d.action)
        audience: Audience = spec.audience if spec is not None else "member"
        if audience == "member" and d.member is None:
            audience = "group"  # a member action about a group alone is posted in it
        if audience == "group" and d.group is None:
            audience = "member"
        platform = spec.platform if spec is not None else None
        out: list[OutboxMessage] = []

        def message(action: str, recipient: str, via: str, text: str, to: Audience) -> OutboxMessage:
            return OutboxMessage(
                key=f"{d.id}:{action}:{recipient}",
                decision=d.id,
                messenger=via,
                action=action,
                member=d.member,
                group=d.group,
                recipient=recipient,
                audience=to,
                text=text,
                created_at=d.at,
                next_at=d.at,
            )

        text = self._render(d.action, d.policy, context)

        # the operators only where a message goes to them: finding them reads every
        # membership of the group, once per decision
        def operators() -> list[str]:
            return list(recipients) if recipients else self._operators(d.group)

        if messenger is not None and can_carry_out(messenger, d.action, platform=platform, audience=audience):
            if audience == "operators":
                return [message(d.action, op, name, text, "operators") for op in operators()]
            recipient = d.member if audience == "member" else d.group
            assert recipient is not None
            return [message(d.action, recipient, name, text, audience)]
        # The platform cannot do this itself: the group's operators get it as a task. The
        # member is sent the text as a plain message only where the action says so (an
        # invitation), never "you have been removed" before anyone removed them.
        if (
            spec is not None
            and spec.tell_member
            and audience == "member"
            and d.member is not None
            and messenger is not None
            and can_carry_out(messenger, "message")
        ):
            out.append(message("message", d.member, name, text, "member"))
        task_via = (
            name
            if messenger is not None and can_carry_out(messenger, "task", audience="operators")
            else next(
                (n for n, m in self.messengers.items() if can_carry_out(m, "task", audience="operators")),
                name,
            )
        )
        task_context = {**context, "text": text}
        fallback = GROUP_TASK_TEMPLATES if d.member is None else TASK_TEMPLATES
        task_text = self._render("task", d.policy, task_context, fallback)
        for operator in operators():
            out.append(message("task", operator, task_via, task_text, "operators"))
        return out

    def _operators(self, group: str | None) -> list[str]:
        g = self._group_now(group)
        if g is None:
            return ["operators"]
        if g.operators:
            return list(g.operators)
        owners = [ms.member for ms in self.store.memberships(group=g.id) if ms.role in ("owner", "admin")]
        return owners or ["operators"]
