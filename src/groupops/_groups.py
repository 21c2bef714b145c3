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

:func:`create_group` opens the next group of a family: through the
``groupops_create_group`` hook when a plugin answers, else as an operator task.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ._decision import Decision, decision_id
from ._errors import PluginError, Problem, RuleError
from ._i18n import text as i18n_text
from ._messaging import can_carry_out
from ._model import BOOK_GROUP_FIELDS, Family, Group, GroupChange, change_group
from ._outbox import OutboxMessage
from .plugins._store import Store
from .rules._book import RuleBook
from .rules.kinds._membership import present_at
from .rules.kinds.capacity import Capacity, route_order

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = [
    "GroupCreation",
    "Routing",
    "create_group",
    "current_group",
    "declared_fields",
    "route",
    "seed_changes",
    "seed_groups",
]

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


class GroupCreation(BaseModel):
    """What :func:`create_group` did: ``group`` is the new group as the store now keeps
    it (a plugin created it on the platform, ``plugin`` names which), or None and
    ``task`` is the operator task queued because no plugin answered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: str
    name: str
    number: int
    group: Group | None = None
    plugin: str | None = None
    task: OutboxMessage | None = None


def _family(book: RuleBook, family: str) -> Family:
    """The book's family ``family``; :class:`RuleError` at the field ``family`` naming the
    families the book declares otherwise (what :func:`create_group` and :func:`route` raise)."""
    try:
        return book.family(family)
    except KeyError as exc:
        raise RuleError([Problem("family", str(exc.args[0]))]) from None


def create_group(
    engine: Engine,
    family: str,
    at: datetime,
    *,
    decision: str | None = None,
    vars: Mapping[str, str] | None = None,
) -> GroupCreation:
    """Open the next group of ``family`` at ``at``, in one store transaction.

    Its number is one more than the groups of the family the store holds (whatever their
    status), its name the family's pattern with ``{n}``, the family's ``vars`` and
    ``vars``. The ``groupops_create_group`` hook is asked to create it on the platform;
    the id a plugin returns is kept in the store (open, with the family's kind,
    capacity, announcement, rules and welcome; history source ``decision`` when
    ``decision`` is given, else ``host``). When no plugin answers, an operator task is
    queued instead (to the operators of the family's groups, else ``operators``), keyed
    by family and number so that asking again before the group exists queues nothing
    more; nothing is kept in the store until the group exists (the host records it, or
    the rule book names it).

    Raises :class:`RuleError` for a family the book does not declare, and
    :class:`PluginError` when a plugin fails or returns an id the store already holds.
    """
    book = engine.book
    fam = _family(book, family)
    store = engine.store
    with store.transaction():
        siblings = store.groups(family=fam.id)
        number = len(siblings) + 1
        try:
            name = fam.group_name(number, **dict(vars or {}))
        except KeyError as exc:
            raise RuleError([Problem("vars", str(exc.args[0]))]) from None
        answer = engine.plugins.create_group(fam, name, book, number, at)
        if answer is None:
            task = _creation_task(engine, fam.id, name, number, siblings, at, decision)
            store.add_messages([task])
            return GroupCreation(family=fam.id, name=name, number=number, task=task)
        group_id, plugin = answer
        if store.get_group(group_id) is not None:
            raise PluginError(
                f"plugin {plugin!r} returned {group_id!r} from groupops_create_group, "
                "an id the store already holds",
                plugin=plugin,
                hook="groupops_create_group",
            )
        group = Group(
            id=group_id,
            name=name,
            kind=fam.kind,
            capacity=fam.capacity,
            family=fam.id,
            announcement=fam.announcement,
            rules=fam.rules,
            welcome=fam.welcome,
            vars={**fam.vars, **dict(vars or {})},
        )
        store.record_group(
            GroupChange(
                at=at,
                group=group,
                fields=BOOK_GROUP_FIELDS,
                decision=decision,
                source="decision" if decision is not None else "host",
            )
        )
    return GroupCreation(family=fam.id, name=name, number=number, group=group, plugin=plugin)


def _creation_task(
    engine: Engine,
    family: str,
    name: str,
    number: int,
    siblings: list[Group],
    at: datetime,
    decision: str | None,
) -> OutboxMessage:
    operators = sorted({op for g in siblings for op in g.operators}) or ["operators"]
    tasks = (n for n, m in engine.messengers.items() if can_carry_out(m, "task", audience="operators"))
    via = next(tasks, engine.default_messenger)
    key = f"create_group:{family}:{number}"
    text = i18n_text("group.create_task", engine.book.locale, name=name, family=family, number=number)
    # one task, to the first operator: a group is created once, by one person
    return OutboxMessage(
        key=key,
        decision=decision or key,
        messenger=via,
        action="task",
        member=None,
        group=None,
        recipient=operators[0],
        audience="operators",
        text=text,
        created_at=at,
        next_at=at,
    )


class Routing(BaseModel):
    """Where :func:`route` sends a newcomer of a family.

    ``group`` is the group to join (None when there is none to join yet); ``reason``
    says why none (a limit the member would break, every group full and the next being
    opened) or that the member is already in ``group``. ``decision`` is the
    ``create_group`` decision made when every group was full (by this call, or by an
    earlier one still waiting for the group to exist); ``creation`` what this call's
    :func:`create_group` did."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    member: str
    family: str
    group: Group | None = None
    reason: str = ""
    decision: Decision | None = None
    creation: GroupCreation | None = None


def route(engine: Engine, member: str, family: str, at: datetime) -> Routing:
    """The group of ``family`` a newcomer ``member`` should join at ``at``.

    Of the family's open groups with room (present members below ``capacity``; a leave
    frees a place), the fullest first, so that groups fill one at a time; ties by id
    (:func:`~groupops.rules.route_order`). A member already present in a group of the family
    is sent there. No group a policy of the book would turn the member back from (a
    ``limit``: :meth:`Kind.refuses`) is offered: when that rules out every group with
    room, ``group`` is None and ``reason`` names the limit.

    When every group is full, one ``create_group`` decision is recorded for the
    family's next group (once, however often routing is asked, until that group
    exists) and :func:`create_group` opens it: through the ``groupops_create_group``
    hook (the new group is returned) or as an operator task (``group`` None meanwhile).
    The decision is made under the book's ``capacity`` policy covering the family, else
    under the policy id ``route:<family>``.

    Raises :class:`RuleError` for a family the book does not declare.
    """
    book = engine.book
    fam = _family(book, family)
    locale = book.locale
    store = engine.store
    with store.transaction():
        siblings = store.groups(family=fam.id)
        counted: list[tuple[Group, int]] = []
        for g in siblings:
            memberships = store.memberships(group=g.id)
            counted.append((g, sum(1 for ms in memberships if present_at(ms, at))))
            mine = next((ms for ms in memberships if ms.member == member), None)
            if g.status == "open" and mine is not None and present_at(mine, at):
                already = i18n_text("route.already", locale, group=g.display_name)
                return Routing(member=member, family=fam.id, group=g, reason=already)
        from .engine._runtime import _Runtime  # the engine's own view, as kinds see it

        rt = _Runtime(engine, {})
        refusals: list[str] = []
        for g in route_order(counted):
            reason = rt.refusal(member, g.id, at)
            if reason is None:
                return Routing(member=member, family=fam.id, group=g)
            refusals.append(reason)
        if refusals:
            return Routing(
                member=member, family=fam.id, reason=i18n_text("route.limit", locale, reason=refusals[0])
            )
        return _open_next(engine, member, fam.id, siblings, at, locale)


def _open_next(
    engine: Engine, member: str, family: str, siblings: list[Group], at: datetime, locale: str
) -> Routing:
    number = len(siblings) + 1
    policy = next(
        (
            p.id
            for p in engine.book.policies
            if isinstance(p, Capacity) and (not p.groups or any(g.id in p.groups for g in siblings))
        ),
        f"route:{family}",
    )
    last = max((g.id for g in siblings), default=None)
    subject = {"group": last, "member": None} if last is not None else {"group": None, "member": member}
    period = f"{family}:{number}"
    store = engine.store
    did = decision_id(policy, "create_group", subject["member"], subject["group"], period)
    earlier = store.get_decision(did)
    waiting = i18n_text("route.waiting", locale, number=number)
    if earlier is not None:
        return Routing(member=member, family=family, reason=waiting, decision=earlier)
    decision = Decision.make(
        policy=policy, action="create_group", period=period, at=at, revision=engine.book.revision, **subject
    )
    store.add_decision(decision)
    creation = create_group(engine, family, at, decision=decision.id)
    if creation.group is not None:
        opened = creation.group
        return Routing(member=member, family=family, group=opened, decision=decision, creation=creation)
    return Routing(member=member, family=family, reason=waiting, decision=decision, creation=creation)
