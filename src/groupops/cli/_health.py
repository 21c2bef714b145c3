"""``groupops health``: each group's health as the store has it."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from .._health import health_table
from .._messaging import terminal_safe
from .._time import parse_duration
from ..plugins._store import Store
from ..plugins._urls import sqlite_path
from ..plugins.sqlite import SQLiteStore
from ..rules._book import RuleBook
from ._common import (
    UserError,
    _db_option,
    _listed_plainly,
    _load_book,
    _open_engine,
    _optional_rules_option,
    _parse_at,
    _table,
    command,
)
from ._labels import _t


def _open_store(db: str, book: RuleBook | None, locale: str) -> Store:
    """The store, read-only: a SQLite file that must exist, else a plugin's store opened
    with the book."""
    path = sqlite_path(db)
    if path is not None and not Path(path).exists():
        raise UserError(_t(locale, "no_db", db=db))
    if book is not None:
        return _open_engine(book, db, must_exist=True, locale=locale, read_only=True).store
    if path is not None:
        return SQLiteStore(path, read_only=True)
    raise UserError(_t(locale, "groups_need_rules", db=db))


def default_at(store: Store, at: str | None, book: RuleBook | None) -> datetime:
    """``--at``, else the last run's instant, else the latest event, else now."""
    tz = book.tz if book is not None else UTC
    if at is not None:
        return _parse_at(at, tz)
    last_run = store.get_state("last_run_at")
    if last_run is not None:
        return datetime.fromisoformat(last_run).astimezone(tz)
    latest = max((e.at for _, e in store.events_after(0)), default=None)
    return latest.astimezone(tz) if latest is not None else _parse_at(None, tz)


def health_rows(store: Store, at: datetime, book: RuleBook | None) -> list[dict[str, Any]]:
    """The health table as plain rows (JSON values)."""
    rows = []
    for h in health_table(store, at, book=book):
        wait = h.median_answer.total_seconds() / 60 if h.median_answer is not None else None
        rows.append(
            {
                "group": h.group,
                "name": h.name,
                "status": h.status,
                "state": h.state,
                "members": h.members,
                "messages": h.messages,
                "speakers": h.speakers,
                "share": round(h.share, 4),
                "topics": h.topics,
                "questions": h.questions,
                "answered": h.answered,
                "median_answer_minutes": round(wait, 1) if wait is not None else None,
                "days_since": None if math.isinf(h.days_since) else round(h.days_since, 1),
                "score": h.score,
                "trend": h.trend,
                "window": h.window,
                "at": h.at.isoformat(),
            }
        )
    return rows


@command(short_help="Show each group's health: speakers, topics, answers, score, trend.")
@_db_option
@_optional_rules_option(
    "The rule book: its first health policy gives the window, the kinds and the dormant/dead rules."
)
@click.option("--at", "at_text", metavar="ISO-TIME", help="Measure at this time [default: the last run].")
def health(db: str, rules: Path | None, at_text: str | None, as_json: bool, locale: str) -> None:
    """Every group the store keeps, measured over the window ending at --at (default:
    the last run, else the latest event): state (active, dormant, dead by the book's
    health policy; active without one), members, speakers and their share, distinct
    topics, questions answered, the median time to answer, days since the last message,
    the score (0-100) and its trend against the window before. Read-only.
    """
    book = _load_book(rules) if rules is not None else None
    store = _open_store(db, book, locale)
    try:
        at = default_at(store, at_text, book)
        rows = health_rows(store, at, book)
    finally:
        store.close()
    if _listed_plainly(rows, as_json, _t(locale, "groups_none", db=db)):
        return
    columns = (
        "group",
        "state",
        "members",
        "speakers",
        "topics",
        "answered",
        "median",
        "days",
        "score",
        "trend",
    )
    headers = [_t(locale, f"health_{c}") for c in columns]
    body = []
    for r in rows:
        wait = r["median_answer_minutes"]
        body.append(
            [
                r["group"],
                _t(locale, f"state_{r['state']}") if r["status"] == "open" else _t(locale, r["status"]),
                str(r["members"]),
                f"{r['speakers']} ({r['share'] * 100:.0f}%)",
                str(r["topics"]),
                f"{r['answered']}/{r['questions']}",
                f"{wait:.0f}m" if wait is not None else "-",
                f"{r['days_since']:.0f}" if r["days_since"] is not None else "-",
                str(r["score"]),
                f"{r['trend']:+d}",
            ]
        )
    window = parse_duration(rows[0]["window"]).describe(locale)
    click.echo(_t(locale, "health_as_of", at=at.strftime("%Y-%m-%d %H:%M"), window=window))
    click.echo(_table(headers, [[terminal_safe(c) for c in row] for row in body], right=list(range(2, 10))))
