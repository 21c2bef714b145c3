"""Store URLs: which built-in store a ``store=`` / ``--db`` string names."""

from __future__ import annotations

from ._store import Store
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["open_store"]

_SQLITE_SCHEME = "sqlite:///"
_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def open_store(url: str) -> Store | None:
    """The built-in store that ``url`` names, opened; None for a URL it does not know.

    - ``memory:``: a fresh :class:`MemoryStore`.
    - ``sqlite:///PATH``: a :class:`SQLiteStore` at ``PATH``, read as SQLAlchemy reads it:
      ``sqlite:///data/ops.db`` is relative, ``sqlite:////var/lib/ops.db`` absolute.
    - a plain path ending in ``.db``, ``.sqlite`` or ``.sqlite3``: a :class:`SQLiteStore`.

    :raises StoreError: the SQLite file cannot be opened (see :class:`SQLiteStore`).
    """
    if url == "memory:":
        return MemoryStore()
    if url.startswith(_SQLITE_SCHEME):
        path = url[len(_SQLITE_SCHEME) :]
        return SQLiteStore(path) if path else None
    if "://" not in url and url.lower().endswith(_SQLITE_SUFFIXES):
        return SQLiteStore(url)
    return None
