"""``groupops check`` (validate a rule book) and ``groupops schema`` (its JSON Schema)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .._engine import Engine
from .._errors import Problem, RuleError
from ..rules._book import RuleBook, rule_book_schema
from ._common import _FILE, EXIT_USER, _echo_err, _emit_json, _load_book, command
from ._labels import _t


def _plugin_problems(book: RuleBook) -> list[Problem]:
    """Problems only an engine finds: metrics or messengers no installed plugin provides."""
    try:
        Engine(book, store="memory:").close()
    except RuleError as exc:
        return list(exc.problems)
    return []


@command(short_help="Validate a rule book; list every problem.")
@click.argument("rules", type=_FILE)
def check(rules: Path, as_json: bool, locale: str) -> None:
    """Validate the rule book RULES (YAML, JSON or TOML).

    Prints every problem, one per line, as 'path: message' (the path inside the book,
    like policies[1].when.any[0].within) and exits 2; prints a one-line summary and exits
    0 when the book is valid. Metrics and messengers the book names are checked against
    the installed plugins.
    """
    book: RuleBook | None = None
    try:
        book = _load_book(rules)
    except RuleError as exc:
        problems = list(exc.problems)
    else:
        problems = _plugin_problems(book)
    if as_json:
        _emit_json(
            {
                "ok": not problems,
                "file": str(rules),
                "problems": [{"path": p.path, "message": p.message} for p in problems],
                "revision": book.revision if book is not None and not problems else None,
                "groups": len(book.groups) if book is not None else None,
                "policies": len(book.policies) if book is not None else None,
            }
        )
    elif problems:
        for p in problems:
            click.echo(f"{p.path or rules}: {p.message}")
        _echo_err(_t(locale, "check_bad", file=rules, n=len(problems)))
    else:
        assert book is not None
        click.echo(
            _t(
                locale,
                "check_ok",
                file=rules,
                groups=len(book.groups),
                policies=len(book.policies),
                revision=book.revision,
            )
        )
    if problems:
        raise click.exceptions.Exit(EXIT_USER)


@command(short_help="Print the rule book's JSON Schema.")
def schema(as_json: bool, locale: str) -> None:
    """Print the rule book's JSON Schema (for editors: yaml-language-server, VS Code).

    The output is JSON with or without --json.
    """
    click.echo(json.dumps(rule_book_schema(), ensure_ascii=False, indent=2))
