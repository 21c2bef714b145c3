"""The violation kind: warn, then remove, a member who breaks a group's rules again.

Trigger: ``on: violation`` (the default): each offence is answered at its own time (a
late run catches up, in time order). The n-th offence within ``window`` takes the n-th
of ``steps`` (the last step repeats); offences older than ``window`` no longer count.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from ..._decision import Decision
from ..._i18n import FALLBACK, locales, messages, text
from ..._model import Event, Membership
from ..._reports import Note
from ..._time import Duration, DurationField, to_zone
from .._conditions import Count, _Rule
from .._evaluate import evaluate
from .._explain import Explanation
from ._membership import REMOVE, present_at, removed
from ._registry import GroupRef, Kind, PolicyBase, Runtime, Verdict, catalogued_action

__all__ = ["KIND", "Penalty", "Violation", "ViolationKind", "offence_step"]

_ONE_TICK = timedelta(microseconds=1)

StepName = Literal["warn", "final_warn", "remove"]


class Penalty(_Rule):
    """A step that is a penalty: ``{penalty: fine, text: "请在群里发一个红包"}`` (the
    member is asked to do ``text``) or ``{penalty: mute, for: 1d}`` (muted for ``for``)."""

    penalty: Literal["fine", "mute"]
    text: str = ""
    for_: DurationField | None = Field(default=None, alias="for")

    @model_validator(mode="after")
    def _needs(self) -> Penalty:
        if self.penalty == "mute" and self.for_ is None:
            raise ValueError("a mute needs 'for': how long (e.g. 1d)")
        if self.penalty == "fine" and not self.text.strip():
            raise ValueError("a fine needs 'text': what the member is asked to do")
        if self.penalty == "fine" and self.for_ is not None:
            raise ValueError("'for' is how long a mute lasts; a fine has none")
        return self

    @property
    def action(self) -> str:
        return self.penalty


Step = StepName | Penalty


def _action(step: Step) -> str:
    return step if isinstance(step, str) else step.action


class Violation(PolicyBase):
    """Answer each offence (a ``violation`` event in one of ``groups``) with the next of
    ``steps``: the n-th offence within ``window`` (closed: an offence exactly ``window``
    old still counts) takes ``steps[n-1]``, the last step repeating beyond them.

    ``remove`` closes the membership with status ``removed`` (no revival reopens it).
    Offences of a member who is not in the group when they happen are not answered.
    """

    type: Literal["violation"] = "violation"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    window: DurationField = Duration(30, "d")
    steps: tuple[Step, ...] = Field(default=("warn", "final_warn", "remove"), min_length=1)

    default_on: ClassVar[tuple[str, ...]] = ("violation",)


def offence_step(policy: Violation, offence: int) -> Step:
    """The step the ``offence``-th offence (1 for the first) within the window takes."""
    return policy.steps[min(offence, len(policy.steps)) - 1]


def step_words(step: Step, locale: str) -> str:
    """What a step does, in ``locale`` (``removal from the group``, ``禁言 1d``)."""
    if isinstance(step, Penalty):
        values = {"text": step.text, "for": str(step.for_) if step.for_ else ""}
        return text(f"violation.next.{_action(step)}", locale, **values)
    return text(f"violation.next.{_action(step)}", locale)


class ViolationKind(Kind):
    """Escalates each offence within a window: warn, final warning, removal."""

    name = "violation"
    order = 30
    model = Violation
    label: ClassVar[Mapping[str, str]] = messages("policy_type.violation")
    placeholders = frozenset({"offence", "window", "next", "penalty", "until", "reason"})
    actions = (
        catalogued_action("violation.warn"),
        catalogued_action("violation.final_warn"),
        REMOVE,
        catalogued_action("violation.fine", platform=True),
        catalogued_action("violation.mute", platform=True),
    )

    def offences(self, policy: Violation, rt: Runtime, member: str, group: str, when: datetime) -> int:
        """Offences of ``member`` in ``group`` within the window before ``when`` (not the
        offences at ``when`` itself)."""
        start = policy.window.before(to_zone(when, rt.tz), rt.tz)
        kinds = policy.trigger_events()
        return sum(rt.facts.counts(kind, [(member, group)], start, when - _ONE_TICK)[0] for kind in kinds)

    def on_event(
        self, policy: Violation, event: Event, rt: Runtime, when: datetime, at: datetime
    ) -> list[Decision]:
        """Answer the offence ``event`` at ``when``: the n-th offence in the window takes
        the n-th step. Offences at one instant are counted in the order they are answered
        (the order they were ingested)."""
        if event.group is None or event.group not in policy.groups:
            return []
        group = rt.group(event.group)
        if group is not None and group.status != "open":
            return []  # a closed group: no policy decides on it any more
        ms = rt.membership(event.member, event.group)
        if ms is None or not present_at(ms, when):
            return []
        period = f"offence-{event.id}"
        with rt.isolated(policy.id, ms, when):
            same_instant = [
                d
                for d in rt.decisions(policy=policy.id, member=ms.member, group=ms.group)
                if d.at == when and d.period != period
            ]
            n = self.offences(policy, rt, ms.member, ms.group, when) + len(same_instant) + 1
            step = offence_step(policy, n)
            action = _action(step)
            exp = self._explanation(policy, rt, ms, when, n)
            d = rt.decide(policy.id, action, ms, period, when, exp)
            after = None
            values = {
                "offence": str(n),
                "window": str(policy.window),
                "next": step_words(offence_step(policy, n + 1), rt.locale),
                "penalty": step.text if isinstance(step, Penalty) else "",
                "until": "",
                "reason": text("violation.reason", rt.locale, offence=n, window=policy.window),
            }
            if action == "remove" and ms.present:
                after = removed(ms, when)
            if isinstance(step, Penalty) and step.for_ is not None:
                until = step.for_.after(to_zone(when, rt.tz), rt.tz)
                values["until"] = until.strftime("%Y-%m-%d %H:%M")
            recorded = rt.apply(Verdict(d, ms, after, values=values))
            return [recorded] if recorded is not None else []
        return []

    def _explanation(
        self, policy: Violation, rt: Runtime, ms: Membership, when: datetime, n: int
    ) -> Explanation:
        kind = policy.trigger_events()[0]
        ctx = rt.context(ms, when, default_scope="group")
        exp = evaluate(Count(count=kind, within=policy.window, at_least=1), ctx)
        return exp.model_copy(update={"observed": float(n), "passed": True})

    def explain(
        self, policy: Violation, rt: Runtime, ms: Membership, at: datetime
    ) -> tuple[list[Any], list[Any]]:
        n = self.offences(policy, rt, ms.member, ms.group, at + _ONE_TICK)
        step = offence_step(policy, n + 1)
        return [], [
            Note(
                kind="offences",
                values={
                    "count": str(n),
                    "window": str(policy.window),
                    "next": step_words(step, FALLBACK),
                    # each other locale's words beside (see Note.text)
                    **{f"next_{loc}": step_words(step, loc) for loc in locales() if loc != FALLBACK},
                },
            )
        ]


KIND = ViolationKind()
