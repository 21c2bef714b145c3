"""What the engine hands back: ingest, run, delivery and explain reports."""

from __future__ import annotations

import json
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ._errors import Problem
from ._model import Decision
from .rules._explain import Explanation

__all__ = ["DeliveryReport", "ExplainReport", "IngestReport", "Rejected", "RunReport", "Section"]


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
    """What ``ingest`` did with a batch: accepted, duplicate and rejected records."""

    events: int = 0
    members: int = 0
    duplicates: tuple[str, ...] = ()
    rejected: tuple[Rejected, ...] = ()

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
        )


class RunReport(_Report):
    """The decisions a run made, in the order it made them."""

    at: AwareDatetime
    decisions: tuple[Decision, ...] = ()
    dry_run: bool = False
    revision: str = ""

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


class Section(_Report):
    """One part of an explain report: a titled requirement tree."""

    title: str
    explanation: Explanation


class ExplainReport(_Report):
    """The requirement table an operator sees for one member under one policy."""

    member: str
    group: str
    policy: str
    policy_type: str
    at: AwareDatetime
    sections: tuple[Section, ...] = ()
    notes: tuple[str, ...] = Field(default=())

    def render(self, locale: str = "en") -> str:
        """Plain text: a header, each section's tree with ✓/✗, then notes."""
        lines = [
            f"{self.member} in {self.group} — {self.policy} ({self.policy_type}) at {self.at.isoformat()}"
        ]
        for s in self.sections:
            lines.append(f"{s.title}:")
            lines.append(s.explanation.render(locale, indent="  "))
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def to_json(self) -> str:
        """The report as JSON text."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False)


def problem_strings(problems: list[Problem]) -> tuple[str, ...]:
    return tuple(str(p) for p in problems)
