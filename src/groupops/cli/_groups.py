"""``groupops groups``: the groups in the store with their state."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import tzinfo
from pathlib import Path
from typing import Any

import click

from .._health import health_table, open_playbooks
from .._messaging import terminal_safe
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
from ._health import default_at
from ._labels import _t


class _Discard(Exception):
    """Raised to roll back a transaction whose writes were only to look at."""


def _group_rows(store: Store, tz: tzinfo | None, book: RuleBook | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    at = default_at(store, None, book)
    measured = {h.group: h for h in health_table(store, at, book=book)}
    decisions = store.decisions()
    for g in store.groups():
        present = sum(1 for ms in store.memberships(group=g.id) if ms.present)
        end = g.term.end(tz) if g.term is not None else None
        ends_at = g.ends_at
        if tz is not None:  # shown in the book's zone; else in the offset each was written with
            end = end.astimezone(tz) if end is not None else None
            ends_at = ends_at.astimezone(tz) if ends_at is not None else None
        rows.append(
            {
                "id": g.id,
                "name": g.name,
                "kind": g.kind,
                "family": g.family,
                "status": g.status,
                "present": present,
                "capacity": g.capacity,
                "term_end": end,
                "ends_at": ends_at,
                "score": measured[g.id].score,
                "state": measured[g.id].state,
                "measured_at": at.isoformat(),
                "playbooks": open_playbooks(g.id, decisions, book),
            }
        )
    return rows


@command(short_help="List the groups in the store with their state.")
@_db_option
@_optional_rules_option(
    "The rule book: its groups are shown as the next run will seed them (nothing is "
    "written), term ends in its time zone."
)
def groups(db: str, rules: Path | None, as_json: bool, locale: str) -> None:
    """Every group the store keeps (seeded from the rule book, or created at run time):
    id, name, kind, family, status (open, closed, dissolved), present members /
    capacity, its health (score and state at the last run, as ``groupops health``
    shows), its open playbooks (repurpose, migrate or dissolve policies under way) and
    when its term ends. The database is opened read-only.
    """
    from .._groups import seed_groups

    book = _load_book(rules) if rules is not None else None
    path = sqlite_path(db)
    if path is not None and not Path(path).exists():
        raise UserError(_t(locale, "no_db", db=db))
    store: Store
    if book is not None:
        store = _open_engine(book, db, must_exist=True, locale=locale, read_only=True).store
    elif path is not None:
        store = SQLiteStore(path, read_only=True)
    else:
        raise UserError(_t(locale, "groups_need_rules", db=db))
    rows: list[dict[str, Any]] = []
    try:
        with contextlib.suppress(_Discard), store.transaction():
            if book is not None:
                # what the next run would seed, rolled back: never written (a SQLite file
                # is open read-only anyway; a plugin's store may not be)
                seed_groups(store, book, _parse_at(None, book.tz))
            rows = _group_rows(store, book.tz if book is not None else None, book)
            raise _Discard
    finally:
        store.close()
    if _listed_plainly(rows, as_json, _t(locale, "groups_none", db=db)):
        return

    def members(r: Mapping[str, Any]) -> str:
        return f"{r['present']}/{r['capacity']}" if r["capacity"] is not None else str(r["present"])

    def when(r: Mapping[str, Any]) -> str:
        end = r["term_end"] or r["ends_at"]
        return end.strftime("%Y-%m-%d %H:%M") if end is not None else ""

    def score(r: Mapping[str, Any]) -> str:
        if r["status"] != "open":
            return ""
        return f"{r['score']} {_t(locale, 'state_' + r['state'])}"

    columns = ("id", "name", "kind", "family", "status", "members", "score", "playbooks", "term_end")
    headers = [_t(locale, f"col_{c}") for c in columns]
    body = [
        [
            r["id"],
            r["name"],
            r["kind"],
            r["family"] or "",
            _t(locale, r["status"]),
            members(r),
            score(r),
            ", ".join(r["playbooks"]),
            when(r),
        ]
        for r in rows
    ]
    click.echo(_table(headers, [[terminal_safe(c) for c in row] for row in body], right=[5]))
