"""Facts for batch runs on embedded DuckDB: an events table in DuckDB, conditions compiled
to SQL (:func:`~groupops.rules.compile_sql`) and answered for every subject in one query.

:class:`DuckDBEvents` holds the events table, loaded from a :class:`~groupops.SQLiteStore`
(copied through Arrow: DuckDB's ``sqlite_scanner`` extension is not in the wheel and
extensions are never downloaded), from a Parquet file (DuckDB reads Parquet itself), or
from an Arrow table (a warehouse export). Its :meth:`DuckDBEvents.facts` makes the
:class:`~groupops.StoreFacts` a run reads, with the signature of
:meth:`SQLiteStore.facts`: an engine made with ``Engine(..., facts="duckdb")`` (or given a
:class:`DuckDBEvents`) asks it instead of the store. Decisions, memberships and messages
are still recorded in the store.

The table has the columns of the SQLite store's: ``seq`` (arrival order), ``id``,
``member``, ``grp`` (NULL: member-wide), ``kind``, ``at_us`` (integer microseconds since
the epoch), ``value`` (a double) and ``data`` (JSON text, or NULL). Conditions with a
leaf that has no SQL form, and every other question, are answered from the same table by
the SQL the SQLite store's facts use, over members' histories read from it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import MissingExtraError
from .._model import Member
from ..rules._evaluate import MetricFunction
from ..rules._facts_api import Subject
from ..rules._sql import NotCompilable, compile_sql, subject_rows
from ..rules._world import World
from ._sqlfacts import HistoryCache, SQLiteFacts

if TYPE_CHECKING:
    from .sqlite import SQLiteStore

__all__ = ["EVENT_COLUMNS", "DuckDBEvents", "DuckDBFacts"]

EVENT_COLUMNS = ("seq", "id", "member", "grp", "kind", "at_us", "value", "data")
"""The columns of the events table (Parquet files and Arrow tables need every one but
``seq``, which is their row order when missing)."""

_COPY_BATCH = 100_000  # rows read from SQLite per Arrow batch


def _duckdb() -> Any:
    try:
        import duckdb
        import pyarrow  # noqa: F401  (subjects and copied events go through Arrow)
    except ImportError:
        raise MissingExtraError("duckdb", feature="DuckDB facts") from None
    return duckdb


class DuckDBEvents:
    """An events table in an embedded DuckDB database (in memory unless ``database``
    names a file). Build one with :meth:`from_sqlite`, :meth:`from_parquet` or
    :meth:`from_arrow`; close it when done (or use it as a context manager)."""

    def __init__(self, database: str = ":memory:") -> None:
        duckdb = _duckdb()
        self._conn = duckdb.connect(database)
        self._lock = threading.RLock()
        self._source: SQLiteStore | None = None
        self._owns_source = False
        self._seq = 0
        self.payload_rows = False  # rows read through their payload (see refresh)
        self._caches: dict[tzinfo, HistoryCache] = {}
        self.path = f"duckdb:{database}"

    # -- loading ------------------------------------------------------------------------
    @classmethod
    def from_sqlite(cls, store: SQLiteStore | str | Path) -> DuckDBEvents:
        """The events of a SQLite store (a :class:`~groupops.SQLiteStore` or its path),
        copied in; :meth:`refresh` copies the ones stored since."""
        from .sqlite import SQLiteStore

        source = store if isinstance(store, SQLiteStore) else SQLiteStore(str(store))
        events = cls()
        events._source = source
        events._owns_source = source is not store  # opened here from a path: closed with it
        events._create()
        events.refresh()
        return events

    @classmethod
    def from_parquet(cls, path: str | Path) -> DuckDBEvents:
        """The events of a Parquet file with :data:`EVENT_COLUMNS`."""
        events = cls()
        with events._lock:
            relation = events._conn.read_parquet(str(path))
            events._load(relation)
        return events

    @classmethod
    def from_arrow(cls, table: Any) -> DuckDBEvents:
        """The events of a :class:`pyarrow.Table` with :data:`EVENT_COLUMNS`."""
        events = cls()
        with events._lock:
            events._load(events._conn.from_arrow(table))
        return events

    def _create(self) -> None:
        self._conn.execute(
            "CREATE TABLE events (seq BIGINT, id VARCHAR, member VARCHAR, grp VARCHAR, kind VARCHAR,"
            " at_us BIGINT, value DOUBLE, data VARCHAR, payload VARCHAR)"
        )

    def _load(self, relation: Any) -> None:
        columns = set(relation.columns)
        missing = [c for c in EVENT_COLUMNS if c != "seq" and c not in columns]
        if missing:
            raise ValueError(f"events table: columns {missing!r} are missing (needs {list(EVENT_COLUMNS)!r})")
        seq = "seq" if "seq" in columns else "row_number() OVER ()"
        self._conn.register("_loaded", relation)
        self._create()
        self._conn.execute(
            f"INSERT INTO events SELECT {seq}, CAST(id AS VARCHAR), CAST(member AS VARCHAR),"
            " CAST(grp AS VARCHAR), CAST(kind AS VARCHAR), CAST(at_us AS BIGINT), CAST(value AS DOUBLE),"
            " CAST(data AS VARCHAR), NULL FROM _loaded"
        )
        self._conn.unregister("_loaded")
        self._index()

    def _index(self) -> None:
        self._conn.execute("CREATE INDEX IF NOT EXISTS events_member ON events (member)")

    def refresh(self) -> int:
        """Copy in the events the source store received since the last copy (none for a
        Parquet file or an Arrow table); returns how many."""
        source = self._source
        if source is None:
            return 0
        import pyarrow as pa

        copied = 0
        with self._lock:
            after = self._seq
            while True:
                # rows a migration left without a value are read through their payload
                rows = source._read(
                    "SELECT seq, id, member, grp, kind, at_us, value, data,"
                    " CASE WHEN value IS NULL THEN payload END FROM events"
                    " WHERE seq > ? ORDER BY seq LIMIT ?",
                    (after, _COPY_BATCH),
                )
                if not rows:
                    break
                names = [*EVENT_COLUMNS, "payload"]
                table = pa.table(
                    {name: list(column) for name, column in zip(names, zip(*rows, strict=True), strict=True)}
                )
                self._conn.register("_copied", table)
                self._conn.execute(
                    "INSERT INTO events"
                    " SELECT seq, id, member, grp, kind, at_us, value, data, payload FROM _copied"
                )
                self._conn.unregister("_copied")
                after = rows[-1][0]
                copied += len(rows)
            if copied:
                changed = {
                    r[0]
                    for r in self._conn.execute(
                        "SELECT DISTINCT member FROM events WHERE seq > ?", [self._seq]
                    ).fetchall()
                }
                for cache in self._caches.values():
                    for member in changed:
                        cache.histories.pop(member, None)
                self._seq = after
                self._index()
                [(n,)] = self._conn.execute(
                    "SELECT count(*) FROM events WHERE payload IS NOT NULL"
                ).fetchall()
                self.payload_rows = n > 0
        return copied

    # -- reading (the interface SQLiteFacts reads its store through) ----------------------
    def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self._lock:
            return list(self._conn.execute(sql, list(params)).fetchall())

    def _cursor(self) -> Any:
        return self._conn.cursor()

    def facts(
        self,
        *,
        tz: tzinfo,
        profiles: Mapping[str, Member] | Callable[[], Mapping[str, Member]] | None = None,
        metrics: Mapping[str, MetricFunction] | None = None,
        world: World | None = None,
        presence: Callable[[str], Mapping[str, str]] | None = None,
    ) -> DuckDBFacts:
        """The facts of these events, as :meth:`SQLiteStore.facts` makes them (and with
        its arguments); a table loaded from a store first copies in what it received."""
        self.refresh()
        with self._lock:
            cache = self._caches.get(tz)
            if cache is None:
                cache = self._caches[tz] = HistoryCache(tz, self._lock)
        return DuckDBFacts(self, cache, profiles, metrics, world=world, presence=presence)  # type: ignore[arg-type]

    def close(self) -> None:
        """Close the DuckDB connection (and the SQLite store :meth:`from_sqlite` opened
        from a path)."""
        self._conn.close()
        if self._owns_source and self._source is not None:
            self._source.close()

    def __enter__(self) -> DuckDBEvents:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DuckDBFacts(SQLiteFacts):
    """:class:`~groupops.StoreFacts` over a :class:`DuckDBEvents` table: ``holding`` in
    one compiled query for every subject (the closures where a leaf has no SQL form);
    everything else as the SQLite store's facts answer it, from the DuckDB table."""

    @property
    def _events(self) -> DuckDBEvents:
        """The table these facts read: the store argument of :class:`SQLiteFacts`."""
        return self._store  # type: ignore[return-value]

    def holding(
        self, condition: Any, subjects: Sequence[Subject], at: datetime, *, default_scope: str
    ) -> list[bool]:
        if not subjects or self._events.payload_rows:
            # rows a migration left without columns are validated in Python: closures
            return super().holding(condition, subjects, at, default_scope=default_scope)
        try:
            query = compile_sql(condition, at=at, tz=self.tz, default_scope=default_scope, dialect="duckdb")  # type: ignore[arg-type]
        except NotCompilable:
            return super().holding(condition, subjects, at, default_scope=default_scope)
        return sql_verdicts(self._events, query, subjects, self._members())


def sql_verdicts(
    events: DuckDBEvents, query: Any, subjects: Sequence[Subject], profiles: Mapping[str, Member]
) -> list[bool]:
    """Run a compiled condition over ``subjects`` in DuckDB: the subjects and their labels
    go in as Arrow tables, the verdicts come back by ``sid``."""
    import pyarrow as pa

    from ..rules._sql import SUBJECT_COLUMNS

    rows, labels = subject_rows(
        [s.membership for s in subjects], profiles, [s.period_start for s in subjects]
    )
    types = [pa.int64(), pa.string(), pa.string(), *[pa.int64()] * 5, pa.string(), pa.string(), pa.string()]
    columns = list(zip(*rows, strict=True))
    table = pa.table(
        {n: pa.array(c, type=t) for n, c, t in zip(SUBJECT_COLUMNS, columns, types, strict=True)}
    )
    label_table = pa.table(
        {
            "sid": pa.array([sid for sid, _ in labels], type=pa.int64()),
            "label": pa.array([label for _, label in labels], type=pa.string()),
        }
    )
    with events._lock:
        cursor = events._cursor()
        try:
            cursor.register("subjects", table)
            cursor.register("subject_labels", label_table)
            found = cursor.execute(query.sql, query.params).fetchall()
        finally:
            cursor.close()
    verdicts = [False] * len(subjects)
    for sid, verdict in found:
        verdicts[sid] = bool(verdict)
    return verdicts
