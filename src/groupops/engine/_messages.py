"""Message composition: the outbox messages of a decision."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .._groups import current_group
from .._messaging import can_carry_out
from .._model import (
    Decision,
    Member,
    Membership,
)
from .._outbox import OutboxMessage
from ..rules._templates import TASK_TEMPLATES, render_template
from ._base import EngineBase


class Composing(EngineBase):
    """Message composition: a decision's messages, rendered from its kind's templates."""

    def _message_context(
        self,
        d: Decision,
        ms: Membership,
        profiles: Mapping[str, Member],
        *,
        deadline: datetime | None = None,
    ) -> dict[str, str]:
        locale = self.book.locale
        member = profiles.get(d.member)
        # names as the store has them now: a group renamed by a decision shows its new name
        group = current_group(self.store, self.book.group(d.group))
        target = current_group(self.store, self.book.group(d.target_group)) if d.target_group else None
        return {
            "member.id": d.member,
            "member.name": (member.name if member and member.name else d.member),
            "group.id": group.id,
            "group.name": group.name or group.id,
            "target.id": target.id if target else "",
            "target.name": (target.name or target.id) if target else "",
            "policy": d.policy,
            "action": d.action,
            "period": d.period,
            "reasons": d.reasons(locale),
            "deadline": deadline.astimezone(self.book.tz).strftime("%Y-%m-%d %H:%M") if deadline else "",
            "role": ms.role,
            "at": d.at.astimezone(self.book.tz).strftime("%Y-%m-%d %H:%M"),
            **self._kind_values(d),
        }

    def _kind_values(self, d: Decision) -> dict[str, str]:
        """The placeholders the decision's kind adds (``{invitation}`` for an invitation)."""
        policy = self.book.policy(d.policy)
        return self._kind(policy).message_values(policy, d, self.book.locale)

    def _render(self, action: str, policy_id: str, context: Mapping[str, str]) -> str:
        policy = self.book.policy(policy_id)
        text = self.book.template(action, policy)
        if text is None:
            spec = self.kinds.action(action)
            text = (spec.template(self.book.locale) if spec else None) or TASK_TEMPLATES.get(
                self.book.locale, TASK_TEMPLATES["en"]
            )
        return render_template(text, context)

    def _messages_for(self, d: Decision, context: Mapping[str, str]) -> list[OutboxMessage]:
        group = self.book.group(d.group)
        name = group.messenger or self.default_messenger
        messenger = self.messengers.get(name)
        out: list[OutboxMessage] = []

        def message(action: str, recipient: str, via: str, text: str) -> OutboxMessage:
            return OutboxMessage(
                key=f"{d.id}:{action}:{recipient}",
                decision=d.id,
                messenger=via,
                action=action,
                member=d.member,
                group=d.group,
                recipient=recipient,
                text=text,
                created_at=d.at,
                next_at=d.at,
            )

        member_text = self._render(d.action, d.policy, context)
        spec = self.kinds.action(d.action)
        platform = spec.platform if spec is not None else None
        if messenger is not None and can_carry_out(messenger, d.action, platform=platform):
            out.append(message(d.action, d.member, name, member_text))
            return out
        # The platform cannot do this itself: tell the member what we can, and hand the
        # action to the group's operators as a task.
        if messenger is not None and can_carry_out(messenger, "message"):
            out.append(message("message", d.member, name, member_text))
        task_via = (
            name
            if messenger is not None and can_carry_out(messenger, "task")
            else next((n for n, m in self.messengers.items() if can_carry_out(m, "task")), name)
        )
        task_text = self._render("task", d.policy, context)
        for operator in self._operators(d.group):
            out.append(message("task", operator, task_via, task_text))
        return out

    def _operators(self, group: str) -> list[str]:
        g = self.book.group(group)
        if g.operators:
            return list(g.operators)
        owners = [ms.member for ms in self.store.memberships(group=group) if ms.role in ("owner", "admin")]
        return owners or ["operators"]
