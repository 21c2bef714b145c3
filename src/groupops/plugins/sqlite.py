"""The SQLite store: the embedded default, one file, safe under concurrent writers.

Every record is kept whole as the JSON of its model (``payload``), so it comes back
exactly as it went in, time-zone offsets included; the other columns are copies of the
fields the store filters and orders by. Instants are also kept as integer microseconds
since the Unix epoch (UTC), so comparisons in SQL are exact and independent of offsets.

Transactions are ``BEGIN IMMEDIATE``: SQLite's write lock, taken when the transaction
starts rather than at its first write, excludes every other writer on the file (other
processes included) for its whole length, so a read-check-write inside
:meth:`SQLiteStore.transaction` cannot race. One connection serves all threads of the
process; a re-entrant lock, held for the length of a transaction, serialises them.

A file is opened only if it is a groupops store: new or empty, or marked as ours (the
``application_id`` below, or the tables of our schema with a schema version). Any other
SQLite database is refused untouched, as is one written by a newer groupops.

``read_only=True`` opens the file read-only and never creates, migrates or locks it for
writing: the store reads a snapshot of the file taken when it was opened (copied into
memory), and what is written to it goes to that copy only and is discarded on close.
That is what previews, ``explain`` and reports need: they see consistent data and never
hold up a writer.

A stored row that no longer validates (an event time outside the supported range,
written by an older groupops or by hand) is skipped with a warning naming it, so that
one bad row cannot stop every run.

Why it is this long: it is one implementation of the :class:`~groupops.Store` protocol,
one method per protocol method, with the schema and its migrations it owns; the length
is the protocol's, and the memory store mirrors it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, tzinfo
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from .._decision import Decision, DecisionHead
from .._errors import StoreError
from .._model import (
    Event,
    Group,
    GroupChange,
    GroupStatus,
    LabelChange,
    LedgerEntry,
    Member,
    Membership,
    MembershipChange,
)
from .._outbox import MessageStatus, OutboxMessage
from .._time import EPOCH, micros
from .._trusted import share_fields_set
from ..rules._evaluate import MetricFunction
from ..rules._facts_api import Subject
from ..rules._sql import SUBJECT_COLUMNS, SQLCondition, subject_rows
from ..rules._world import World
from ._event_rows import EventRow, event_row
from ._sqlfacts import HistoryCache, SQLiteFacts, _marks
from ._store import joined

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore"]

log = logging.getLogger("groupops.store")

APPLICATION_ID: Final[int] = 0x47704F70
"""``PRAGMA application_id`` of a groupops store ("GpOp"): marks the file as ours."""

# the tables of schema version 1: a file holding them and a user_version is ours even
# without the application id (files made before it was set)
_OUR_TABLES: Final[frozenset[str]] = frozenset(
    {"events", "members", "memberships", "decisions", "outbox", "state"}
)

_M = TypeVar("_M", bound=BaseModel)

MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: the first schema. Tables whose order matters carry an INTEGER PRIMARY KEY
    # ``seq`` (an alias of the rowid, so VACUUM cannot renumber it) and keep their
    # natural key UNIQUE beside it.
    """
    CREATE TABLE events (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        id      TEXT NOT NULL UNIQUE,
        member  TEXT NOT NULL,
        grp     TEXT,
        kind    TEXT NOT NULL,
        at      TEXT NOT NULL,
        at_us   INTEGER NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE TABLE members (
        id      TEXT PRIMARY KEY,
        payload TEXT NOT NULL
    );
    CREATE TABLE memberships (
        member  TEXT NOT NULL,
        grp     TEXT NOT NULL,
        status  TEXT NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (member, grp)
    );
    CREATE INDEX memberships_grp ON memberships (grp, member);
    CREATE TABLE decisions (
        seq     INTEGER PRIMARY KEY,
        id      TEXT NOT NULL UNIQUE,
        policy  TEXT NOT NULL,
        member  TEXT NOT NULL,
        grp     TEXT NOT NULL,
        action  TEXT NOT NULL,
        at_us   INTEGER NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE INDEX decisions_policy_member ON decisions (policy, member);
    CREATE INDEX decisions_member_grp ON decisions (member, grp);
    CREATE INDEX decisions_action ON decisions (action);
    CREATE TABLE outbox (
        seq            INTEGER PRIMARY KEY,
        key            TEXT NOT NULL UNIQUE,
        status         TEXT NOT NULL,
        next_at_us     INTEGER NOT NULL,
        lease_until_us INTEGER,
        member         TEXT NOT NULL,
        messenger      TEXT NOT NULL,
        decision       TEXT NOT NULL,
        payload        TEXT NOT NULL
    );
    CREATE INDEX outbox_status_next ON outbox (status, next_at_us);
    CREATE INDEX outbox_decision ON outbox (decision);
    CREATE INDEX outbox_member ON outbox (member);
    CREATE TABLE state (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: delivery order, lease owners and quotas answered by a query. Each message keeps
    # its recipient and decision time (the order messages to one recipient go in), the
    # owner of its lease, and when it was delivered. A lease is now measured on the
    # deliverers' clock, not in ``at``: leases written before are dropped (a message
    # claimed by an older version is claimable again at once).
    """
    ALTER TABLE outbox ADD COLUMN recipient TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN created_us INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
    ALTER TABLE outbox ADD COLUMN delivered_us INTEGER;
    UPDATE outbox SET
        recipient = json_extract(payload, '$.recipient'),
        created_us = CAST(round((julianday(json_extract(payload, '$.created_at')) - 2440587.5)
                                * 86400000) AS INTEGER) * 1000,
        delivered_us = CAST(round((julianday(json_extract(payload, '$.delivered_at')) - 2440587.5)
                                  * 86400000) AS INTEGER) * 1000,
        lease_until_us = NULL,
        payload = json_set(payload, '$.lease_until', NULL);
    CREATE INDEX outbox_recipient_order ON outbox (recipient, created_us, seq);
    CREATE INDEX outbox_delivered ON outbox (messenger, recipient, delivered_us);
    """,
    # 3: membership history: every state a membership was recorded in, from when it took
    # effect (``explain`` at a past instant reads the membership as it was then). A file
    # migrated from version 1 has no history for the changes made before.
    """
    CREATE TABLE membership_history (
        seq     INTEGER PRIMARY KEY,
        member  TEXT NOT NULL,
        grp     TEXT NOT NULL,
        at_us   INTEGER NOT NULL,
        decision TEXT,
        payload TEXT NOT NULL
    );
    CREATE INDEX membership_history_key ON membership_history (member, grp, at_us, seq);
    """,
    # 4: groups in the store: each group as it stands (seeded from the rule book, changed
    # by decisions) and every state it took. A file migrated from an earlier version has
    # no groups until an engine seeds them from its book.
    """
    CREATE TABLE groups (
        id      TEXT PRIMARY KEY,
        status  TEXT NOT NULL,
        family  TEXT,
        payload TEXT NOT NULL
    );
    CREATE INDEX groups_status_family ON groups (status, family);
    CREATE TABLE group_history (
        seq      INTEGER PRIMARY KEY,
        grp      TEXT NOT NULL,
        at_us    INTEGER NOT NULL,
        decision TEXT,
        payload  TEXT NOT NULL
    );
    CREATE INDEX group_history_key ON group_history (grp, at_us, seq);
    """,
    # 5: the points ledger: one entry per cause (an event or a decision), earned or
    # redeemed, written in the transaction of the run that decided it.
    """
    CREATE TABLE ledger (
        seq     INTEGER PRIMARY KEY,
        id      TEXT NOT NULL UNIQUE,
        member  TEXT NOT NULL,
        policy  TEXT NOT NULL,
        at_us   INTEGER NOT NULL,
        points  REAL NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE INDEX ledger_member ON ledger (member, at_us, seq);
    """,
    # 6: label history (every set of labels a member held, from when, and the decision
    # that set it), and per-action rates answered by an index on the action each message
    # carries in its payload.
    """
    CREATE TABLE label_history (
        seq      INTEGER PRIMARY KEY,
        member   TEXT NOT NULL,
        at_us    INTEGER NOT NULL,
        decision TEXT,
        payload  TEXT NOT NULL
    );
    CREATE INDEX label_history_key ON label_history (member, at_us, seq);
    CREATE INDEX outbox_action_delivered
        ON outbox (messenger, json_extract(payload, '$.action'), delivered_us);
    """,
    # 7: facts where the events are (see docs/design.md, "Facts in the store"). Each event
    # keeps its ``value`` and its ``data`` (JSON, NULL when empty) beside the payload, so a
    # run reads a member's history from columns without validating every payload again;
    # indexes answer windowed questions per member and per group. A row whose ``value``
    # is NULL (written by hand, not through the store) is read through its payload.
    """
    ALTER TABLE events ADD COLUMN value REAL;
    ALTER TABLE events ADD COLUMN data TEXT;
    UPDATE events SET
        value = json_extract(payload, '$.value'),
        data = nullif(json_extract(payload, '$.data'), '{}');
    CREATE INDEX events_member_kind_at ON events (member, kind, at_us);
    CREATE INDEX events_grp_kind_at ON events (grp, kind, at_us);
    """,
)
"""Schema migrations, oldest first: the file at version ``n`` runs ``MIGRATIONS[n:]``."""

SCHEMA_VERSION: Final[int] = len(MIGRATIONS)
"""The schema version this code reads and writes (kept in ``PRAGMA user_version``)."""

# Rows fetched per query by ``events_after``: enough to amortise a query, small enough
# that millions of events never sit in memory at once.
_CHUNK = 1000
# Values bound in one ``IN (...)`` list: far below SQLite's limit on parameters.
_IN_LIST = 500
# Queued writes (decisions, memberships and their history, messages) are written once
# this many are queued, inside the transaction: a run of a million members does not hold
# every record it made, and its serialised form, until the commit. Nothing is committed
# before the transaction ends, so a crash still leaves nothing of the run.
_FLUSH_AT = 5_000
# Stored rows kept by their text, per model (see _cached): a run reads the same few
# groups once per decision and each membership several times (once per policy).
_READ_CACHE: Final[dict[type[BaseModel], int]] = {Group: 1_000, Membership: 200_000}


def _statements(script: str) -> Iterator[str]:
    """The statements of a script, one by one.

    ``executescript`` would commit the migration's transaction before running, so
    migrations are executed a statement at a time instead.
    """
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip():
        yield pending.strip()


class SQLiteStore:
    """A :class:`~groupops.plugins._store.Store` in one SQLite file (WAL mode).

    :param path: the database file; created, with its schema, if it does not exist
        (unless ``read_only``).
    :param timeout: seconds to wait for the write lock (held by another process or
        thread) before giving up with :class:`~groupops.StoreError`.
    :param read_only: open an existing file without ever writing to it or taking its
        write lock: reads see the file as it was when opened; writes go to a private
        in-memory copy and are discarded on close (a dry run's scratch space).
    :raises StoreError: the file is not a groupops database (another application's
        SQLite file is refused untouched), was written by a newer groupops (its schema
        version is higher than :data:`SCHEMA_VERSION`), or (``read_only``) does not
        exist or needs a migration.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 30.0, read_only: bool = False
    ) -> None:
        self._path = os.fspath(path)
        self._timeout = timeout
        self._lock = threading.RLock()
        self._depth = 0
        self._closed = False
        self._histories: dict[tzinfo, HistoryCache] = {}
        self._pending = _Pending()
        # decisions the transaction has written already, by id, until it ends: a run
        # reads back what it decided (a notice's period, a later round's invitations)
        # without validating its own records again
        self._written: dict[str, Decision] = {}
        # groups as they stand, by id, inside a transaction (no other writer can change
        # them then): a run asks for the same few groups several times per decision
        self._groups_now: dict[str, Group | None] = {}
        self._read_cache: dict[type[BaseModel], dict[str, Any]] = {model: {} for model in _READ_CACHE}
        self.read_only = read_only
        if read_only:
            self._conn = self._snapshot()
            return
        try:
            # isolation_level=None: the sqlite3 module must not open transactions on its
            # own; this class issues every BEGIN and COMMIT itself.
            self._conn = sqlite3.connect(
                self._path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite store {self._path!r}: {exc}") from exc
        try:
            with self._errors("open"):
                self._identify()
            self._configure()
            self._migrate()
        except BaseException:
            self._conn.close()
            self._closed = True
            raise

    @property
    def path(self) -> str:
        """The database file this store keeps its data in."""
        return self._path

    def __repr__(self) -> str:
        return f"SQLiteStore({self._path!r})"

    # set-up --------------------------------------------------------------------------
    def _snapshot(self) -> sqlite3.Connection:
        """The file, opened read-only, copied into a private in-memory database."""
        if not os.path.exists(self._path):
            raise StoreError(f"no SQLite store at {self._path!r}")
        uri = "file:" + urllib.parse.quote(os.path.abspath(self._path)) + "?mode=ro"
        try:
            source = sqlite3.connect(uri, uri=True, timeout=self._timeout)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite store {self._path!r} read-only: {exc}") from exc
        copy = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        try:
            self._conn = source
            with self._errors("read"):
                version = self._identify()
                if version == 0:
                    raise StoreError(f"SQLite store {self._path!r} is empty: nothing ingested into it yet")
                if version != SCHEMA_VERSION:
                    raise StoreError(
                        f"SQLite store {self._path!r} has an older schema: open it once for "
                        "writing (groupops ingest or run) to migrate it"
                    )
                source.backup(copy)
        except BaseException:
            copy.close()
            raise
        finally:
            source.close()
        return copy

    def _identify(self) -> int:
        """The file's schema version, after making sure the file is ours (or empty).

        The id, the version and the tables are read in one read transaction: read one by
        one, a process migrating the same fresh file at that moment could commit between
        them, and a fresh file would look like someone else's database."""
        self._conn.execute("BEGIN")
        try:
            app_id: int = self._conn.execute("PRAGMA application_id").fetchone()[0]
            version: int = self._conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                name
                for (name,) in self._conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            }
        finally:
            self._conn.execute("COMMIT")
        fresh = app_id == 0 and version == 0 and not tables
        ours = app_id == APPLICATION_ID or (app_id == 0 and version >= 1 and _OUR_TABLES <= tables)
        if not (fresh or ours):
            listed = ", ".join(sorted(tables)[:6]) + (", ..." if len(tables) > 6 else "")
            what = f"tables {listed}" if tables else f"application id {app_id}, version {version}"
            raise StoreError(
                f"{self._path!r} is a SQLite database but not a groupops store ({what}); "
                "refusing to open it: name a new or groupops file"
            )
        return self._schema_version()

    def _configure(self) -> None:
        with self._errors("configure"):
            self._conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            mode = self._switch_to_wal()
            # An in-memory database reports "memory"; a file that cannot use WAL (some
            # network file systems) would silently lose concurrent-writer safety.
            if mode not in ("wal", "memory"):
                raise StoreError(f"SQLite store {self._path!r}: cannot switch to WAL mode (got {mode!r})")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA cache_size = -65536")

    def _switch_to_wal(self) -> str:
        """Put the file in WAL mode (a lasting property of the file); the mode it is in."""
        mode: str = self._conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode == "wal":
            return mode
        deadline = time.monotonic() + self._timeout
        delay = 0.001
        while True:
            try:
                mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                return mode
            except sqlite3.OperationalError as exc:
                # Switching upgrades a read lock to a write lock, and SQLite refuses that
                # at once, without its busy handler (which could deadlock), when another
                # process is switching the same fresh file: so wait here instead.
                busy = exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
                if not busy or time.monotonic() >= deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.05)

    def _schema_version(self) -> int:
        version: int = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"SQLite store {self._path!r} has schema version {version}, newer than the "
                f"version {SCHEMA_VERSION} this groupops supports: upgrade groupops to open it"
            )
        return version

    def _migrate(self) -> None:
        with self._errors("read the schema version of"):
            # Checked without the write lock first, so opening an up-to-date file never
            # waits for another process's transaction.
            if self._schema_version() == SCHEMA_VERSION:
                return
        with self.transaction(), self._errors("migrate the schema of"):
            # Checked again under the write lock: a process that opened the same fresh
            # file at the same moment may have migrated it while this one waited.
            version = self._schema_version()
            for script in MIGRATIONS[version:]:
                for statement in _statements(script):
                    self._conn.execute(statement)
            if version != SCHEMA_VERSION:
                self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                self._conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    def _load(self, model: type[_M], payload: str, what: str) -> _M | None:
        """A stored row as its model; None, with a warning, if it no longer validates."""
        try:
            return model.model_validate_json(payload)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors(include_url=False)
            )
            log.warning("SQLite store %r: skipping stored %s, not valid: %s", self._path, what, problems)
            return None

    def _loaded(self, model: type[_M], rows: Iterable[tuple[str, str]], what: str) -> list[_M]:
        loaded = (self._load(model, payload, f"{what} {key!r}") for key, payload in rows)
        return [m for m in loaded if m is not None]

    def _cached(self, model: type[_M], payload: str, what: str) -> _M | None:
        """:meth:`_load` of a model whose stored text is read again and again (groups,
        memberships): the same text is the same frozen model, validated once. A row
        changed by anyone is new text; at ``_READ_CACHE[model]`` texts the cache starts
        over, so it never grows with the community."""
        known: _M | None = self._read_cache[model].get(payload)
        if known is None:
            known = self._load(model, payload, what)
            if known is not None:
                self._remember(payload, known)
        return known

    def _remember(self, payload: str, known: BaseModel) -> None:
        """Keep ``known`` as what ``payload`` (its stored text) reads as, for :meth:`_cached`,
        with the fields set its shape shares (a run holds memberships by the thousand)."""
        cache = self._read_cache[type(known)]
        if len(cache) >= _READ_CACHE[type(known)]:
            cache.clear()
        cache[payload] = share_fields_set(known)

    # locking -------------------------------------------------------------------------
    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn SQLite's errors into StoreError naming the file."""
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"cannot {doing} SQLite store {self._path!r}: {exc}") from exc

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the connection for this thread (waiting at most ``timeout``)."""
        self._acquire()
        try:
            yield
        finally:
            self._lock.release()

    def _acquire(self) -> None:
        if not self._lock.acquire(timeout=self._timeout):
            raise StoreError(
                f"SQLite store {self._path!r}: another thread held a transaction for more than "
                f"{self._timeout}s"
            )
        if self._closed:
            self._lock.release()
            raise StoreError(f"SQLite store {self._path!r} is closed")

    @contextmanager
    def _reading(self) -> Iterator[None]:
        # _locked and _errors("read") in one: a run reads tens of thousands of times
        self._acquire()
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read SQLite store {self._path!r}: {exc}") from exc
        finally:
            self._lock.release()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        # A write outside a transaction gets a transaction of its own; inside one, it
        # joins it (as a nested transaction() would, without its cost: a run writes
        # several times per decision).
        self._acquire()
        try:
            if not self._depth:
                with self.transaction(), self._errors("write to"):
                    yield
                return
            self._depth += 1  # the lock is ours: so is the open transaction
            try:
                yield
            except sqlite3.Error as exc:
                raise StoreError(f"cannot write to SQLite store {self._path!r}: {exc}") from exc
            finally:
                self._depth -= 1
        finally:
            self._lock.release()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """An exclusive write transaction; nested calls join the outer one.

        Starts with ``BEGIN IMMEDIATE``, which waits up to ``timeout`` for any other
        writer (thread or process) to finish. Commits when the outermost block ends;
        rolls back everything when an exception leaves it.

        :raises StoreError: the write lock was not free within ``timeout``, or the
            commit failed (nothing was written).
        """
        with self._locked():
            if self._depth:
                with joined(self):
                    yield
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(
                    f"SQLite store {self._path!r}: could not take the write lock within "
                    f"{self._timeout}s ({exc})"
                ) from exc
            self._depth = 1
            try:
                yield
            except BaseException:
                self._rollback()
                raise
            else:
                self._commit()
            finally:
                self._depth = 0
                self._written = {}
                self._groups_now = {}

    def _commit(self) -> None:
        if self._closed:
            self._pending = _Pending()
            raise StoreError(f"SQLite store {self._path!r} was closed inside a transaction: nothing written")
        # SQLite rolls a transaction back by itself after some errors (disk full, I/O);
        # committing then would silently commit nothing, so say so.
        if not self._conn.in_transaction:
            self._pending = _Pending()
            raise StoreError(f"SQLite store {self._path!r}: the transaction was rolled back by SQLite")
        try:
            self._flush()
            self._conn.execute("COMMIT")
        except (sqlite3.Error, StoreError) as exc:
            self._rollback()
            raise StoreError(f"SQLite store {self._path!r}: commit failed, nothing written ({exc})") from exc

    def _rollback(self) -> None:
        self._pending = _Pending()
        if not self._closed and self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _flush(self) -> None:
        """Write what a transaction queued (decisions, memberships and their history,
        messages): one ``executemany`` per table, in the order they were queued."""
        pending = self._pending
        if not pending:
            return
        self._pending = _Pending()
        with self._errors("write to"):
            if pending.decisions:
                self._conn.executemany(
                    "INSERT INTO decisions (id, policy, member, grp, action, at_us, payload)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                    [_decision_row(d) for d in pending.decisions.values()],
                )
                self._written.update(pending.decisions)
            if pending.memberships:
                self._conn.executemany(
                    "INSERT INTO memberships (member, grp, status, payload) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (member, grp) DO UPDATE"
                    " SET status = excluded.status, payload = excluded.payload",
                    [self._membership_row(m) for m in pending.memberships.values()],
                )
            if pending.history:
                self._conn.executemany(
                    "INSERT INTO membership_history (member, grp, at_us, decision, payload)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [
                        (
                            c.membership.member,
                            c.membership.group,
                            micros(c.at),
                            c.decision,
                            c.model_dump_json(),
                        )
                        for c in pending.history
                    ],
                )
            if pending.messages:
                self._conn.executemany(
                    self._UPSERT_MESSAGE + "NOTHING", [_message_row(m) for m in pending.messages]
                )

    def _membership_row(self, m: Membership) -> tuple[str, str, str, str]:
        payload = m.model_dump_json()
        self._remember(payload, m)  # the text written is the membership read back
        return (m.member, m.group, m.status, payload)

    @contextmanager
    def _flushed(self) -> Iterator[None]:
        """Read with every queued write in the tables first."""
        with self._locked():
            self._flush()
            with self._errors("read"):
                yield

    def close(self) -> None:
        """Close the connection; a transaction still open is rolled back. Idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    # events --------------------------------------------------------------------------
    def add_events(self, events: Sequence[Event]) -> list[bool]:
        """Store events; per event, True if new, False if its id was already stored
        (earlier, or earlier in the same batch). What :meth:`add_event_rows` does with
        the events' rows."""
        return self.add_event_rows([event_row(e) for e in events])

    def add_event_rows(self, rows: Sequence[EventRow]) -> list[bool]:
        """Store events given as their rows (:data:`~groupops.plugins._event_rows.EventRow`:
        the ``events`` table's columns and the event's JSON), as ingest makes them
        without building each event; per row, True if new, False if its id was already
        stored (earlier, or earlier in the same batch).

        One ``executemany`` inserts the rows whose id is not stored yet, inside the
        write transaction, so no other writer can store one of the same ids in between.
        When it inserted fewer rows than it was given, one query reads which ids it
        inserted (those numbered after the last event stored before): the first row of
        each of those ids is new, every other row a duplicate."""
        with self._writing():
            if not rows:
                return []
            last = self._conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
            changes = self._conn.total_changes
            self._conn.executemany(
                "INSERT INTO events (id, member, grp, kind, at, at_us, value, data, payload)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                rows,
            )
            if self._conn.total_changes - changes == len(rows):
                return [True] * len(rows)
            inserted = {r[0] for r in self._conn.execute("SELECT id FROM events WHERE seq > ?", (last,))}
        out: list[bool] = []
        for row in rows:
            out.append(row[0] in inserted)
            inserted.discard(row[0])  # a later row with the same id is a duplicate
        return out

    def events_after(self, seq: int) -> Iterator[tuple[int, Event]]:
        """Events stored after sequence number ``seq`` (0: all), with their numbers,
        in storage order.

        The events are those stored when this is called (as with ``MemoryStore``), read
        ``1000`` at a time as the iterator is consumed; no statement stays open between
        reads, so the caller may write to the store while iterating.
        """
        with self._reading():
            last: int | None = self._conn.execute("SELECT max(seq) FROM events").fetchone()[0]
        return self._events_between(seq, last or 0)

    def _events_between(self, after: int, last: int) -> Iterator[tuple[int, Event]]:
        while after < last:
            with self._reading():
                rows = self._conn.execute(
                    "SELECT seq, payload FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                    (after, last, _CHUNK),
                ).fetchall()
            if not rows:
                return
            for number, payload in rows:
                event = self._load(Event, payload, f"event #{number}")
                if event is not None:
                    yield number, event
            after = rows[-1][0]

    # facts ---------------------------------------------------------------------------
    def facts(
        self,
        *,
        tz: tzinfo,
        profiles: Mapping[str, Member] | Callable[[], Mapping[str, Member]] | None = None,
        metrics: Mapping[str, MetricFunction] | None = None,
        world: World | None = None,
        presence: Callable[[str], Mapping[str, str]] | None = None,
    ) -> SQLiteFacts:
        """The facts of the events stored here, answered in SQL where the events are
        (the optional store method the engine looks for: see :class:`~groupops.Store`).

        Calendar days are counted in ``tz``; conditions see ``profiles`` (a mapping, or a
        function returning one), ``metrics``, ``world`` (other members and the points
        ledger; referees, referrers and balances are asked of it) and ``presence`` (a
        member's present groups, for ``member_of``), as :class:`~groupops.MemoryFacts`.
        Members' histories read for conditions are kept between calls and dropped when an
        event of that member is stored (by any process); call this again to see events stored since."""
        with self._lock:
            cache = self._histories.get(tz)
            if cache is None:
                cache = self._histories[tz] = HistoryCache(tz, self._lock)
        with cache.lock:
            [(last,)] = self._read("SELECT coalesce(max(seq), 0) FROM events", ())
            if last > cache.seq:
                if cache.histories:
                    changed = self._read(
                        "SELECT DISTINCT member FROM events WHERE seq > ? AND seq <= ?", (cache.seq, last)
                    )
                    for (member,) in changed:
                        cache.drop(member)
                cache.seq = last
        return SQLiteFacts(self, cache, profiles, metrics, world=world, presence=presence)

    def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Every row of one query (for the facts answered here)."""
        with self._reading():
            return self._conn.execute(sql, params).fetchall()

    def _verdicts(
        self, query: SQLCondition, subjects: Sequence[Subject], profiles: Mapping[str, Member]
    ) -> list[bool]:
        """A compiled condition's verdicts for ``subjects``, which go into temporary
        tables of this connection (nothing is written to the store's file)."""
        rows, labels = subject_rows(
            [s.membership for s in subjects], profiles, [s.period_start for s in subjects]
        )
        columns = ", ".join(SUBJECT_COLUMNS)
        verdicts = [False] * len(subjects)
        with self._reading():
            conn = self._conn
            conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS subjects ({columns})")
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS subject_labels (sid, label)")
            try:
                conn.executemany(f"INSERT INTO temp.subjects VALUES ({_marks(len(SUBJECT_COLUMNS))})", rows)
                conn.executemany("INSERT INTO temp.subject_labels VALUES (?, ?)", labels)
                for sid, verdict in conn.execute(query.sql, query.params):
                    verdicts[sid] = bool(verdict)
            finally:
                conn.execute("DELETE FROM temp.subjects")
                conn.execute("DELETE FROM temp.subject_labels")
        return verdicts

    # members -------------------------------------------------------------------------
    def put_member(self, member: Member) -> None:
        """Insert or replace a member profile."""
        with self._writing():
            self._conn.execute(
                "INSERT INTO members (id, payload) VALUES (?, ?)"
                " ON CONFLICT (id) DO UPDATE SET payload = excluded.payload",
                (member.id, member.model_dump_json()),
            )

    def get_member(self, member: str) -> Member | None:
        """A member profile, or None."""
        with self._reading():
            row = self._conn.execute("SELECT payload FROM members WHERE id = ?", (member,)).fetchone()
        return None if row is None else self._load(Member, row[0], f"member {member!r}")

    def members(self) -> list[Member]:
        """Every member profile, by id."""
        with self._reading():
            rows = self._conn.execute("SELECT id, payload FROM members ORDER BY id").fetchall()
        return self._loaded(Member, rows, "member")

    # memberships ---------------------------------------------------------------------
    def get_membership(self, member: str, group: str) -> Membership | None:
        """The membership of ``member`` in ``group``, or None."""
        with self._reading():
            queued = self._pending.memberships.get((member, group))
            if queued is not None:
                return queued
            row = self._conn.execute(
                "SELECT payload FROM memberships WHERE member = ? AND grp = ?", (member, group)
            ).fetchone()
        if row is None:
            return None
        return self._cached(Membership, row[0], f"membership {member!r} in {group!r}")

    def get_memberships(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Membership]:
        """The stored memberships of (member, group) pairs, by pair (pairs not stored
        are left out): one query per ``_IN_LIST`` members, where :meth:`get_membership`
        is one per pair."""
        wanted = set(keys)
        members = sorted({member for member, _ in wanted})
        found: dict[tuple[str, str], Membership] = {}
        with self._flushed():
            for i in range(0, len(members), _IN_LIST):
                chunk = members[i : i + _IN_LIST]
                marks = ", ".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT member, grp, payload FROM memberships WHERE member IN ({marks})", chunk
                ).fetchall()
                for member, group, payload in rows:
                    if (member, group) in wanted:
                        ms = self._cached(Membership, payload, f"membership {member!r} in {group!r}")
                        if ms is not None:
                            found[(member, group)] = ms
        return found

    def put_membership(self, membership: Membership) -> None:
        """Insert or replace the membership (keyed by member and group)."""
        with self._writing():
            self._pending.memberships[(membership.member, membership.group)] = membership
            if self._depth == 1 or len(self._pending) >= _FLUSH_AT:  # alone, or enough queued
                self._flush()

    def record_membership(self, change: MembershipChange) -> None:
        """Insert or replace the membership, and add the change to its history."""
        ms = change.membership
        with self._writing():
            self._pending.memberships[(ms.member, ms.group)] = ms
            self._pending.history.append(change)
            if self._depth == 1 or len(self._pending) >= _FLUSH_AT:  # alone, or enough queued
                self._flush()

    def membership_history(self, member: str, group: str) -> list[MembershipChange]:
        """Every change kept for the membership, oldest first."""
        with self._flushed():
            rows = self._conn.execute(
                "SELECT payload FROM membership_history WHERE member = ? AND grp = ? ORDER BY at_us, seq",
                (member, group),
            ).fetchall()
        return [MembershipChange.model_validate_json(payload) for (payload,) in rows]

    def memberships(self, *, group: str | None = None, member: str | None = None) -> list[Membership]:
        """Memberships, optionally of one group and/or one member, by (group, member)."""
        return self._memberships_where(*_filters(grp=group, member=member))

    def memberships_with_status(self, group: str, statuses: Collection[str]) -> list[Membership]:
        """The memberships of ``group`` whose status is one of ``statuses``, by member:
        the rest are never read (a group's evicted and departed members outnumber its
        present ones in time; a revival asks only for the evicted)."""
        wanted = sorted(set(statuses))
        where = f" WHERE grp = ? AND status IN ({_marks(len(wanted))})"
        return self._memberships_where(where, [group, *wanted])

    def _memberships_where(self, where: str, params: Sequence[str]) -> list[Membership]:
        """The memberships a WHERE clause (this module's own text) matches, by (group, member)."""
        with self._flushed():
            rows = self._conn.execute(
                f"SELECT member, grp, payload FROM memberships{where} ORDER BY grp, member", params
            ).fetchall()
        loaded = (self._cached(Membership, payload, f"membership {m!r} in {g!r}") for m, g, payload in rows)
        return [ms for ms in loaded if ms is not None]

    # groups --------------------------------------------------------------------------
    def put_group(self, group: Group) -> None:
        """Insert or replace a group (keyed by id)."""
        with self._writing():
            self._groups_now.pop(group.id, None)
            self._conn.execute(
                "INSERT INTO groups (id, status, family, payload) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE"
                " SET status = excluded.status, family = excluded.family, payload = excluded.payload",
                (group.id, group.status, group.family, group.model_dump_json()),
            )

    def record_group(self, change: GroupChange) -> None:
        """Insert or replace the group, and add the change to its history."""
        with self._writing():
            self.put_group(change.group)
            self._conn.execute(
                "INSERT INTO group_history (grp, at_us, decision, payload) VALUES (?, ?, ?, ?)",
                (change.group.id, micros(change.at), change.decision, change.model_dump_json()),
            )

    def get_group(self, group: str) -> Group | None:
        """The group as it stands now, or None."""
        with self._reading():
            if group in self._groups_now:
                return self._groups_now[group]
            row = self._conn.execute("SELECT payload FROM groups WHERE id = ?", (group,)).fetchone()
            found = None if row is None else self._cached(Group, row[0], f"group {group!r}")
            if self._depth:
                self._groups_now[group] = found
        return found

    def groups(self, *, status: GroupStatus | None = None, family: str | None = None) -> list[Group]:
        """Groups, optionally of one status and/or family, by id."""
        where, params = _filters(status=status, family=family)
        with self._reading():
            rows = self._conn.execute(f"SELECT id, payload FROM groups{where} ORDER BY id", params).fetchall()
        return self._loaded(Group, rows, "group")

    def record_labels(self, change: LabelChange) -> None:
        """Set the member's labels (replacing the profile with them) and add the change
        to the member's label history, in one transaction."""
        with self._writing():
            profile = self.get_member(change.member) or Member(id=change.member)
            self.put_member(profile.model_copy(update={"labels": change.labels}))
            self._conn.execute(
                "INSERT INTO label_history (member, at_us, decision, payload) VALUES (?, ?, ?, ?)",
                (change.member, micros(change.at), change.decision, change.model_dump_json()),
            )

    def label_history(self, member: str) -> list[LabelChange]:
        """Every label change kept for the member, oldest first."""
        with self._reading():
            rows = self._conn.execute(
                "SELECT payload FROM label_history WHERE member = ? ORDER BY at_us, seq", (member,)
            ).fetchall()
        return [LabelChange.model_validate_json(payload) for (payload,) in rows]

    def group_history(self, group: str) -> list[GroupChange]:
        """Every change kept for the group, oldest first."""
        with self._reading():
            rows = self._conn.execute(
                "SELECT payload FROM group_history WHERE grp = ? ORDER BY at_us, seq", (group,)
            ).fetchall()
        return [GroupChange.model_validate_json(payload) for (payload,) in rows]

    # decisions -----------------------------------------------------------------------
    def add_decision(self, decision: Decision) -> bool:
        """Record a decision; False (and nothing written) if its id exists already.

        Inside a caller's transaction the decision is queued, with the membership changes
        and messages that follow it, and written with them in one ``executemany`` per
        table before the transaction commits (or before a query that needs them)."""
        with self._writing():
            if (
                decision.id in self._pending.decisions
                or self._conn.execute("SELECT 1 FROM decisions WHERE id = ?", (decision.id,)).fetchone()
            ):
                return False
            self._pending.add_decision(decision)
            if self._depth == 1 or len(self._pending) >= _FLUSH_AT:
                self._flush()
            return True

    def get_decision(self, decision_id: str) -> Decision | None:
        """A decision by id, or None."""
        with self._reading():
            queued = self._pending.decisions.get(decision_id) or self._written.get(decision_id)
            if queued is not None:
                return queued
            row = self._conn.execute("SELECT payload FROM decisions WHERE id = ?", (decision_id,)).fetchone()
        return None if row is None else Decision.model_validate_json(row[0])

    def decisions(
        self,
        *,
        policy: str | None = None,
        member: str | None = None,
        group: str | None = None,
        action: str | None = None,
    ) -> list[Decision]:
        """Decisions matching every filter given, in the order they were recorded."""
        with self._reading():
            rows, queued = self._matching_decisions("id, payload", policy, member, group, action)
            written = self._written
        return [written.get(i) or Decision.model_validate_json(payload) for i, payload in rows] + queued

    def decision_heads(
        self,
        *,
        policy: str | None = None,
        member: str | None = None,
        group: str | None = None,
        action: str | None = None,
    ) -> list[DecisionHead]:
        """:meth:`decisions`, each without its explanation and words: read from the
        index columns (and two fields of the stored text), not validated whole."""
        with self._reading():
            rows, queued = self._matching_decisions(_HEAD_COLUMNS, policy, member, group, action)
        return [
            DecisionHead(i, p, a, m or None, g or None, period, EPOCH + timedelta(microseconds=us), status)
            for i, p, a, m, g, period, us, status in rows
        ] + [DecisionHead.of(d) for d in queued]

    def _matching_decisions(
        self, columns: str, policy: str | None, member: str | None, group: str | None, action: str | None
    ) -> tuple[list[Any], list[Decision]]:
        """The stored rows (``columns``) of the decisions matching every filter given, in
        the order they were recorded, and the queued ones, which come last as they will
        when written. The caller holds the connection."""
        where, params = _filters(policy=policy, member=member, grp=group, action=action)
        rows = self._conn.execute(f"SELECT {columns} FROM decisions{where} ORDER BY seq", params).fetchall()
        wanted = {"policy": policy, "member": member, "group": group, "action": action}
        pending = self._pending
        candidates = pending.decisions.values() if member is None else pending.by_member.get(member, ())
        queued = [d for d in candidates if all(v is None or getattr(d, k) == v for k, v in wanted.items())]
        return rows, queued

    # points ledger -------------------------------------------------------------------
    def add_entries(self, entries: Sequence[LedgerEntry]) -> list[bool]:
        """Record points entries; per entry, True if new, False if its id (its cause)
        was recorded already."""
        out: list[bool] = []
        with self._writing():
            for e in entries:
                cursor = self._conn.execute(
                    "INSERT INTO ledger (id, member, policy, at_us, points, payload)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                    (e.id, e.member, e.policy, micros(e.at), e.points, e.model_dump_json()),
                )
                out.append(cursor.rowcount == 1)
        return out

    def entries(self, *, member: str | None = None, policy: str | None = None) -> list[LedgerEntry]:
        """Points entries matching every filter given, by ``at`` then in the order recorded."""
        where, params = _filters(member=member, policy=policy)
        with self._reading():
            rows = self._conn.execute(
                f"SELECT id, payload FROM ledger{where} ORDER BY at_us, seq", params
            ).fetchall()
        return self._loaded(LedgerEntry, rows, "ledger entry")

    # outbox --------------------------------------------------------------------------
    _UPSERT_MESSAGE = (
        "INSERT INTO outbox (key, status, next_at_us, lease_until_us, member, messenger, decision,"
        " recipient, created_us, lease_owner, delivered_us, payload)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO "
    )

    def add_messages(self, messages: Sequence[OutboxMessage]) -> None:
        """Queue messages; a key that exists already is left as it is."""
        with self._writing():
            self._pending.messages.extend(messages)
            if self._depth == 1 or len(self._pending) >= _FLUSH_AT:
                self._flush()

    def claim_messages(
        self, at: datetime, *, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxMessage]:
        """Atomically take up to ``limit`` messages that may be delivered at ``at``, lease
        them to ``owner`` until ``lease_until`` and return them in delivery order.

        A message may be delivered when it is ``pending`` or ``held``, due
        (``next_at <= at``), not leased at ``now`` (no lease, or one that ended by
        ``now``), and every earlier open message to the same recipient may be delivered
        too. Messages to one recipient go in the order of their decisions: by
        ``created_at``, then queue order. ``now`` and ``lease_until`` are read on the
        deliverers' clock, ``at`` on the rule book's timeline.
        """
        if limit <= 0:
            return []
        # One transaction for the select and the lease: two deliverers claiming at once
        # can never both take a message. A message is blocked by an earlier open one to
        # its recipient that is not due or is leased (in flight elsewhere); ``dead`` and
        # ``delivered`` ones are done and block nothing.
        with self._writing():
            self._flush()
            rows = self._conn.execute(
                "SELECT o.payload FROM outbox o"
                " WHERE o.status IN ('pending', 'held') AND o.next_at_us <= :at"
                " AND (o.lease_until_us IS NULL OR o.lease_until_us <= :now)"
                " AND NOT EXISTS (SELECT 1 FROM outbox p"
                "   WHERE p.recipient = o.recipient AND p.status IN ('pending', 'held')"
                "   AND (p.created_us < o.created_us OR (p.created_us = o.created_us AND p.seq < o.seq))"
                "   AND (p.next_at_us > :at OR p.lease_until_us > :now))"
                " ORDER BY o.created_us, o.seq LIMIT :limit",
                {"at": micros(at), "now": micros(now), "limit": limit},
            ).fetchall()
            claimed = [
                OutboxMessage.model_validate_json(payload).model_copy(
                    update={"lease_until": lease_until, "lease_owner": owner}
                )
                for (payload,) in rows
            ]
            self._conn.executemany(
                "UPDATE outbox SET lease_until_us = ?, lease_owner = ?, payload = ? WHERE key = ?",
                [(micros(lease_until), owner, m.model_dump_json(), m.key) for m in claimed],
            )
        return claimed

    def update_message(self, message: OutboxMessage, *, owner: str | None = None) -> bool:
        """Replace a message (by key) with its new delivery state; it keeps its place in
        the queue. A key not queued yet is queued, as ``MemoryStore`` does.

        With ``owner``, the message is replaced only while ``owner`` holds its lease
        (no other deliverer has claimed it since): a deliverer whose lease was taken over
        cannot overwrite the new owner's outcome. Returns whether it was replaced.
        """
        with self._writing():
            self._flush()
            if owner is not None:
                row = self._conn.execute(
                    "SELECT lease_owner FROM outbox WHERE key = ?", (message.key,)
                ).fetchone()
                if row is None or row[0] != owner:
                    return False
            self._conn.execute(
                self._UPSERT_MESSAGE + "UPDATE SET status = excluded.status,"
                " next_at_us = excluded.next_at_us, lease_until_us = excluded.lease_until_us,"
                " member = excluded.member, messenger = excluded.messenger,"
                " decision = excluded.decision, recipient = excluded.recipient,"
                " created_us = excluded.created_us, lease_owner = excluded.lease_owner,"
                " delivered_us = excluded.delivered_us, payload = excluded.payload",
                _message_row(message),
            )
        return True

    def delivery_times(self, *, messenger: str, recipient: str, since: datetime) -> list[datetime]:
        """When messages through ``messenger`` to ``recipient`` were delivered, for those
        delivered after ``since``, oldest first (what a quota counts)."""
        with self._flushed():
            rows = self._conn.execute(
                "SELECT payload FROM outbox WHERE messenger = ? AND recipient = ? AND delivered_us > ?"
                " AND status = 'delivered' ORDER BY delivered_us",
                (messenger, recipient, micros(since)),
            ).fetchall()
        return [
            m.delivered_at
            for m in (OutboxMessage.model_validate_json(payload) for (payload,) in rows)
            if m.delivered_at is not None
        ]

    def action_delivery_times(
        self, *, messenger: str, action: str, since: datetime, recipient: str | None = None
    ) -> list[datetime]:
        """When ``action`` messages through ``messenger`` (to ``recipient``, if given) were
        delivered, for those delivered after ``since``, oldest first (what a rate counts)."""
        sql = (
            "SELECT delivered_us FROM outbox WHERE messenger = ? AND json_extract(payload, '$.action') = ?"
            " AND delivered_us > ? AND status = 'delivered'"
        )
        params: list[Any] = [messenger, action, micros(since)]
        if recipient is not None:
            sql += " AND recipient = ?"
            params.append(recipient)
        with self._reading():
            rows = self._conn.execute(sql + " ORDER BY delivered_us", params).fetchall()
        return [EPOCH + timedelta(microseconds=us) for (us,) in rows]

    def messages(
        self,
        *,
        status: MessageStatus | None = None,
        decision: str | None = None,
        member: str | None = None,
        messenger: str | None = None,
    ) -> list[OutboxMessage]:
        """Messages matching every filter given, in the order they were queued."""
        where, params = _filters(status=status, decision=decision, member=member, messenger=messenger)
        with self._flushed():
            rows = self._conn.execute(f"SELECT payload FROM outbox{where} ORDER BY seq", params).fetchall()
        return [OutboxMessage.model_validate_json(payload) for (payload,) in rows]

    # run state -----------------------------------------------------------------------
    def get_state(self, key: str) -> str | None:
        """A run-state value (cursors, last run time), or None."""
        with self._reading():
            row = self._conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, key: str, value: str) -> None:
        """Set a run-state value."""
        with self._writing():
            self._conn.execute(
                "INSERT INTO state (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


def _filters(**columns: str | None) -> tuple[str, list[str]]:
    """A WHERE clause matching every column given a value (None: any), and its parameters.

    Column names come from this module only, never from callers.
    """
    given = {name: value for name, value in columns.items() if value is not None}
    if not given:
        return "", []
    return " WHERE " + " AND ".join(f"{name} = ?" for name in given), list(given.values())


def _message_row(
    m: OutboxMessage,
) -> tuple[str, str, int, int | None, str, str, str, str, int, str | None, int | None, str]:
    lease = None if m.lease_until is None else micros(m.lease_until)
    delivered = None if m.delivered_at is None else micros(m.delivered_at)
    return (
        m.key,
        m.status,
        micros(m.next_at),
        lease,
        m.member or "",  # '' for a message about no member (a post to a group)
        m.messenger,
        m.decision,
        m.recipient,
        micros(m.created_at),
        m.lease_owner,
        delivered,
        m.model_dump_json(),
    )


class _Pending:
    """Writes queued inside a transaction, in the order they were made."""

    __slots__ = ("by_member", "decisions", "history", "memberships", "messages")

    def __init__(self) -> None:
        self.decisions: dict[str, Decision] = {}
        self.by_member: dict[str | None, list[Decision]] = {}  # a run asks by member
        self.memberships: dict[tuple[str, str], Membership] = {}
        self.history: list[MembershipChange] = []
        self.messages: list[OutboxMessage] = []

    def __bool__(self) -> bool:
        return bool(self.decisions or self.memberships or self.history or self.messages)

    def __len__(self) -> int:
        return len(self.decisions) + len(self.memberships) + len(self.history) + len(self.messages)

    def add_decision(self, d: Decision) -> None:
        self.decisions[d.id] = d
        self.by_member.setdefault(d.member, []).append(d)


_HEAD_COLUMNS = (
    "id, policy, action, member, grp, json_extract(payload, '$.period'), at_us,"
    " json_extract(payload, '$.status')"
)


def _decision_row(d: Decision) -> tuple[str, str, str, str, str, int, str]:
    # the index columns keep '' for "no member / no group"
    return (d.id, d.policy, d.member or "", d.group or "", d.action, micros(d.at), d.model_dump_json())
