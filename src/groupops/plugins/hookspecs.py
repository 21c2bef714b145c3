"""Hook specifications: how host applications plug storage, messaging and rules in.

Every hook is named ``groupops_<verb>_<noun>``. Hooks only ever gain arguments; they
are never renamed. Implement them with :data:`groupops.hookimpl` on a class or module
and register it with ``Engine(..., plugins=[...])`` or through the ``groupops``
entry-point group.

groupops calls the implementations of every hook but ``groupops_open_store`` one at a
time, so that a failure names its plugin and one failing observer does not stop the
others: a wrapper (``hookwrapper=True`` or ``wrapper=True``) of any of them is refused
when it is registered, with a :class:`~groupops.PluginError` naming the plugin and the
hook (a wrapper would wrap nothing). ``groupops_open_store`` goes through pluggy and
takes wrappers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .._decision import Decision
    from .._messaging import Messenger
    from .._model import Family, Membership
    from ..rules._book import RuleBook
    from ..rules._evaluate import MetricFunction
    from ..rules.kinds import Kind
    from ._store import Store
    from ._view import EngineView

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "groupops"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def groupops_open_store(url: str, book: RuleBook) -> Store | None:
    """Stops at the first non-None result. Open the store that ``url`` names.

    Called once when an :class:`~groupops.Engine` is built with ``store="..."``. The
    built-ins answer ``memory:``, ``sqlite:///path.db`` and paths ending in ``.db``,
    ``.sqlite`` or ``.sqlite3``; a URL no plugin opens is a :class:`~groupops.PluginError`
    naming this hook. Return None for a URL the plugin does not handle.

    :param url: what the host passed as ``store=`` (the CLI's ``--db``).
    :param book: the rule book the engine will run.
    :returns: an object implementing the ``groupops.Store`` protocol, or None.
    """


@hookspec
def groupops_register_messengers(register: Callable[[Messenger], None]) -> None:
    """Every implementation is called once per engine. Call ``register(messenger)`` for
    each messenger.

    A messenger delivers outbox messages to one platform (WeCom, Telegram, Slack,
    email). It has a ``name`` (what a group's ``messenger:`` key names), ``actions``
    (what its platform can do: ``message`` for text to a member, ``post`` for text in a
    group, ``task`` for operators, and platform actions such as ``invite``, ``evict``,
    ``remove``, ``revive``, ``rename``; see the table below), an optional per-recipient
    ``quota``, and ``deliver(message)``, which raises on failure. Two messengers with one
    name are an error. An action a messenger cannot carry out becomes an operator
    ``task`` (see `engine.md <engine.md#platforms-that-cannot-do-everything>`_): a post it
    cannot make goes to the group's operators with the text, never to a member.

    Each messenger is checked against the ``groupops.Messenger`` protocol when it is
    registered, that is when the engine is built: a missing ``name``, ``actions`` (a set
    or frozenset of action names: a plain string is refused) or callable ``deliver``, or
    a ``quota`` that is neither a ``groupops.Quota`` nor ``None``, is a
    :class:`~groupops.PluginError` naming the plugin, the object and everything wrong
    with it. A messenger without a ``quota`` attribute has no quota
    (``engine.messengers[name]`` is then a thin view of your object with ``quota =
    None``; every other attribute is still yours).

    :param register: call ``register(messenger)`` once per messenger.
    """


@hookspec
def groupops_register_metrics(register: Callable[[str, MetricFunction], None]) -> None:
    """Every implementation is called once per engine. Call ``register(name, function)``
    for each metric of ``{metric: NAME}`` leaves.

    Called when an engine is built, before the rule book is checked: a book whose
    ``{metric: NAME}`` leaf names a metric nobody registered fails with a
    :class:`~groupops.RuleError`. A metric function (:class:`~groupops.rules.MetricFunction`)
    receives the member's ``History`` and the window (``group``, ``start``, ``end``,
    keyword-only) and returns a number; it must be pure. A metric that raises is a
    :class:`~groupops.PluginError` naming the plugin and the metric: in ``run``, it
    affects only the member it was asked about (listed in ``RunReport.failures``, asked
    again next run); ``explain`` raises it. A name that is not a non-empty string, a
    function that is not callable, or a name another plugin registered already, is a
    :class:`~groupops.PluginError` naming the plugin (and the one that came first).

    :param register: call ``register(name, function)`` once per metric.
    """


@hookspec
def groupops_register_kinds(register: Callable[[Kind], None]) -> None:
    """Every implementation is called. Call ``register(kind)`` for each policy kind.

    Called when an engine is built, and when a rule book is loaded without ``kinds=`` (by
    a fresh plugin manager: loading a book has no side effects and imports nothing at
    ``import groupops``). The built-in plugin registers the five built-in kinds
    (admission, eviction, revival, ladder, welcome) through this same hook, first. A kind
    (:class:`~groupops.Kind`) owns a policy ``type``: its rule-book model, trigger,
    decisions, actions with their default templates, and explanation. Two kinds with one
    name are a :class:`~groupops.PluginError` naming the plugin.

    :param register: call ``register(kind)`` once per kind (a ``groupops.Kind``
        instance).
    """


@hookspec(firstresult=True)
def groupops_veto_action(decision: Decision, membership: Membership | None) -> str | None:
    """Stops at the first non-None result. Veto a decision before it is applied.

    Called inside ``run``'s transaction for every decision about to be applied. Return a
    reason to veto: the decision is recorded with ``status="vetoed"`` and
    ``veto_reason``, the membership does not change and no message is queued. A vetoed
    decision is not asked about again (its id is taken). Only a non-blank string vetoes:
    ``False``, ``""``, ``0`` or any other value is a plugin error, like raising: nothing
    is recorded for that decision, ``RunReport.failures`` names the plugin, and the next
    run asks again.

    **Time budget.** The run's write transaction is open while a veto is asked, so every
    other writer to the store (an ingest, a delivery) waits for it; on SQLite, for up to
    the store's ``timeout`` (30 seconds by default), then fails with ``database is
    locked``. Answer from memory or a local cache, in well under a millisecond per
    decision: a run of 100,000 decisions spends 100 seconds in a veto that takes one. A
    veto that needs a remote service should read a snapshot of it taken before the run.

    :param decision: the decision about to be applied.
    :param membership: the membership it would change (for an invitation, the member's
        membership in the paid group, usually None).
    :returns: a reason, or None to let the decision through.
    """


@hookspec
def groupops_observe_decision(decision: Decision, engine: EngineView) -> None:
    """Every implementation is called; results are ignored. See a decision once recorded.

    Called after ``run`` has committed, once per decision (applied or vetoed), in the
    order they were made. An observer that raises (even ``SystemExit``; only
    ``KeyboardInterrupt`` goes through) is logged with its plugin's name and listed in
    ``RunReport.failures``; the other observers still run, and delivery goes on. Dry runs
    call no observer.

    Observers are **best effort**: they are told in memory after the commit, so a crash
    between the commit and the call loses the notification, and it is not repeated. We
    chose this over an outbox of notifications because the outbox already exists for
    what must arrive: a host that must not miss a decision registers a messenger
    (delivered at least once, with the decision id in every message) or reads the
    decision log (``engine.decisions()``), and uses observers for what may be lost:
    metrics, dashboards, cache invalidation.

    An observer sees the engine read-only, as an :class:`~groupops.EngineView`: its
    ``book``, ``decisions()``, ``membership()`` and ``store`` (a
    :class:`~groupops.ReadOnlyStore`, every reading method of the store). Running,
    ingesting, delivering or writing from inside an observer, which would re-enter the
    engine from inside its own run, is an ``AttributeError`` saying so (reported like any
    observer failure).

    :param decision: the recorded decision.
    :param engine: the engine that made it, read-only.
    """


@hookspec(firstresult=True)
def groupops_create_group(family: Family, name: str, book: RuleBook, number: int, at: datetime) -> str | None:
    """Stops at the first non-None result. Create a group of ``family`` on the host's
    platform (a WeCom customer group, a Telegram chat) and return its id.

    Called by ``go.create_group(engine, family, at)`` (what kinds call when a family
    needs another group: every group of it full, a new cohort) inside the store's
    transaction. The store then keeps the group, open, under the returned id, with the
    family's kind, capacity, announcement, rules and welcome and the ``name`` given
    (recorded in the group's history, with the decision that asked for it). Return None
    if this plugin does not create groups (of this family): the next plugin is asked,
    and **if no plugin answers, an operator task is queued** ("Please create the group
    ...") to the operators of the family's groups (else ``operators``), once per family
    and number however often it is asked; nothing is kept in the store until the group
    exists (add it to the rule book, or record it with ``store.record_group``). A plugin
    that raises, returns anything but None or a non-blank string, or returns an id the
    store already holds, is a :class:`~groupops.PluginError` naming it, and nothing is
    recorded.

    :param family: the family (``go.Family``) the group belongs to.
    :param name: the group's name from the family's pattern, ``{n}`` being ``number``.
    :param book: the rule book the engine runs.
    :param number: the group's number in its family: one more than the groups of the
        family the store holds, whatever their status.
    :param at: the instant the group is created at (the run's or the decision's time).
    :returns: the new group's id, or None.
    """
