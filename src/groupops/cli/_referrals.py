"""``groupops referrals``: the referral tree per generation beside the S = m·2ⁿ plan."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import click

from .._model import LATEST_TIME
from .._referrals import REFERRAL_EVENT, referral_tree
from ..rules._explain import _num
from ._common import _db_option, _emit_json, _read_only_sqlite, _table, command
from ._labels import _t


@command(short_help="The referral tree per generation beside the S = m·2ⁿ plan.")
@_db_option
def referrals(db: str, as_json: bool, locale: str) -> None:
    """The referral ("fission") tree of the store's members: who referred whom (member
    profiles' referrer, and referral events naming data.referee), per generation from
    the seeds: members, how many referred others, conversion, and the plan's size
    m·2^g; then m, n and S = m·2ⁿ. The database is opened read-only."""
    store = _read_only_sqlite(db, locale)
    try:
        # the referral events alone, asked in SQL (as Engine.referral_tree does)
        events = store.facts(tz=UTC).events_of(REFERRAL_EVENT, LATEST_TIME)
        tree = referral_tree(store.members(), events)
    finally:
        store.close()
    if as_json:
        doc: dict[str, Any] = tree.model_dump(exclude={"generation_of"})
        doc["generations"] = tree.rows()
        _emit_json(doc)
        return
    if not tree.generations:
        click.echo(_t(locale, "referrals_none", db=db))
        return
    columns = ("generation", "size", "referrers", "conversion", "planned")
    headers = [_t(locale, f"col_{c}") for c in columns]
    body = [
        [
            str(g.generation),
            str(g.size),
            str(g.referrers),
            f"{_num(round(g.conversion * 100, 1))}%",
            str(g.planned),
        ]
        for g in tree.generations
    ]
    click.echo(_table(headers, body, right=range(len(columns))))
    click.echo("")
    values = tree.model_dump(include={"seeds", "depth", "planned", "members", "planned_members"})
    click.echo(_t(locale, "referrals_summary", **values))


def _percent(share: float) -> str:
    return f"{_num(round(share * 100, 1))}%"
