"""``groupops standing``: where one member stands under every policy."""

from __future__ import annotations

from pathlib import Path

import click

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


@command(short_help="Show where a member stands: what they meet and miss, policy by policy.")
@_db_option
@_rules_option
@_at_option
@click.argument("member")
def standing(db: str, rules: Path, at_text: str | None, member: str, as_json: bool, locale: str) -> None:
    """Where MEMBER stands: every policy that concerns them, with what they meet and what
    they miss — progress toward the next tier, rung or paid group, and how far they are
    from a notice — phrased for the member, in --locale. Nothing is recorded.
    """
    book = _load_book(rules)
    at = _parse_at(at_text, book.tz)
    with _open_engine(book, db, must_exist=True, locale=locale, read_only=True) as engine:
        report = engine.standing(member, at)
    if as_json:
        data = report.model_dump(mode="json")
        data["text"] = report.render(locale)
        _emit_json(data)
        return
    click.echo(report.render(locale))
