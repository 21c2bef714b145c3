"""The composition kind: each group's role mix against a target, and a decision when a
role's share drifts from its target (and when it is back).

Trigger: ``schedule`` (an RRULE; or a one-off ``at``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from ..._decision import Decision
from ..._i18n import messages, text
from ..._model import Membership
from ._registry import (
    GroupRef,
    Runtime,
    ScheduledKind,
    ScheduledPolicy,
    Verdict,
    catalogued_action,
    open_groups,
)

__all__ = [
    "BUCKETS",
    "DEFAULT_MIX",
    "KIND",
    "Composition",
    "CompositionKind",
    "RoleShare",
    "bucket_of",
    "mix_problems",
    "role_mix",
]

BUCKETS: tuple[str, ...] = ("guests", "lecturers", "kols", "active", "ordinary")
"""The role buckets of the mix (the HTML report's composition chart uses the same)."""

DEFAULT_MIX: Mapping[str, float] = {"guests": 4, "lecturers": 6, "kols": 8, "active": 10, "ordinary": 72}
"""The healthy group of the method: 4 % notable guests, 6 % lecturers, 8 % KOLs, 10 %
active members, and ordinary members the rest (the method's 70 % plus the 2 % its list
leaves out)."""

_STAFF = frozenset({"owner", "admin", "assistant"})
_BUCKET_OF = {"guest": "guests", "lecturer": "lecturers", "kol": "kols", "active": "active", "core": "active"}


def bucket_of(role: str) -> str | None:
    """The bucket of a membership role: None for staff (owner, admin, assistant), who
    are not counted; a role not named (``member``, ...) is ordinary."""
    if role in _STAFF:
        return None
    return _BUCKET_OF.get(role, "ordinary")


class Composition(ScheduledPolicy):
    """At each occurrence, compare each group's role mix with ``target`` (percentages per
    bucket, summing to 100; default the method's 4/6/8/10/72). A bucket whose share is
    more than ``tolerance`` percentage points away from its target gets one
    ``composition_off`` decision; when it is back within ``tolerance``, one
    ``composition_ok`` — once per change. Groups with fewer than ``min_members``
    counted members are not judged (a share of a handful of people means little)."""

    type: Literal["composition"] = "composition"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    target: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_MIX))
    tolerance: float = Field(default=5.0, gt=0, le=100)
    min_members: int = Field(default=20, ge=1)

    @field_validator("target")
    @classmethod
    def _sums_to_100(cls, value: dict[str, float]) -> dict[str, float]:
        problems = mix_problems(value)
        if problems:
            bucket, message = problems[0]
            raise ValueError(f"{bucket}: {message}" if bucket else message)
        return {b: float(value.get(b, 0.0)) for b in BUCKETS}


def mix_problems(mix: Mapping[str, object]) -> list[tuple[str, str]]:
    """What is wrong with a target mix, as ``(bucket, message)`` pairs (bucket ``""``
    for the mix as a whole): every bucket one of :data:`BUCKETS`, each share a finite
    number of at least 0, and, when those hold, the shares summing to 100 % (to 0.01).
    The composition kind's ``target`` and the report's ``target_mix`` are checked by it."""
    problems = [
        ("", f"{name!r} is not a role bucket (buckets: {', '.join(BUCKETS)})")
        for name in sorted(set(mix) - set(BUCKETS))
    ]
    for bucket, share in mix.items():
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share < math.inf:
            problems.append((bucket, f"{share!r} is not a percentage of at least 0"))
    if not problems:
        total = sum(float(v) for v in mix.values() if isinstance(v, int | float))  # all are, checked above
        if abs(total - 100.0) > 0.01:
            problems.append(("", f"{dict(mix)!r} sums to {total:g} %, not 100 %"))
    return problems


@dataclass(frozen=True)
class RoleShare:
    """One bucket of one group: members counted, their share (%) and the target (%)."""

    group: str
    bucket: str
    count: int
    share: float
    target: float

    @property
    def distance(self) -> float:
        """How far the share is from the target, in percentage points."""
        return abs(self.share - self.target)


def role_mix(group: str, memberships: Sequence[Membership], target: Mapping[str, float]) -> list[RoleShare]:
    """The group's mix of present members by bucket (staff left out), against ``target``."""
    counts = dict.fromkeys(BUCKETS, 0)
    for ms in memberships:
        bucket = bucket_of(ms.role) if ms.present else None
        if bucket is not None:
            counts[bucket] += 1
    total = sum(counts.values())
    return [
        RoleShare(group, b, counts[b], 100.0 * counts[b] / total if total else 0.0, float(target.get(b, 0.0)))
        for b in BUCKETS
    ]


class CompositionKind(ScheduledKind):
    """Scheduled: judge each group's mix; decide each bucket's change once."""

    name = "composition"
    model = Composition
    label: ClassVar[Mapping[str, str]] = messages("composition.label")
    actions = (
        catalogued_action("composition.composition_off", audience="operators"),
        catalogued_action("composition.composition_ok", audience="operators"),
    )
    placeholders = frozenset({"bucket", "share", "target", "tolerance"})

    def occurrence(
        self, policy: Composition, rt: Runtime, when: datetime, previous: datetime | None, at: datetime
    ) -> list[Decision]:
        made: list[Decision] = []
        for group in open_groups(rt, policy.groups):
            gid = group.id
            present = [ms for ms in rt.memberships(gid) if ms.joined_at <= when]
            mix = role_mix(gid, present, policy.target)
            if sum(r.count for r in mix) < policy.min_members:
                continue
            with rt.isolated(policy.id, None, when, group=gid):
                states = _states(rt, policy.id, gid)
                for r in mix:
                    off = r.distance > policy.tolerance
                    if off == states.get(r.bucket, False):
                        continue
                    action = "composition_off" if off else "composition_ok"
                    d = rt.decide_about(
                        policy.id, action, group=gid, period=f"{r.bucket}@{when.isoformat()}", at=when
                    )
                    values = {
                        "bucket": _bucket_word(r.bucket, rt.locale),
                        "share": f"{r.share:.0f}%",
                        "target": f"{r.target:.0f}%",
                        "tolerance": f"{policy.tolerance:g}",
                    }
                    recorded = rt.apply(Verdict(d, values=values))
                    if recorded is not None:
                        made.append(recorded)
        return made


def _bucket_word(bucket: str, locale: str) -> str:
    return text(f"composition.bucket.{bucket}", locale)


def _states(rt: Runtime, policy: str, group: str) -> dict[str, bool]:
    """Per bucket: whether the last decision said it is off target (none: on target)."""
    last: dict[str, Decision] = {}
    for d in rt.decisions(policy=policy, group=group):
        if d.action in ("composition_off", "composition_ok") and d.status == "applied":
            bucket = d.period.split("@", 1)[0]
            if bucket not in last or d.at > last[bucket].at:
                last[bucket] = d
    return {b: d.action == "composition_off" for b, d in last.items()}


KIND = CompositionKind()
