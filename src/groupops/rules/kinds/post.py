"""The post kind: content posted in groups on a schedule, rotating through a list.

Trigger: ``schedule`` (an RRULE; or a one-off ``at``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from ..._decision import Decision
from ..._i18n import messages
from .._templates import check_template, render_template
from ._registry import (
    GroupRef,
    Runtime,
    ScheduledKind,
    ScheduledPolicy,
    Verdict,
    catalogued_action,
    open_groups,
)

__all__ = ["KIND", "Post", "PostKind", "post_text"]


class Post(ScheduledPolicy):
    """Post ``text`` in each of ``groups`` at each occurrence.

    ``text`` is a template: the usual group placeholders (``{group.name}``,
    ``{group.id}``, ``{at}``) and the keys of the ``content`` items. Each post in a group
    takes the next item of ``content`` (the first post the first item, and round again
    after the last), so a weekly sharing names this week's topic."""

    type: Literal["post"] = "post"
    groups: tuple[GroupRef, ...] = Field(min_length=1)
    text: str = Field(min_length=1)
    content: tuple[dict[str, str], ...] = ()

    @model_validator(mode="after")
    def _text_fits_content(self) -> Post:
        keys = frozenset(self.content[0]) if self.content else frozenset()
        for i, item in enumerate(self.content):
            if frozenset(item) != keys:
                raise ValueError(
                    f"content[{i}]: keys {sorted(item)!r} differ from content[0]'s {sorted(keys)!r}"
                )
        problems = check_template(self.text, keys)
        if problems:
            raise ValueError(f"text: {self.text!r}: {problems[0]}")
        return self


def post_text(policy: Post, number: int, values: Mapping[str, str]) -> str:
    """The text of the ``number``-th post (0 first) of ``policy`` in a group: ``text``
    with the rotating content item and ``values`` (group placeholders) filled in."""
    item = policy.content[number % len(policy.content)] if policy.content else {}
    return render_template(policy.text, {**values, **item})


class PostKind(ScheduledKind):
    """Scheduled: one ``scheduled_post`` per group per occurrence."""

    name = "post"
    model = Post
    label: ClassVar[Mapping[str, str]] = messages("post.label")
    actions = (catalogued_action("post.scheduled_post", audience="group"),)
    placeholders = frozenset({"post"})

    def occurrence(
        self, policy: Post, rt: Runtime, when: datetime, previous: datetime | None, at: datetime
    ) -> list[Decision]:
        made: list[Decision] = []
        for group in open_groups(rt, policy.groups):
            gid = group.id
            with rt.isolated(policy.id, None, when, group=gid):
                before = [
                    d
                    for d in rt.decisions(policy=policy.id, group=gid, action="scheduled_post")
                    if d.status == "applied" and d.at < when
                ]
                values = {
                    "group.id": group.id,
                    "group.name": group.display_name,
                    "at": when.astimezone(rt.tz).strftime("%Y-%m-%d %H:%M"),
                    "policy": policy.id,
                }
                text = post_text(policy, len(before), values)
                d = rt.decide_about(policy.id, "scheduled_post", group=gid, period=when.isoformat(), at=when)
                recorded = rt.apply(Verdict(d, values={"post": text}))
                if recorded is not None:
                    made.append(recorded)
        return made


KIND = PostKind()
