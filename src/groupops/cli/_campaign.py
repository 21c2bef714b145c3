"""``groupops campaign``: how a campaign stands against its target."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import (
    _db_option,
    _emit_json,
    _load_book,
    _open_engine,
    _parse_at,
    _rules_option,
    command,
)


@command(short_help="Show a campaign's segment, goal reached, rate and target.")
@_db_option
@_rules_option
@click.option(
    "--at",
    "at_text",
    metavar="ISO-TIME",
    help="Judge the goal at this time if before the campaign's end, ISO 8601 [default: now].",
)
@click.argument("policy")
def campaign(db: str, rules: Path, at_text: str | None, policy: str, as_json: bool, locale: str) -> None:
    """How the campaign POLICY stands: the members in its segment at its start, how many
    reached its goal by its end (or by --at, while it runs), the rate, and whether it
    meets the target. Nothing is recorded.
    """
    book = _load_book(rules)
    at = _parse_at(at_text, book.tz)
    with _open_engine(book, db, must_exist=True, locale=locale, read_only=True) as engine:
        report = engine.campaign(policy, at)
    if as_json:
        _emit_json(report.model_dump(mode="json"))
        return
    click.echo(report.render(locale))
