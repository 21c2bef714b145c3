"""``groupops explain``: one member's requirement table, met or not, with reasons."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path

import click

from .._engine import Engine
from .._i18n import text
from .._model import Membership
from .._reports import ExplainReport, membership_status_text, policy_type_text
from ._common import (
    UserError,
    _at_option,
    _db_option,
    _emit_json,
    _load_book,
    _open_engine,
    _parse_at,
    _profiles,
    _rules_option,
    _who,
    command,
)
from ._labels import _t


def _explain_targets(
    engine: Engine, member: str, group: str | None, policy: str | None
) -> list[tuple[str, str]]:
    """The (group, policy) pairs to explain for a member."""
    book = engine.book
    memberships = [ms.group for ms in engine.store.memberships(member=member)]
    if group is not None:
        book.group(group)
    if policy is not None:
        p = book.policy(policy)
        if not p.group_ids():  # a member-wide policy (tier, handoff): any one group will do
            where = group or (memberships[0] if memberships else book.groups[0].id)
            return [(where, p.id)]
        groups = [group] if group is not None else [g for g in p.group_ids() if g in memberships]
        return [(g, p.id) for g in (groups or list(p.group_ids()[:1]))]
    pairs: list[tuple[str, str]] = []
    for g in [group] if group is not None else memberships:
        for p in book.policies:
            if g in p.group_ids():
                pairs.append((g, p.id))
    return pairs


def _membership_line(ms: Membership | None, locale: str, tz: tzinfo) -> str:
    if ms is None:
        return _t(locale, "explain_no_ms")
    status = membership_status_text(ms.status, locale)
    if ms.evicted_at is not None and ms.status == "evicted":
        status += " " + ms.evicted_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    joined = ms.joined_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return _t(locale, "explain_ms", role=ms.role, status=status, joined=joined)


def _render_explain(r: ExplainReport, who: str, ms: Membership | None, locale: str, tz: tzinfo) -> str:
    lines = [
        _t(
            locale,
            "explain_head",
            member=who,
            group=r.group,
            policy=r.policy,
            type=policy_type_text(r.policy_type, locale),
            at=r.at.isoformat(),
        ),
        "  " + _membership_line(ms, locale, tz),
    ]
    for s in r.sections:
        lines.append("  " + text("heading", locale, title=s.title_text(locale)))
        lines.append(s.explanation.render(locale, indent="  ").replace("\n", "\n    ").join(["    ", ""]))
    lines.extend("  " + text("explain_report.note", locale, note=n.text(locale)) for n in r.notes)
    return "\n".join(lines)


@command(short_help="Show one member's requirement table, met or not.")
@_db_option
@_rules_option
@click.option("--group", help="Only this group [default: every group the member is in].")
@click.option("--policy", help="Only this policy [default: every policy of those groups].")
@_at_option
@click.argument("member")
def explain(
    db: str,
    rules: Path,
    group: str | None,
    policy: str | None,
    at_text: str | None,
    member: str,
    as_json: bool,
    locale: str,
) -> None:
    """The requirement table for MEMBER: for each policy of each group they are in,
    every requirement, the observed value, and ✓ met or ✗ not.
    """
    book = _load_book(rules)
    at = _parse_at(at_text, book.tz)
    with _open_engine(book, db, must_exist=True, locale=locale, read_only=True) as engine:
        targets = _explain_targets(engine, member, group, policy)
        if not targets:
            if engine.store.get_member(member) is None and not engine.store.memberships(member=member):
                raise UserError(f"unknown member {member!r}")
            raise UserError(
                f"no policy in {str(rules)!r} covers a group that {member!r} is in; pass --policy"
            )
        reports = [(g, engine.explain(member, g, p, at)) for g, p in targets]
        memberships = {g: engine.store.get_membership(member, g) for g, _ in targets}
        names = _profiles(engine)
    if as_json:
        _emit_json(
            [
                {
                    **r.model_dump(mode="json"),
                    "notes": [{**n.model_dump(mode="json"), "text": n.text(locale)} for n in r.notes],
                    "sections": [
                        {
                            "kind": s.kind,
                            "title": s.title_text(locale),
                            "explanation": s.explanation.to_json(),
                            "text": s.explanation.render(locale),
                        }
                        for s in r.sections
                    ],
                    "membership": ms.model_dump(mode="json") if (ms := memberships[g]) is not None else None,
                }
                for g, r in reports
            ]
        )
        return
    who = _who(member, names)
    click.echo("\n\n".join(_render_explain(r, who, memberships[g], locale, book.tz) for g, r in reports))
