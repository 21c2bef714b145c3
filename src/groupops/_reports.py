"""What the engine hands back: ingest, run, delivery and explain reports."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ._decision import Decision
from ._i18n import text
from .rules._explain import Explanation

__all__ = [
    "CampaignReport",
    "DeliveryReport",
    "ExplainReport",
    "IngestReport",
    "Note",
    "PluginFailure",
    "Rejected",
    "RunReport",
    "Section",
    "StandingItem",
    "StandingReport",
    "Waiting",
]


class _Report(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)


class Rejected(_Report):
    """A record set aside, with why: ``index`` is its position in the batch (0-based)."""

    index: int
    record: Any
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"record {self.index}: " + "; ".join(self.problems)


class IngestReport(_Report):
    """What ``ingest`` did with a batch: accepted, duplicate and rejected records.

    ``unknown_groups`` are the groups stored events name that the rule book does not
    know (sorted; only ever filled by ``ingest(..., check_groups=False)``, since events
    naming them are otherwise rejected).
    """

    events: int = 0
    members: int = 0
    duplicates: tuple[str, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    unknown_groups: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing was rejected."""
        return not self.rejected

    def merge(self, other: IngestReport) -> IngestReport:
        """The report of two batches together (rejected indexes are kept as given)."""
        return IngestReport(
            events=self.events + other.events,
            members=self.members + other.members,
            duplicates=self.duplicates + other.duplicates,
            rejected=self.rejected + other.rejected,
            unknown_groups=tuple(sorted({*self.unknown_groups, *other.unknown_groups})),
        )


class PluginFailure(_Report):
    """A plugin that failed during a run: which plugin, in which hook, about what.

    A failing veto hook or metric affects only the member it was asked about: nothing
    is recorded for that member under that policy in this run, and the next run asks
    again. A failing observer is reported here too (``decision`` is the decision it was
    told about); the others are still told.
    """

    plugin: str
    hook: str
    error: str
    policy: str | None = None
    member: str | None = None
    group: str | None = None
    decision: str | None = None

    def __str__(self) -> str:
        about = ", ".join(
            f"{name} {value!r}"
            for name, value in (("policy", self.policy), ("member", self.member), ("group", self.group))
            if value is not None
        )
        return (
            f"plugin {self.plugin!r} failed in {self.hook}"
            + (f" ({about})" if about else "")
            + (f": {self.error}")
        )


class RunReport(_Report):
    """The decisions a run made, in the order it made them, and the plugins that failed
    (``failures``): the decisions those were asked about are retried by the next run."""

    at: AwareDatetime
    decisions: tuple[Decision, ...] = ()
    dry_run: bool = False
    revision: str = ""
    failures: tuple[PluginFailure, ...] = ()

    def by_action(self) -> dict[str, int]:
        """How many decisions of each action."""
        out: dict[str, int] = {}
        for d in self.decisions:
            out[d.action] = out.get(d.action, 0) + 1
        return out


class DeliveryReport(_Report):
    """What a delivery pass did, by idempotency key."""

    delivered: tuple[str, ...] = ()
    retrying: tuple[str, ...] = ()
    held: tuple[str, ...] = ()
    dead: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()


class CampaignReport(_Report):
    """How a ``campaign`` stands: the ``size`` of its segment at ``start``, how many of
    those ``reached`` the goal at ``at`` (its ``end``, or earlier while it runs:
    ``finished`` says which), the ``rate`` (None for an empty segment), the ``target``
    and whether it is ``met`` (None for an empty segment); the members, by id."""

    policy: str
    start: AwareDatetime
    end: AwareDatetime
    at: AwareDatetime
    finished: bool
    size: int
    reached: int
    rate: float | None
    target: float
    met: bool | None
    members: tuple[str, ...] = ()
    reached_members: tuple[str, ...] = ()

    def render(self, locale: str = "en") -> str:
        """A few lines an operator reads (any locale of the message catalogue)."""
        rate = "-" if self.rate is None else f"{self.rate:.1%}"
        met = text(
            {True: "campaign.met.yes", False: "campaign.met.no", None: "campaign.met.unknown"}[self.met],
            locale,
        )
        state = text("campaign.finished" if self.finished else "campaign.running", locale)
        return text(
            "campaign.report",
            locale,
            policy=self.policy,
            state=state,
            start=self.start.isoformat(),
            end=self.end.isoformat(),
            size=self.size,
            reached=self.reached,
            rate=rate,
            target=f"{self.target:.1%}",
            met=met,
        )


class Waiting(_Report):
    """Messages the outbox still has to deliver, of one messenger, action and status
    (``pending`` or ``held``): how many, when the first and the last of them are due
    (``next_at``), and the last reason one was held or failed (a quota or rate used up)."""

    messenger: str
    action: str
    status: Literal["pending", "held"]
    count: int
    first_at: AwareDatetime
    last_at: AwareDatetime
    reason: str | None = None


def policy_type_text(policy_type: str, locale: str = "en") -> str:
    """A policy type as a reader of ``locale`` says it (``revival`` → ``复活``); a type
    the catalogue does not name (a plugin's) as it is."""
    try:
        return text(f"policy_type.{policy_type}", locale)
    except KeyError:
        return policy_type


def membership_status_text(status: str, locale: str = "en") -> str:
    """A membership status as a reader of ``locale`` says it (``evicted`` → ``已移出``)."""
    try:
        return text(f"status.{status}", locale)
    except KeyError:
        return status


def _words(table: str, locale: str, kind: str, values: Mapping[str, str]) -> str:
    """The catalogue's ``<table>.<kind>`` filled from ``values``; a value given as
    ``<name>_<locale>`` stands in for ``<name>`` in that locale (a note's words worded
    per locale when it was made: the next step of a violation)."""
    own = {name: values.get(f"{name}_{locale}", value) for name, value in values.items()}
    return text(f"{table}.{kind}", locale, **own)


class Section(_Report):
    """One part of an explain report: a titled requirement tree.

    ``kind`` is one of ``stay``, ``exempt``, ``come_back``, ``invited``, ``promote``,
    ``keep``, ``by_deadline``, ``rewarded``, ``duty``; ``values`` fill its title (the group
    or role it names)."""

    kind: str
    explanation: Explanation
    values: dict[str, str] = Field(default_factory=dict)

    @property
    def title(self) -> str:
        """The title in English (``to stay``, ``to become core``...)."""
        return self.title_text("en")

    def title_text(self, locale: str = "en") -> str:
        """The title in ``locale`` (any locale of the message catalogue)."""
        return _words("section", locale, self.kind, self.values)


class Note(_Report):
    """A fact beside the requirement table (grace, the period's end, the revival window).

    ``kind`` is one of ``grace``, ``period``, ``off_ladder``, ``locked``, ``window``,
    ``revivals``, ``welcome``, ``offences``, ``limit``, ``within_limits``, ``refused``, ``top`` (the
    role is a ladder's top rung and a keep
    condition guards it), ``top_unguarded`` (top rung, nothing demotes it) or
    ``no_history`` (the store keeps no membership history that far back, so the current
    membership was used), ``points`` (the member's balance), ``rewarded`` (a referral
    reward already paid) or ``duty`` (duty periods met and missed in a row); ``values``
    fill its text."""

    kind: str
    values: dict[str, str] = Field(default_factory=dict)

    def text(self, locale: str = "en") -> str:
        """The note in ``locale`` (any locale of the message catalogue)."""
        return _words("note", locale, self.kind, self.values)

    def __str__(self) -> str:
        return self.text()


class ExplainReport(_Report):
    """The requirement table an operator sees for one member under one policy."""

    member: str
    group: str
    policy: str
    policy_type: str
    at: AwareDatetime
    sections: tuple[Section, ...] = ()
    notes: tuple[Note, ...] = Field(default=())

    def header(self, locale: str = "en") -> str:
        """The first line: who, where, under which policy, when."""
        kind = policy_type_text(self.policy_type, locale)
        values = {"member": self.member, "group": self.group, "policy": self.policy, "kind": kind}
        return text("explain_report.header", locale, **values, at=self.at.isoformat())

    def render(self, locale: str = "en") -> str:
        """Plain text: a header, each section's tree with ✓/✗, then notes."""
        lines = [self.header(locale)]
        for s in self.sections:
            lines.append(text("heading", locale, title=s.title_text(locale)))
            lines.append(s.explanation.render(locale, indent="  "))
        lines.extend(text("explain_report.note", locale, note=n.text(locale)) for n in self.notes)
        return "\n".join(lines)

    def to_json(self) -> str:
        """The report as JSON text."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False)


class StandingItem(_Report):
    """Where a member stands under one policy (in one group, or member-wide when
    ``group`` is None): what they meet and miss (``sections``) and the facts beside them
    (``notes``), as :meth:`Engine.explain` words them."""

    policy: str
    policy_type: str
    group: str | None = None
    sections: tuple[Section, ...] = ()
    notes: tuple[Note, ...] = ()


class StandingReport(_Report):
    """A member's standing at ``at``: every policy that concerns them, with what they meet
    and what they miss — progress toward the next tier, rung or paid group, and how far
    they are from a notice (see :meth:`Engine.standing`)."""

    member: str
    name: str = ""
    at: AwareDatetime
    items: tuple[StandingItem, ...] = ()

    def render(self, locale: str = "en") -> str:
        """The standing as the member reads it (in any locale of the message catalogue):
        each policy, each requirement ✓ met or ✗ not, and the notes."""
        who = self.name or self.member
        lines = [text("standing.head", locale, who=who, at=self.at.isoformat())]
        if not self.items:
            lines.append(text("standing.nothing", locale))
        for item in self.items:
            kind = policy_type_text(item.policy_type, locale)
            head = "standing.policy_in" if item.group else "standing.policy"
            lines.append("  " + text(head, locale, policy=item.policy, kind=kind, group=item.group or ""))
            for n in item.notes:
                lines.append(f"    {n.text(locale)}")
            for section in item.sections:
                lines.append("    " + text("heading", locale, title=section.title_text(locale)))
                tree = section.explanation.render(locale, indent="  ")
                lines.append("      " + tree.replace("\n", "\n      "))
        return "\n".join(lines)
