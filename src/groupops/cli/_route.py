"""``groupops route``: the group of a family a newcomer should join."""

from __future__ import annotations

from pathlib import Path

import click

from .._groups import seed_groups
from .._messaging import terminal_safe
from ._common import (
    _at_option,
    _db_option,
    _emit_json,
    _load_book,
    _open_engine,
    _parse_at,
    _rules_option,
    command,
)
from ._labels import _t


@command(short_help="The group of a family a newcomer should join.")
@_db_option
@_rules_option
@click.option("--member", required=True, help="The newcomer's member id.")
@click.option("--family", required=True, help="The family (declared in the rule book) to route into.")
@_at_option
def route(
    db: str, rules: Path, member: str, family: str, at_text: str | None, as_json: bool, locale: str
) -> None:
    """Print the open group of --family with room that --member should join (the
    fullest first), and record nothing, unless every group is full: then the family's
    next group is opened once (through a plugin's groupops_create_group, else an operator
    task is queued) and the decision is recorded. A limit policy the member would break
    is named instead of a group.
    """
    book = _load_book(rules)
    at = _parse_at(at_text, book.tz)
    with _open_engine(book, db, must_exist=True, locale=locale) as engine:
        seed_groups(engine.store, book, at)  # the store's groups as the book declares them
        routing = engine.route(member, family, at)
    group = routing.group
    if as_json:
        _emit_json(
            {
                "member": routing.member,
                "family": routing.family,
                "group": None if group is None else {"id": group.id, "name": group.name},
                "reason": routing.reason,
                "decision": None if routing.decision is None else routing.decision.id,
                "task": routing.creation is not None and routing.creation.task is not None,
            }
        )
        return
    if group is not None:
        line = _t(locale, "route_to", member=member, group=group.id, name=group.display_name)
        click.echo(terminal_safe(line))
    if routing.reason:
        click.echo(terminal_safe(routing.reason))
