"""Hook specifications: how host applications plug storage, messaging and rules in.

Every hook is named ``groupops_<verb>_<noun>``. Hooks only ever gain arguments; they
are never renamed. Implement them with :data:`groupops.hookimpl` on a class or module
and register it with ``Engine(..., plugins=[...])`` or through the ``groupops``
entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .._engine import Engine
    from .._messaging import Messenger
    from .._model import Decision, Family, Membership
    from ..rules._book import RuleBook
    from ..rules._evaluate import MetricFunction
    from ..rules.kinds import Kind
    from ._store import Store

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "groupops"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def groupops_open_store(url: str, book: RuleBook) -> Store | None:
    """Stops at the first non-None result. Open the store that ``url`` names.

    Called once when an :class:`~groupops.Engine` is built with a store URL (the
    built-ins answer ``memory:`` and ``sqlite:///path.db``). Return None for a URL the
    plugin does not handle.

    :param url: what the host passed as ``store=`` (or the CLI's ``--db``).
    :param book: the rule book the engine will run.
    :returns: an object implementing the :class:`~groupops.Store` protocol, or None.
    """


@hookspec
def groupops_register_messengers(register: Callable[[Messenger], None]) -> None:
    """Every implementation is called. Register messengers by calling ``register``.

    Called once when an engine is built. A messenger delivers outbox messages to one
    platform (WeCom, Telegram, Slack, email) and declares the actions it can carry out;
    the engine rejects two messengers with one name.

    :param register: call ``register(messenger)`` once per messenger.
    """


@hookspec
def groupops_register_metrics(register: Callable[[str, MetricFunction], None]) -> None:
    """Every implementation is called. Register metrics for ``{metric: NAME}`` leaves.

    Called once when an engine is built, before the rule book is checked: a book that
    names a metric nobody registered is an error. A metric is a function of a member's
    history over a window (see :class:`~groupops.MetricFunction`). A metric that raises
    is a :class:`~groupops.PluginError` naming the plugin and the metric; in ``run`` it
    affects only the member it was asked about (reported in ``RunReport.failures``,
    asked again next run).

    :param register: call ``register(name, function)`` once per metric.
    """


@hookspec
def groupops_register_kinds(register: Callable[[Kind], None]) -> None:
    """Every implementation is called. Register policy kinds by calling ``register``.

    Called when an engine is built and when a rule book is loaded without an explicit
    ``kinds=`` (by a fresh plugin manager, so loading a book has no side effects). The
    built-in plugin registers the five built-in kinds (admission, eviction, revival,
    ladder, welcome) through this very hook. A kind (:class:`~groupops.Kind`) owns a
    policy ``type``: its rule-book model, trigger, decisions, actions with their default
    templates, and explanation. Two kinds with one name are an error.

    :param register: call ``register(kind)`` once per kind.
    """


@hookspec(firstresult=True)
def groupops_veto_action(decision: Decision, membership: Membership | None) -> str | None:
    """Stops at the first non-None result. Veto a decision before it is applied.

    Called for every decision ``run`` is about to apply, inside its transaction. Return
    a reason to veto: the decision is recorded as vetoed with that reason, nothing
    changes in the membership and no message is sent. Return None to let it through.
    Only a non-blank string vetoes: raising, or returning anything else (``False``,
    ``""``, ``0``), is a plugin error that affects only this decision: nothing is
    recorded for it, ``RunReport.failures`` names the plugin, and the next run asks again.

    :param decision: the decision about to be applied.
    :param membership: the membership it would change (None for an invitation to a
        group the member is not in).
    :returns: a reason (vetoes) or None.
    """


@hookspec
def groupops_observe_decision(decision: Decision, engine: Engine) -> None:
    """Every implementation is called; results are ignored. See a decision once recorded.

    Called after ``run`` has committed, once per decision (applied or vetoed), in the
    order they were made. An observer that raises (``SystemExit`` included; only
    ``KeyboardInterrupt`` goes through) is logged with its plugin's name, listed in
    ``RunReport.failures``, and stops neither the other observers nor delivery.

    Best effort: observers are told in memory after the commit, so a crash in between
    loses the notification for good. What must not be lost goes through a messenger
    (the outbox delivers at least once, keyed by decision) or is read from the decision
    log (``Engine.decisions``).

    :param decision: the recorded decision.
    :param engine: the engine that made it.
    """


@hookspec(firstresult=True)
def groupops_create_group(family: Family, name: str, book: RuleBook, number: int, at: datetime) -> str | None:
    """Stops at the first non-None result. Create a group of ``family`` on the host's
    platform (a WeCom customer group, a Telegram chat) and return its id.

    Called by :func:`~groupops.create_group` (which kinds call when a family needs a new
    group, e.g. when every group of it is full), inside the store's transaction. The
    group is then kept in the store under the returned id, open, with the family's kind,
    capacity, texts and ``name``. Return None if this plugin does not create groups (of
    this family): the next plugin is asked, and if none answers an operator task is
    queued asking a person to create the group by hand (nothing is kept in the store
    until the group exists). Returning anything but None or a non-blank string, or
    raising, is a :class:`~groupops.PluginError` naming the plugin; nothing is recorded.

    :param family: the family (template) the group belongs to.
    :param name: the new group's name, from the family's pattern (``{n}`` = ``number``).
    :param book: the rule book the engine runs.
    :param number: the group's number in its family (one more than the groups of the
        family the store holds).
    :param at: the instant the group is created at (the run's or the decision's time).
    :returns: the new group's id, or None.
    """
