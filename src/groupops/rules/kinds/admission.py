"""The admission kind: invite qualifying members of the ``from`` groups into ``to``.

Trigger: each run (evaluated at the run's instant, to a fixed point).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from ..._decision import Decision, DecisionHead
from ..._errors import Problem
from ..._i18n import messages, text
from ..._model import PRESENT_STATUSES, Membership
from ..._reports import Note, Section
from ..._time import Duration, DurationField
from .._conditions import Condition, Scope
from .._evaluate import Context, evaluate, holds
from .._explain import Explanation
from ._registry import (
    BookRefs,
    GroupRef,
    Kind,
    PolicyBase,
    Runtime,
    StrategyContext,
    Verdict,
    catalogued_action,
    group_names,
)

__all__ = ["INVITE", "KIND", "Admission", "AdmissionKind", "admission_check", "invitation_phrase"]


class Admission(PolicyBase):
    """Invite members of the ``from`` groups who meet ``when`` into the paid group ``to``.

    An invitation stays open for ``expires``; a member who has not joined by then and
    still qualifies is invited again (a new decision with the next invitation number),
    up to ``max_invitations`` invitations in all (the first and its reminders).
    Leaves count all of the member's events unless they say ``scope: group``.
    """

    type: Literal["admission"] = "admission"
    from_: tuple[GroupRef, ...] = Field(alias="from", min_length=1)
    to: GroupRef
    when: Condition
    expires: DurationField = Duration(14, "d")
    max_invitations: int = Field(default=2, ge=1)
    default_scope: ClassVar[Scope] = "member"

    def group_ids(self) -> tuple[str, ...]:
        return self.from_


def admission_check(policy: Admission, ctx: Context) -> Explanation:
    """Whether the member qualifies for the paid group now (``when`` in ``ctx``)."""
    return evaluate(policy.when, ctx)


def invitation_phrase(number: int, of: int, locale: str = "en") -> str:
    """Which invitation this is, for the ``{invitation}`` placeholder: ``invitation 1 of
    2`` for the first, ``reminder 1 of 1`` for the next / ``第 2 次邀请，共 2 次``."""
    if number == 1:
        return text("admission.invitation.first", locale, number=number, of=of)
    return text(
        "admission.invitation.reminder", locale, number=number, of=of, reminder=number - 1, reminders=of - 1
    )


INVITE = catalogued_action(
    "invite",
    platform=True,
    tell_member=True,  # on a platform that cannot add them, the invitation still reaches them
)
"""The invitation into a group, with its words: what the ``admission`` and ``invite``
kinds send."""


class AdmissionKind(Kind):
    """At each run: invite members who qualify, again after ``expires``, at most
    ``max_invitations`` times."""

    name = "admission"
    order = 30
    model = Admission
    label: ClassVar[Mapping[str, str]] = messages("policy_type.admission")
    placeholders = frozenset({"invitation", "invitation.number", "invitation.max"})
    actions = (INVITE,)

    def book_problems(self, policy: Mapping[str, Any], path: str, book: BookRefs) -> list[Problem]:
        """``from`` and ``to`` name groups of the book, and ``to`` is not one of ``from``."""
        problems = book.group_list(f"{path}.from", policy.get("from"))
        to = policy.get("to")
        problems += book.group(f"{path}.to", to)
        if isinstance(to, str) and to in group_names(policy.get("from")):
            problems.append(Problem(f"{path}.to", f"{to!r} is also in 'from'"))
        return problems

    def decide(
        self, policy: Admission, rt: Runtime, at: datetime, members: set[str] | None
    ) -> list[Decision]:
        made: list[Decision] = []
        # what each candidate needs is asked once for all of them: their memberships in
        # the paid group, the policy's invitations, then the verdicts (see rt.holding)
        present = {ms.member for ms in rt.memberships(policy.to, members, status=PRESENT_STATUSES)}
        invited: dict[str, list[DecisionHead]] = {}
        if members is None:
            found = rt.decided(policy=policy.id, action="invite")
        else:  # a later round of the run: only the members decided on in the one before
            found = [
                d for m in sorted(members) for d in rt.decided(policy=policy.id, member=m, action="invite")
            ]
        for h in found:
            if h.status == "applied" and h.member is not None:
                invited.setdefault(h.member, []).append(h)
        candidates: list[Membership] = []
        seen: set[str] = set()
        for group in policy.from_:
            for ms in rt.memberships(group, members, status=PRESENT_STATUSES):
                if ms.member in seen:
                    continue
                seen.add(ms.member)
                if ms.member in present:
                    continue
                invites = invited.get(ms.member, [])
                if len(invites) >= policy.max_invitations:
                    continue  # invited as often as the policy allows
                if invites and at < policy.expires.after(max(h.at for h in invites), rt.tz):
                    continue  # an invitation is still open
                candidates.append(ms)
        verdicts = rt.holding(policy.when, candidates, at, default_scope=policy.default_scope)
        for ms, verdict in zip(candidates, verdicts, strict=True):
            with rt.isolated(policy.id, ms, at):
                if verdict is None:  # not answered in the batch: decided alone
                    verdict = holds(policy.when, rt.context(ms, at, default_scope=policy.default_scope))
                if not verdict:
                    continue
                if rt.refusal(ms.member, policy.to, at) is not None:
                    continue  # a limit would turn the member back: see explain
                ctx = rt.context(ms, at, default_scope=policy.default_scope)
                invites = invited.get(ms.member, [])
                d = Decision.make(
                    policy=policy.id,
                    action="invite",
                    member=ms.member,
                    group=policy.to,
                    period=f"invite-{len(invites) + 1}",
                    at=at,
                    explanation=admission_check(policy, ctx),
                    revision=rt.revision,
                    target_group=policy.to,
                )
                recorded = rt.apply(Verdict(d, rt.membership(ms.member, policy.to), None, about=ms))
                if recorded is not None:
                    made.append(recorded)
        return made

    def explain(
        self, policy: Admission, rt: Runtime, ms: Membership, at: datetime
    ) -> tuple[list[Any], list[Any]]:
        ctx = rt.context(ms, at, default_scope=policy.default_scope)
        invited = admission_check(policy, ctx)
        notes = []
        reason = rt.refusal(ms.member, policy.to, at)
        if reason is not None:
            notes.append(Note(kind="refused", values={"reason": reason}))
        return [Section(kind="invited", values={"group": policy.to}, explanation=invited)], notes

    def message_values(self, policy: Admission, decision: Decision, locale: str) -> dict[str, str]:
        if decision.action != "invite" or not decision.period.startswith("invite-"):
            return {}
        number = int(decision.period.removeprefix("invite-"))
        of = policy.max_invitations
        return {
            "invitation": invitation_phrase(number, of, locale),
            "invitation.number": str(number),
            "invitation.max": str(of),
        }

    def strategy(self, ctx: StrategyContext) -> Any:
        from hypothesis import strategies as st

        if len(ctx.groups) < 2:
            return None

        @st.composite
        def policies(draw: st.DrawFn) -> Admission:
            to = draw(st.sampled_from(ctx.groups))
            sources = draw(
                st.lists(
                    st.sampled_from([g for g in ctx.groups if g != to]), min_size=1, max_size=2, unique=True
                )
            )
            return Admission(
                id="admission",
                from_=tuple(sources),
                to=to,
                when=draw(ctx.good),
                expires=draw(ctx.durations(("h", "d", "w"), 20)),
            )

        return policies()


KIND = AdmissionKind()
