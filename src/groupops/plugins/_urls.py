"""Store URLs: which built-in store a ``store=`` / ``--db`` string names."""

from __future__ import annotations

from ._store import Store
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["open_store", "sqlite_path"]

_SQLITE_SCHEME = "sqlite:///"
_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def sqlite_path(url: str) -> str | None:
    """The file a built-in SQLite ``url`` names (see :func:`open_store`), else None."""
    if url.startswith(_SQLITE_SCHEME):
        return url[len(_SQLITE_SCHEME) :] or None
    if "://" not in url and url.lower().endswith(_SQLITE_SUFFIXES):
        return url
    return None


def open_store(url: str, *, read_only: bool = False) -> Store | None:
    """The built-in store that ``url`` names, opened; None for a URL it does not know.

    - ``memory:``: a fresh :class:`MemoryStore`.
    - ``sqlite:///PATH``: a :class:`SQLiteStore` at ``PATH``, read as SQLAlchemy reads it:
      ``sqlite:///data/ops.db`` is relative, ``sqlite:////var/lib/ops.db`` absolute.
    - a plain path ending in ``.db``, ``.sqlite`` or ``.sqlite3``: a :class:`SQLiteStore`.

    ``read_only`` opens a SQLite file read-only (see :class:`SQLiteStore`); it must exist.

    :raises StoreError: the SQLite file cannot be opened (see :class:`SQLiteStore`).
    """
    if url == "memory:":
        return MemoryStore()
    path = sqlite_path(url)
    return SQLiteStore(path, read_only=read_only) if path is not None else None
