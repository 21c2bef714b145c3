"""pytest fixtures for testing code that embeds groupops (entry point ``pytest11``).

None is autouse: a test asks for what it needs by name.

- ``groupops_rule_book``: the rule book the engine fixtures run; the bundled example
  book unless a ``conftest.py`` or test module overrides the fixture.
- ``groupops_messenger``: a :class:`~groupops.RecordingMessenger` (``delivered`` holds
  what was sent); the engine fixtures use it as their default messenger.
- ``groupops_engine``: an :class:`~groupops.Engine` on a fresh in-memory store.
- ``groupops_sqlite_engine``: an engine on a SQLite file in the test's temporary
  directory (the file is ``engine.store.path``).

These are function-scoped, so a Hypothesis test should build its engine inside the test
(``@given`` runs many examples per fixture instance).

This module imports neither Hypothesis nor anything that needs it: it loads wherever
groupops is installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.resources import as_file, files
from pathlib import Path

import pytest

from .._engine import Engine
from .._messaging import Messenger, RecordingMessenger
from ..plugins.hookspecs import hookimpl
from ..plugins.memory import MemoryStore
from ..rules._book import RuleBook, load_rule_book

__all__ = [
    "groupops_engine",
    "groupops_messenger",
    "groupops_rule_book",
    "groupops_sqlite_engine",
]


class _MessengerPlugin:
    """Registers one messenger with an engine."""

    def __init__(self, messenger: Messenger) -> None:
        self.messenger = messenger

    @hookimpl
    def groupops_register_messengers(self, register: Callable[[Messenger], None]) -> None:
        register(self.messenger)


def _example_book() -> RuleBook:
    with as_file(files("groupops.examples").joinpath("community.yaml")) as path:
        return load_rule_book(path)


@pytest.fixture
def groupops_rule_book() -> RuleBook:
    """The rule book the engine fixtures run: override this fixture to use your own."""
    return _example_book()


@pytest.fixture
def groupops_messenger() -> RecordingMessenger:
    """A recording messenger: every delivered message lands in ``.delivered``."""
    return RecordingMessenger()


def _engine(book: RuleBook, messenger: RecordingMessenger, store: MemoryStore | str) -> Engine:
    return Engine(
        book,
        store=store,
        plugins=[_MessengerPlugin(messenger)],
        default_messenger=messenger.name,
    )


@pytest.fixture
def groupops_engine(groupops_rule_book: RuleBook, groupops_messenger: RecordingMessenger) -> Iterator[Engine]:
    """An engine running ``groupops_rule_book`` on a fresh in-memory store."""
    engine = _engine(groupops_rule_book, groupops_messenger, MemoryStore())
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def groupops_sqlite_engine(
    groupops_rule_book: RuleBook, groupops_messenger: RecordingMessenger, tmp_path: Path
) -> Iterator[Engine]:
    """An engine running ``groupops_rule_book`` on a SQLite file in ``tmp_path``."""
    engine = _engine(groupops_rule_book, groupops_messenger, str(tmp_path / "groupops.db"))
    try:
        yield engine
    finally:
        engine.close()
