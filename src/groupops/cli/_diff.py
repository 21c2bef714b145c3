"""``groupops diff``: the decisions two rule books make differently on the same data."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import click

from .._decision import Decision
from ..rules._book import RuleBook
from ._common import (
    _FILE,
    _at_option,
    _counts_text,
    _db_option,
    _decision_table,
    _emit_json,
    _load_book,
    _open_engine,
    _ordered,
    _parse_at,
    _profiles,
    command,
    decision_json,
)
from ._labels import _t


def _preview(book: RuleBook, db: str, at: datetime, locale: str) -> list[Decision]:
    with _open_engine(book, db, must_exist=True, locale=locale, read_only=True) as engine:
        return list(engine.run(at, dry_run=True).decisions)


def _key(d: Decision) -> tuple[str, str | None, str | None]:
    return (d.action, d.member, d.group)


@command(short_help="Compare the decisions of two rule books on the same data.")
@_db_option
@_at_option
@click.argument("old", type=_FILE)
@click.argument("new", type=_FILE)
def diff(db: str, at_text: str | None, old: Path, new: Path, as_json: bool, locale: str) -> None:
    """Before a rule change goes live: who would be invited, noticed, evicted, spared,
    revived, promoted or demoted under NEW and not under OLD, and the reverse.

    Both books are run at the same --at against the same data, as dry runs: nothing is
    recorded. Decisions are matched by (action, member, group), so renamed policies
    still match. Prints both directions with reasons and counts.
    """
    old_book, new_book = _load_book(old), _load_book(new)
    at = _parse_at(at_text, new_book.tz)
    before = _preview(old_book, db, at, locale)
    after = _preview(new_book, db, at, locale)
    old_keys, new_keys = {_key(d) for d in before}, {_key(d) for d in after}
    only_new = [d for d in after if _key(d) not in old_keys]
    only_old = [d for d in before if _key(d) not in new_keys]
    same = len(old_keys & new_keys)
    with _open_engine(new_book, db, must_exist=True, locale=locale, read_only=True) as engine:
        names = _profiles(engine)
    new_counts = dict(_ordered(Counter(d.action for d in only_new)))
    old_counts = dict(_ordered(Counter(d.action for d in only_old)))
    if as_json:
        _emit_json(
            {
                "at": at.isoformat(),
                "old": str(old),
                "new": str(new),
                "only_new": [decision_json(d, names, locale) for d in only_new],
                "only_old": [decision_json(d, names, locale) for d in only_old],
                "counts": {"only_new": new_counts, "only_old": old_counts, "same": same},
            }
        )
        return
    for key, book_path, decisions, counts in (
        ("diff_only_new", new, only_new, new_counts),
        ("diff_only_old", old, only_old, old_counts),
    ):
        click.echo(_t(locale, key, book=book_path, n=len(decisions), counts=_counts_text(counts, locale)))
        if decisions:
            table = _decision_table(decisions, names, locale, time_format="%Y-%m-%d %H:%M")
            click.echo("\n".join("  " + line for line in table.splitlines()))
        click.echo("")
    click.echo(_t(locale, "diff_same", n=same))
