"""Groups in the store: seeding them from the rule book, and reading their current state.

The rule book declares groups; the store keeps them as they stand (a kind may rename,
close or dissolve one, or create a new one at run time) with every change and the
instant it took effect. Seeding reconciles the two at each run:

- a group the book names and the store lacks is inserted (source ``book``);
- a field the book *changed* since the store last saw it is copied into the store
  (recorded in the group's history); a field the book did not change keeps the store's
  value, so a rename made by a decision survives later runs with the same book;
- a group the store has and the book no longer names stays as it is (it may have been
  created at run time); nothing is deleted.

What the book last declared for each group is kept in the store's run state under
``groups:declared:<id>``, in the same transaction as the change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ._model import BOOK_GROUP_FIELDS, Group, GroupChange, change_group
from .plugins._store import Store
from .rules._book import RuleBook

__all__ = ["current_group", "declared_fields", "seed_changes", "seed_groups"]

_DECLARED = "groups:declared:"


def declared_fields(group: Group) -> dict[str, Any]:
    """What a rule book declares about ``group``, as plain data (JSON values)."""
    data = group.model_dump(mode="json")
    return {f: data[f] for f in BOOK_GROUP_FIELDS}


def seed_changes(
    book: RuleBook,
    stored: Mapping[str, Group],
    declared_before: Mapping[str, Mapping[str, Any]],
    at: datetime,
) -> list[GroupChange]:
    """The changes that bring the store's groups in line with ``book`` at ``at``. Pure.

    ``stored`` holds the store's groups by id; ``declared_before`` what the book declared
    for each group when it was last seeded (missing: never seeded, so every field the
    book declares differently from the store is copied).
    """
    changes: list[GroupChange] = []
    for group in book.groups:
        now = declared_fields(group)
        current = stored.get(group.id)
        if current is None:
            changes.append(GroupChange(at=at, group=group, fields=BOOK_GROUP_FIELDS, source="book"))
            continue
        before = declared_before.get(group.id)
        have = declared_fields(current)
        # a field the book changed since it was last seeded, and the store holds otherwise
        changed = [f for f in BOOK_GROUP_FIELDS if before is None or before.get(f) != now[f]]
        updates = {f: now[f] for f in changed if have[f] != now[f]}
        if updates:
            changes.append(change_group(current, at, source="book", **updates))
    return changes


def seed_groups(store: Store, book: RuleBook, at: datetime) -> list[GroupChange]:
    """Insert or update the store's groups from ``book`` at ``at`` (see the module
    docstring) and return the changes recorded. A store without group operations (a
    host's store written before them) is left alone: nothing is recorded."""
    if not all(hasattr(store, name) for name in ("record_group", "groups")):
        return []
    with store.transaction():
        stored = {g.id: g for g in store.groups()}
        before: dict[str, dict[str, Any]] = {}
        for group in book.groups:
            raw = store.get_state(_DECLARED + group.id)
            if raw is not None:
                before[group.id] = json.loads(raw)
        changes = seed_changes(book, stored, before, at)
        for change in changes:
            store.record_group(change)
        for group in book.groups:
            text = json.dumps(declared_fields(group), sort_keys=True, ensure_ascii=False)
            if text != store.get_state(_DECLARED + group.id):
                store.set_state(_DECLARED + group.id, text)
    return changes


def current_group(store: Store, group: Group) -> Group:
    """``group`` as the store has it now (its current name, status, texts), or as given
    when the store does not keep it."""
    get = getattr(store, "get_group", None)
    found = get(group.id) if get is not None else None
    return found if isinstance(found, Group) else group
