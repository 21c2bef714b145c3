"""Engines for tests: every messenger the rule book names is there, recording.

This module needs neither Hypothesis nor pytest: the pytest fixtures and a Hypothesis
test build their engines with the same function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .._engine import Engine
from .._messaging import Messenger, RecordingMessenger
from ..plugins._manager import Plugins
from ..plugins._store import Store
from ..plugins.hookspecs import hookimpl
from ..rules._book import RuleBook

__all__ = ["recording_engine"]


class _StandIns:
    """Registers the messengers a test engine stands in for the platform's own."""

    def __init__(self, messengers: Iterable[Messenger]) -> None:
        self.messengers = tuple(messengers)

    @hookimpl
    def groupops_register_messengers(self, register: Callable[[Messenger], None]) -> None:
        for messenger in self.messengers:
            register(messenger)


def recording_engine(
    book: RuleBook,
    *,
    messenger: RecordingMessenger | None = None,
    store: Store | str = "memory:",
    plugins: Iterable[object] = (),
    entry_points: bool = False,
    default_messenger: str | None = None,
    **options: Any,
) -> Engine:
    """An :class:`~groupops.Engine` for tests, which delivers to a recording messenger.

    Every messenger a group of ``book`` names (``messenger: tg``) that no plugin in
    ``plugins`` (or, with ``entry_points=True``, no installed plugin) registers is stood
    in for by a :class:`~groupops.testing.RecordingMessenger` of that name, with every action, so
    a book written for production runs unchanged in a test. The stand-ins and the
    default messenger all record into ``messenger.delivered`` (a fresh
    ``RecordingMessenger()`` unless given; reach it as
    ``engine.messengers[engine.default_messenger]``); each recorded message's
    ``messenger`` field says which one it was sent through.

    Installed plugins are not loaded unless ``entry_points=True``: a test must not send
    through a real bot. A book whose conditions use a plugin's metric needs that plugin,
    by hand in ``plugins`` or by entry point.

    ``options`` (``max_attempts``, ``backoff``, ...) go to :class:`~groupops.Engine`
    as they are; ``default_messenger`` defaults to ``messenger`` (a name no plugin
    registers is stood in for too).
    """
    recorder = messenger if messenger is not None else RecordingMessenger()
    plugins = tuple(plugins)
    registered = set(Plugins(plugins, entry_points=entry_points).messengers())
    named = {recorder.name, *(g.messenger for g in book.groups if g.messenger is not None)}
    if default_messenger is not None:
        named.add(default_messenger)
    stand_ins = [
        recorder if name == recorder.name else RecordingMessenger(name=name, delivered=recorder.delivered)
        for name in sorted(named - registered)
    ]
    return Engine(
        book,
        store=store,
        plugins=(*plugins, _StandIns(stand_ins)),
        entry_points=entry_points,
        default_messenger=default_messenger or recorder.name,
        **options,
    )
