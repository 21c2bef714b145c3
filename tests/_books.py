"""The study camp's rule book, one factory for the tests that need a camp (it was
written out in four test modules): a weekly eviction (``weekly``), a revival
(``comeback``) and a role ladder (``roles``) over one group, ``camp``, in Asia/Shanghai.
The whole-season tests (``_season.py``) use it as it is; others change a policy's fields
or leave a policy out."""

from __future__ import annotations

import copy
from typing import Any

CAMP_GROUP: dict[str, Any] = {"id": "camp", "name": "Camp 7", "operators": ["op-1"]}

CAMP_POLICIES: dict[str, dict[str, Any]] = {
    "weekly": {
        "id": "weekly",
        "type": "eviction",
        "groups": ["camp"],
        "schedule": "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20",
        "start": "2026-09-07T00:00:00+08:00",
        "notice": "2d",
        "grace": "7d",
        "exempt": {"role": ["lecturer"]},
        "when": {"days_since": "checkin", "at_least": 7},
    },
    "comeback": {
        "id": "comeback",
        "type": "revival",
        "groups": ["camp"],
        "within": "14d",
        "max": 1,
        "when": {"count": "payment", "since": "evicted", "at_least": 1},
    },
    "roles": {
        "id": "roles",
        "type": "ladder",
        "groups": ["camp"],
        "steps": [
            {"role": "member"},
            {
                "role": "active",
                "promote": {"distinct_days": "message", "within": "14d", "at_least": 5},
                "keep": {"distinct_days": "message", "within": "14d", "at_least": 3},
                "grace": "7d",
            },
        ],
    },
}


def camp_book(*, group: dict[str, Any] | None = None, **policies: dict[str, Any] | None) -> dict[str, Any]:
    """The camp's rule book as data (a fresh copy). ``group`` replaces the camp group's
    fields; ``weekly={...}`` (or ``comeback``, ``roles``) replaces fields of that policy,
    a field given as None is removed; ``weekly=None`` leaves the policy out."""
    unknown = set(policies) - set(CAMP_POLICIES)
    if unknown:
        raise TypeError(f"camp_book: no policy {sorted(unknown)} (policies: {', '.join(CAMP_POLICIES)})")
    chosen = []
    for name, policy in CAMP_POLICIES.items():
        if name in policies and policies[name] is None:
            continue
        merged = copy.deepcopy(policy) | copy.deepcopy(policies.get(name) or {})
        chosen.append({k: v for k, v in merged.items() if v is not None})
    return {
        "version": 1,
        "timezone": "Asia/Shanghai",
        "groups": [copy.deepcopy(group if group is not None else CAMP_GROUP)],
        "policies": chosen,
    }
