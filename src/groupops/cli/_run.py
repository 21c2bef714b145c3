"""``groupops run``: make the decisions due, record them, deliver their messages."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from .._messaging import terminal_safe
from .._reports import RunReport
from ..plugins._urls import sqlite_path
from ._common import (
    EXIT_INTERNAL,
    _at_option,
    _counts_text,
    _db_option,
    _decision_table,
    _echo_err,
    _emit_json,
    _load_book,
    _open_engine,
    _ordered,
    _parse_at,
    _profiles,
    _rules_option,
    command,
    decision_json,
)
from ._labels import _t


@command(short_help="Make the decisions due, record them, deliver messages.")
@_db_option
@_rules_option
@_at_option
@click.option(
    "--dry-run",
    is_flag=True,
    help="Decide and print, but record and deliver nothing (the database is opened read-only).",
)
@click.option(
    "--engine",
    "engine_name",
    type=click.Choice(["sqlite", "duckdb"]),
    default="sqlite",
    show_default=True,
    help="Where conditions are evaluated: the SQLite store itself, or its events copied into "
    "embedded DuckDB and every condition answered in one query (needs groupops[duckdb]).",
)
def run(
    db: str, rules: Path, at_text: str | None, dry_run: bool, engine_name: str, as_json: bool, locale: str
) -> None:
    """Make every decision due at --at, record it, deliver its messages, and print a
    table of the decisions with their reasons.

    Every trigger since the last run (scheduled times, events) is caught up in time order.
    Messages go through the plugins the rule book's groups name (the built-in console
    messenger writes them to stderr here, so stdout stays a clean table or JSON).
    --dry-run previews a period: nothing is recorded or delivered.
    """
    book = _load_book(rules)
    at = _parse_at(at_text, book.tz)
    if engine_name == "duckdb" and sqlite_path(db) is None:
        raise click.BadParameter(
            f"duckdb copies the events of a SQLite store; {db!r} is not one", param_hint="'--engine'"
        )
    facts = "duckdb" if engine_name == "duckdb" else "store"
    with _open_engine(book, db, must_exist=True, locale=locale, read_only=dry_run, facts=facts) as engine:
        report = engine.run(at, dry_run=dry_run)
        delivery = None
        if not dry_run:
            # the console messenger prints to stdout; keep stdout for the table / JSON
            with contextlib.redirect_stdout(sys.stderr):
                delivery = engine.deliver(at)
        names = _profiles(engine)
    counts = report.by_action()
    if as_json:
        _emit_json(
            {
                "at": report.at.isoformat(),
                "dry_run": dry_run,
                "revision": report.revision,
                "counts": dict(_ordered(counts)),
                "decisions": [decision_json(d, names, locale) for d in report.decisions],
                "delivery": None
                if delivery is None
                else {
                    "delivered": len(delivery.delivered),
                    "retrying": len(delivery.retrying),
                    "held": len(delivery.held),
                    "dead": len(delivery.dead),
                    "cancelled": len(delivery.cancelled),
                },
                "failures": [f.model_dump() for f in report.failures],
            }
        )
        _exit_on_failures(report, locale)
        return
    shown_at = report.at.strftime("%Y-%m-%d %H:%M %Z")
    if report.decisions:
        click.echo(_decision_table(report.decisions, names, locale, time_format="%Y-%m-%d %H:%M"))
        click.echo("")
    if dry_run:
        click.echo(_t(locale, "run_dry", at=shown_at, n=len(report.decisions)))
    elif not report.decisions:
        click.echo(_t(locale, "run_none", at=shown_at))
    else:
        click.echo(
            _t(locale, "run_done", at=shown_at, n=len(report.decisions), counts=_counts_text(counts, locale))
        )
    if delivery is not None and (delivery.delivered or delivery.retrying or delivery.held or delivery.dead):
        click.echo(
            _t(
                locale,
                "delivery",
                delivered=len(delivery.delivered),
                retrying=len(delivery.retrying),
                held=len(delivery.held),
                dead=len(delivery.dead),
            )
        )
    _exit_on_failures(report, locale)


def _exit_on_failures(report: RunReport, locale: str) -> None:
    """Name on stderr each plugin that failed during the run, and exit 1 if any did:
    everything else was recorded and delivered; the next run asks those plugins again."""
    for failure in report.failures:
        _echo_err(f"groupops: {_t(locale, 'internal')}: {terminal_safe(str(failure))}")
    if report.failures:
        click.get_current_context().exit(EXIT_INTERNAL)
