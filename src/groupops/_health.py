"""Group health and open playbooks as the store has them: what ``groupops health``,
``groupops groups`` and the HTML report show.

The numbers come from :func:`groupops.rules.group_health` over the store's events (read into
memory here, a read-only view), with the rule book's first ``health`` policy for the
window, the kinds and the dormant/dead rules when a book is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ._decision import Decision
from ._model import Group
from ._time import to_zone
from .plugins._store import Store
from .rules._book import RuleBook
from .rules._facts import Community
from .rules._facts_api import MemoryFacts
from .rules.kinds.health import GroupHealth, Health, group_health

__all__ = ["PLAYBOOK_KINDS", "health_table", "open_playbooks"]

PLAYBOOK_KINDS = ("repurpose", "migrate", "dissolve")
"""The kinds whose policies are a group's playbooks (a change of purpose, a move, an end)."""


def health_table(
    store: Store, at: datetime, *, book: RuleBook | None = None, groups: Sequence[Group] | None = None
) -> list[GroupHealth]:
    """Each group's health at ``at`` (default groups: every group the store keeps, by
    id), in the book's time zone (UTC without a book)."""
    from datetime import UTC

    tz = book.tz if book is not None else UTC
    at = to_zone(at, tz)
    policy = next((p for p in book.policies if isinstance(p, Health)), None) if book is not None else None
    community = Community(tz, (e for _, e in store.events_after(0)))
    chosen = list(groups) if groups is not None else store.groups()
    members: dict[str, int] = {}
    opened: dict[str, datetime] = {}
    for g in chosen:
        found = [ms for ms in store.memberships(group=g.id) if ms.joined_at <= at]
        members[g.id] = sum(1 for ms in found if ms.present)
        if found:
            opened[g.id] = min(ms.joined_at for ms in found)
    facts = MemoryFacts(community, {m.id: m for m in store.members()})
    return group_health(facts, chosen, members, at, tz, policy=policy, opened=opened)


def open_playbooks(group: str, decisions: Sequence[Decision], book: RuleBook | None = None) -> list[str]:
    """The playbook policies still under way for ``group``: named by the book (a
    ``repurpose``, ``migrate`` or ``dissolve`` of the group) or seen in its decisions,
    and not finished — the group not yet dissolved by it, a rename not yet made, or a
    notice given and not yet followed by a removal or a spare."""
    mine = [d for d in decisions if d.group == group and d.status == "applied"]
    by_policy: dict[str, list[Decision]] = {}
    for d in mine:
        by_policy.setdefault(d.policy, []).append(d)
    named: dict[str, str] = {}
    if book is not None:
        for p in book.policies:
            target = getattr(p, "group", None) or getattr(p, "from_", None)
            if p.type in PLAYBOOK_KINDS and target == group:
                named[p.id] = p.type
    for pid, ds in by_policy.items():
        actions = {d.action for d in ds}
        if "migrate_call" in actions:
            named.setdefault(pid, "migrate")
        elif "rename" in actions:
            named.setdefault(pid, "repurpose")
    found = []
    for pid, kind in named.items():
        ds = by_policy.get(pid, [])
        actions = {d.action for d in ds}
        if kind in ("migrate", "dissolve"):
            done = "dissolve" in actions
        else:
            noticed = {d.member for d in ds if d.action == "notice"}
            settled = {d.member for d in ds if d.action in ("evict", "spare")}
            done = bool(actions & {"rename", "notice"}) and noticed <= settled
        if not done:
            found.append(pid)
    return sorted(found)
