"""pytest fixtures for testing code that embeds groupops (entry point ``pytest11``).

None is autouse: a test asks for what it needs by name.

- ``groupops_rule_book``: the rule book the engine fixtures run; the bundled example
  book unless a ``conftest.py`` or test module overrides the fixture.
- ``groupops_messenger``: a :class:`~groupops.testing.RecordingMessenger` (``delivered`` holds
  what was sent); the engine fixtures use it as their default messenger, and it also
  records what goes through every messenger the book names that no plugin registers
  (see :func:`groupops.testing.recording_engine`).
- ``groupops_engine``: an :class:`~groupops.Engine` on a fresh in-memory store.
- ``groupops_sqlite_engine``: an engine on a SQLite file in the test's temporary
  directory (the file is ``engine.store.path``).

The engines load no installed (entry-point) plugins, so a test never sends through a
real bot. Ask for them with the ``groupops_entry_points`` marker on a test, module or
class, or for the whole run with ``groupops_entry_points = true`` in the pytest ini file.

These are function-scoped, so a Hypothesis test should build its engine inside the test
(``@given`` runs many examples per fixture instance).

This module imports neither Hypothesis nor anything that needs it: it loads wherever
groupops is installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources import as_file, files
from pathlib import Path

import pytest

from .._engine import Engine
from .._messaging import RecordingMessenger
from ..plugins.memory import MemoryStore
from ..rules._book import RuleBook, load_rule_book
from ._engines import recording_engine

__all__ = [
    "groupops_engine",
    "groupops_messenger",
    "groupops_rule_book",
    "groupops_sqlite_engine",
]


ENTRY_POINTS_MARKER = "groupops_entry_points"
ENTRY_POINTS_INI = "groupops_entry_points"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        ENTRY_POINTS_INI,
        type="bool",
        default=False,
        help="groupops engine fixtures load installed (entry-point) plugins (default: false)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{ENTRY_POINTS_MARKER}: groupops engine fixtures load installed (entry-point) plugins",
    )


def _wants_entry_points(request: pytest.FixtureRequest) -> bool:
    if request.node.get_closest_marker(ENTRY_POINTS_MARKER) is not None:
        return True
    return bool(request.config.getini(ENTRY_POINTS_INI))


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


def _engine(
    request: pytest.FixtureRequest, book: RuleBook, messenger: RecordingMessenger, store: MemoryStore | str
) -> Engine:
    return recording_engine(book, messenger=messenger, store=store, entry_points=_wants_entry_points(request))


@pytest.fixture
def groupops_engine(
    request: pytest.FixtureRequest, groupops_rule_book: RuleBook, groupops_messenger: RecordingMessenger
) -> Iterator[Engine]:
    """An engine running ``groupops_rule_book`` on a fresh in-memory store."""
    engine = _engine(request, groupops_rule_book, groupops_messenger, MemoryStore())
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def groupops_sqlite_engine(
    request: pytest.FixtureRequest,
    groupops_rule_book: RuleBook,
    groupops_messenger: RecordingMessenger,
    tmp_path: Path,
) -> Iterator[Engine]:
    """An engine running ``groupops_rule_book`` on a SQLite file in ``tmp_path``."""
    engine = _engine(request, groupops_rule_book, groupops_messenger, str(tmp_path / "groupops.db"))
    try:
        yield engine
    finally:
        engine.close()
