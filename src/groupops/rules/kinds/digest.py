"""The digest kind: members' requests gathered into one post per group per occurrence.

Trigger: ``schedule`` (an RRULE; or a one-off ``at``). Each occurrence posts, in each
group, the requests of (previous occurrence, this one], grouped by type in time order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import ClassVar, Literal

from pydantic import Field

from ..._decision import Decision
from ..._i18n import messages, pick
from ..._model import Event
from ..._time import Duration, DurationField
from ._registry import GroupRef, Runtime, ScheduledKind, ScheduledPolicy, Verdict, catalogued_action

__all__ = ["KIND", "TYPE_LABELS", "Digest", "DigestKind", "digest_text"]

TYPE_LABELS: Mapping[str, Mapping[str, str]] = {
    "hiring": messages("digest.hiring"),
    "job_seeking": messages("digest.job_seeking"),
    "supplier": messages("digest.supplier"),
    "other": messages("digest.other"),
}
"""Headings of the request types the digest knows; another type is shown as written."""


class Digest(ScheduledPolicy):
    """Gather members' requests into one post per group at each occurrence.

    ``requests`` is the event kind of a request (default ``request``); its
    ``data.type`` (``hiring``, ``job_seeking``, ``supplier``, ...; missing: ``other``)
    heads its section and ``data.text`` is what is posted. Each occurrence posts in each
    of ``groups`` that group's requests of (previous occurrence, this one], by type, in
    time order; nothing on a day without requests. Requests of the ``everywhere`` types
    are also posted once in every other open group the store keeps (in that group's
    own digest, or a digest of their own in a group the policy does not name).

    A request ingested after its digest was posted (its time before that occurrence)
    goes into the next digest, if it is no older than ``late`` then (default ``1d``);
    each request is posted in a group at most once.
    """

    type: Literal["digest"] = "digest"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    requests: str = Field(default="request", min_length=1)
    everywhere: tuple[str, ...] = ()
    late: DurationField = Duration(1, "d")


def _name(rt: Runtime, member: str) -> str:
    profile = rt.profiles.get(member)
    return profile.name if profile is not None and profile.name else member


def digest_text(
    requests: list[Event], locale: str, *, names: Mapping[str, str], groups: Mapping[str, str], home: str
) -> str:
    """The body of a digest: one section per type (in order of first appearance), one
    line per request in time order: ``- name: text``, with ``(group)`` for a request
    from another group. ``names``/``groups``: display names by id."""
    sections: dict[str, list[str]] = {}
    for e in requests:
        kind = str(e.data.get("type") or "other")
        text = str(e.data.get("text") or "").strip()
        line = f"- {names.get(e.member, e.member)}"
        if e.group != home and e.group is not None:
            line += f" ({groups.get(e.group, e.group)})"
        sections.setdefault(kind, []).append(f"{line}: {text}" if text else line)
    out = []
    for kind, lines in sections.items():
        label = pick(TYPE_LABELS.get(kind, {}), locale) or kind
        out.append(f"{label} ({len(lines)})\n" + "\n".join(lines))
    return "\n".join(out)


class DigestKind(ScheduledKind):
    """Scheduled: one ``digest`` post per group with requests since the last one."""

    name = "digest"
    model = Digest
    label: ClassVar[Mapping[str, str]] = messages("digest.label")
    actions = (catalogued_action("digest.digest", label="digest.label", audience="group"),)
    placeholders = frozenset({"requests", "count"})

    @staticmethod
    def _posted_key(policy: Digest) -> str:
        return f"digest:{policy.id}:posted"

    def occurrence(
        self, policy: Digest, rt: Runtime, when: datetime, previous: datetime | None, at: datetime
    ) -> list[Decision]:
        """Post each group's digest at ``when``; remember which requests went where (in
        run state, in the run's transaction) for ``late`` so none is posted twice."""
        since = previous if previous is not None else policy.late.before(when, rt.tz)
        lookback = policy.late.before(since, rt.tz)
        raw = rt.get_state(self._posted_key(policy))
        posted: dict[str, dict[str, str]] = json.loads(raw) if raw else {}
        open_groups = {g.id: g for g in rt.groups() if g.status == "open"}
        own = dict(
            zip(
                policy.groups,
                rt.facts.group_events(policy.groups, [policy.requests], lookback, when),
                strict=True,
            )
        )
        shared = sorted(
            (
                e
                for events in own.values()
                for e in events
                if str(e.data.get("type") or "other") in policy.everywhere
            ),
            key=lambda e: (e.at, e.id),
        )
        names = {g.id: g.display_name for g in open_groups.values()}
        made: list[Decision] = []
        targets = list(dict.fromkeys([*policy.groups, *sorted(open_groups)]))
        for group in targets:
            if group not in open_groups:
                continue
            seen = posted.get(group, {})
            # (since, when], and any late arrival of the ``late`` before it not yet posted here
            mine = [e for e in own.get(group, []) if e.id not in seen]
            others = [e for e in shared if e.group != group and e.id not in seen]
            batch = sorted([*mine, *others], key=lambda e: (e.at, e.id))
            if not batch:
                continue
            with rt.isolated(policy.id, None, when, group=group):
                text = digest_text(
                    batch,
                    rt.locale,
                    names={e.member: _name(rt, e.member) for e in batch},
                    groups=names,
                    home=group,
                )
                d = rt.decide_about(policy.id, "digest", group=group, period=when.isoformat(), at=when)
                recorded = rt.apply(Verdict(d, values={"requests": text, "count": str(len(batch))}))
                if recorded is not None:
                    made.append(recorded)
                    seen = {**seen, **{e.id: e.at.isoformat() for e in batch}}
            posted[group] = seen
        horizon = policy.late.before(when, rt.tz) - timedelta(microseconds=1)
        kept = {
            g: {i: t for i, t in ids.items() if datetime.fromisoformat(t) > horizon}
            for g, ids in posted.items()
        }
        kept = {g: ids for g, ids in kept.items() if ids}
        text = json.dumps(kept, sort_keys=True)
        if text != (raw or "{}"):
            rt.set_state(self._posted_key(policy), text)
        return made


KIND = DigestKind()
