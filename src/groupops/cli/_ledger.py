"""``groupops points``: members' points balances, or one member's ledger."""

from __future__ import annotations

from typing import Any

import click

from .._model import LedgerEntry
from ..engine._world import entries_of
from ..rules._explain import _num
from ._common import _db_option, _emit_json, _listed_plainly, _read_only_sqlite, _table, command
from ._labels import _t


@command(short_help="Points balances, or one member's ledger.")
@_db_option
@click.option("--member", help="Show this member's ledger: every entry with its cause.")
def points(db: str, member: str | None, as_json: bool, locale: str) -> None:
    """Every member's points balance (the sum of their ledger entries), highest first;
    with --member, that member's entries (time, points, earned or redeemed, the event
    or decision that caused it, the policy) and balance. The database is opened
    read-only."""
    store = _read_only_sqlite(db, locale)
    try:
        entries = entries_of(store, member=member)
    finally:
        store.close()
    if member is not None:
        balance = sum(e.points for e in entries)
        if as_json:
            _emit_json(
                {
                    "member": member,
                    "balance": balance,
                    "entries": [e.model_dump(mode="json") for e in entries],
                }
            )
            return
        if not entries:
            click.echo(_t(locale, "ledger_member_none", member=member, db=db))
            return
        headers = [_t(locale, f"col_{c}") for c in ("at", "change", "entry_kind", "cause", "policy")]
        earned, redeemed = _t(locale, "earn"), _t(locale, "redeem_entry")
        body = [_entry_row(e, earned, redeemed) for e in entries]
        click.echo(_table(headers, body, right=[1]))
        click.echo(_t(locale, "ledger_balance", member=member, balance=_num(balance)))
        return
    totals: dict[str, list[float]] = {}
    for e in entries:
        totals.setdefault(e.member, []).append(e.points)
    rows: list[dict[str, Any]] = sorted(
        ({"member": m, "balance": sum(p), "entries": len(p)} for m, p in totals.items()),
        key=lambda r: (-r["balance"], r["member"]),
    )
    if _listed_plainly(rows, as_json, _t(locale, "ledger_none", db=db)):
        return
    headers = [_t(locale, f"col_{c}") for c in ("member", "balance", "entries")]
    click.echo(
        _table(headers, [[r["member"], _num(r["balance"]), str(r["entries"])] for r in rows], right=[1, 2])
    )


def _entry_row(e: LedgerEntry, earned: str, redeemed: str) -> list[str]:
    kind = redeemed if e.points < 0 else earned
    return [e.at.isoformat(timespec="minutes"), _num(e.points), kind, e.cause, e.policy]
