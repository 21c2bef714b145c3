"""The command line's own words (from the message catalogue), and the labels of
actions (a kind declares its actions' labels; the CLI adds the operator ``task``)."""

from __future__ import annotations

from typing import Any

from .._i18n import text
from ..rules._book import installed_kinds

# -- words -------------------------------------------------------------------------

# The CLI's words live in the message catalogue (groupops/locales/*.yaml) as
# ``cli.<key>``; these keys share an entry with the report or the explanations.
_SHARED: dict[str, str] = {
    "col_conversion": "word.conversion",
    "col_generation": "word.generation",
    "col_member": "word.member",
    "col_members": "word.members",
    "col_planned": "word.plan",
    "col_policy": "word.policy",
    "col_referrers": "word.referred_others",
    "col_score": "word.score",
    "diff_only_new": "cli.diff_only",
    "diff_only_old": "cli.diff_only",
    "group": "word.group",
    "health_group": "word.group",
    "health_members": "word.members",
    "health_score": "word.score",
    "health_speakers": "word.speakers",
    "health_state": "word.state",
    "health_trend": "word.trend",
    "member": "word.member",
    "none": "word.none",
    "policy": "word.policy",
    "state_active": "health.state.active",
    "state_dead": "health.state.dead",
    "state_dormant": "health.state.dormant",
    "total": "word.total",
}


def _t(locale: str, key: str, **values: Any) -> str:
    return text(_SHARED.get(key, f"cli.{key}"), locale, **values)


def _action(locale: str, action: str) -> str:
    """An action's label: the one its kind declares, else the CLI's own (``task``)."""
    spec = installed_kinds().action(action)
    if spec is not None:
        return spec.label(locale)
    try:
        return _t(locale, action)
    except KeyError:
        return action


def _action_rank() -> dict[str, int]:
    """Actions in the order their kinds registered them, the operator task last."""
    return {a: i for i, a in enumerate([*installed_kinds().action_names(), "task"])}
