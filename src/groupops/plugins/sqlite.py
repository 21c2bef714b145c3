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
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Final

from .._errors import StoreError
from .._model import Decision, Event, Member, Membership, MembershipChange
from .._outbox import MessageStatus, OutboxMessage

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore"]

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
    # 2: membership history: every state a membership was recorded in, from when it took
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
)
"""Schema migrations, oldest first: the file at version ``n`` runs ``MIGRATIONS[n:]``."""

SCHEMA_VERSION: Final[int] = len(MIGRATIONS)
"""The schema version this code reads and writes (kept in ``PRAGMA user_version``)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Rows fetched per query by ``events_after``: enough to amortise a query, small enough
# that millions of events never sit in memory at once.
_CHUNK = 1000


def _micros(at: datetime) -> int:
    """Microseconds since the Unix epoch: exact, unlike a float timestamp."""
    return (at - _EPOCH) // _MICROSECOND


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

    :param path: the database file; created, with its schema, if it does not exist.
    :param timeout: seconds to wait for the write lock (held by another process or
        thread) before giving up with :class:`~groupops.StoreError`.
    :raises StoreError: the file is not a groupops database, or was written by a newer
        groupops (its schema version is higher than :data:`SCHEMA_VERSION`).
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self._path = os.fspath(path)
        self._timeout = timeout
        self._lock = threading.RLock()
        self._depth = 0
        self._closed = False
        try:
            # isolation_level=None: the sqlite3 module must not open transactions on its
            # own; this class issues every BEGIN and COMMIT itself.
            self._conn = sqlite3.connect(
                self._path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite store {self._path!r}: {exc}") from exc
        try:
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
        with self.transaction(), self._errors("migrate"):
            # Checked again under the write lock: a process that opened the same fresh
            # file at the same moment may have migrated it while this one waited.
            version = self._schema_version()
            for script in MIGRATIONS[version:]:
                for statement in _statements(script):
                    self._conn.execute(statement)
            if version != SCHEMA_VERSION:
                self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

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
        if not self._lock.acquire(timeout=self._timeout):
            raise StoreError(
                f"SQLite store {self._path!r}: another thread held a transaction for more than "
                f"{self._timeout}s"
            )
        try:
            if self._closed:
                raise StoreError(f"SQLite store {self._path!r} is closed")
            yield
        finally:
            self._lock.release()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        with self._locked(), self._errors("read"):
            yield

    @contextmanager
    def _writing(self) -> Iterator[None]:
        # A write outside a transaction gets a transaction of its own; inside one, it
        # joins it.
        with self.transaction(), self._errors("write to"):
            yield

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
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
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

    def _commit(self) -> None:
        if self._closed:
            raise StoreError(f"SQLite store {self._path!r} was closed inside a transaction: nothing written")
        # SQLite rolls a transaction back by itself after some errors (disk full, I/O);
        # committing then would silently commit nothing, so say so.
        if not self._conn.in_transaction:
            raise StoreError(f"SQLite store {self._path!r}: the transaction was rolled back by SQLite")
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(f"SQLite store {self._path!r}: commit failed, nothing written ({exc})") from exc

    def _rollback(self) -> None:
        if not self._closed and self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        """Close the connection; a transaction still open is rolled back. Idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    # events --------------------------------------------------------------------------
    def add_events(self, events: Sequence[Event]) -> list[bool]:
        """Store events; per event, True if new, False if its id was already stored
        (earlier, or earlier in the same batch)."""
        out: list[bool] = []
        with self._writing():
            for e in events:
                cursor = self._conn.execute(
                    "INSERT INTO events (id, member, grp, kind, at, at_us, payload)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                    (e.id, e.member, e.group, e.kind, e.at.isoformat(), _micros(e.at), e.model_dump_json()),
                )
                out.append(cursor.rowcount == 1)
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
                yield number, Event.model_validate_json(payload)
            after = rows[-1][0]

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
        return None if row is None else Member.model_validate_json(row[0])

    def members(self) -> list[Member]:
        """Every member profile, by id."""
        with self._reading():
            rows = self._conn.execute("SELECT payload FROM members ORDER BY id").fetchall()
        return [Member.model_validate_json(payload) for (payload,) in rows]

    # memberships ---------------------------------------------------------------------
    def get_membership(self, member: str, group: str) -> Membership | None:
        """The membership of ``member`` in ``group``, or None."""
        with self._reading():
            row = self._conn.execute(
                "SELECT payload FROM memberships WHERE member = ? AND grp = ?", (member, group)
            ).fetchone()
        return None if row is None else Membership.model_validate_json(row[0])

    def put_membership(self, membership: Membership) -> None:
        """Insert or replace the membership (keyed by member and group)."""
        with self._writing():
            self._conn.execute(
                "INSERT INTO memberships (member, grp, status, payload) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (member, grp) DO UPDATE"
                " SET status = excluded.status, payload = excluded.payload",
                (membership.member, membership.group, membership.status, membership.model_dump_json()),
            )

    def record_membership(self, change: MembershipChange) -> None:
        """Insert or replace the membership, and add the change to its history."""
        ms = change.membership
        with self._writing():
            self.put_membership(ms)
            self._conn.execute(
                "INSERT INTO membership_history (member, grp, at_us, decision, payload)"
                " VALUES (?, ?, ?, ?, ?)",
                (ms.member, ms.group, _micros(change.at), change.decision, change.model_dump_json()),
            )

    def membership_history(self, member: str, group: str) -> list[MembershipChange]:
        """Every change kept for the membership, oldest first."""
        with self._reading():
            rows = self._conn.execute(
                "SELECT payload FROM membership_history WHERE member = ? AND grp = ? ORDER BY at_us, seq",
                (member, group),
            ).fetchall()
        return [MembershipChange.model_validate_json(payload) for (payload,) in rows]

    def memberships(self, *, group: str | None = None, member: str | None = None) -> list[Membership]:
        """Memberships, optionally of one group and/or one member, by (group, member)."""
        where, params = _filters(grp=group, member=member)
        with self._reading():
            rows = self._conn.execute(
                f"SELECT payload FROM memberships{where} ORDER BY grp, member", params
            ).fetchall()
        return [Membership.model_validate_json(payload) for (payload,) in rows]

    # decisions -----------------------------------------------------------------------
    def add_decision(self, decision: Decision) -> bool:
        """Record a decision; False (and nothing written) if its id exists already."""
        with self._writing():
            cursor = self._conn.execute(
                "INSERT INTO decisions (id, policy, member, grp, action, at_us, payload)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    decision.id,
                    decision.policy,
                    decision.member,
                    decision.group,
                    decision.action,
                    _micros(decision.at),
                    decision.model_dump_json(),
                ),
            )
            return cursor.rowcount == 1

    def get_decision(self, decision_id: str) -> Decision | None:
        """A decision by id, or None."""
        with self._reading():
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
        where, params = _filters(policy=policy, member=member, grp=group, action=action)
        with self._reading():
            rows = self._conn.execute(f"SELECT payload FROM decisions{where} ORDER BY seq", params).fetchall()
        return [Decision.model_validate_json(payload) for (payload,) in rows]

    # outbox --------------------------------------------------------------------------
    _UPSERT_MESSAGE = (
        "INSERT INTO outbox (key, status, next_at_us, lease_until_us, member, messenger, decision, payload)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO "
    )

    def add_messages(self, messages: Sequence[OutboxMessage]) -> None:
        """Queue messages; a key that exists already is left as it is."""
        with self._writing():
            self._conn.executemany(self._UPSERT_MESSAGE + "NOTHING", [_message_row(m) for m in messages])

    def claim_messages(self, at: datetime, *, lease_until: datetime, limit: int) -> list[OutboxMessage]:
        """Atomically take up to ``limit`` messages due at ``at`` (pending or held, with
        ``next_at <= at`` and no lease running past ``at``), set their lease to
        ``lease_until`` and return them (oldest ``next_at`` first, then in queue order)."""
        if limit <= 0:
            return []
        now = _micros(at)
        # One transaction for the select and the lease: two workers claiming at once
        # can never both take a message.
        with self._writing():
            rows = self._conn.execute(
                "SELECT payload FROM outbox WHERE status IN ('pending', 'held') AND next_at_us <= ?"
                " AND (lease_until_us IS NULL OR lease_until_us <= ?) ORDER BY next_at_us, seq LIMIT ?",
                (now, now, limit),
            ).fetchall()
            claimed = [
                OutboxMessage.model_validate_json(payload).model_copy(update={"lease_until": lease_until})
                for (payload,) in rows
            ]
            self._conn.executemany(
                "UPDATE outbox SET lease_until_us = ?, payload = ? WHERE key = ?",
                [(_micros(lease_until), m.model_dump_json(), m.key) for m in claimed],
            )
        return claimed

    def update_message(self, message: OutboxMessage) -> None:
        """Replace a message (by key) with its new delivery state; it keeps its place in
        the queue. A key not queued yet is queued, as ``MemoryStore`` does."""
        with self._writing():
            self._conn.execute(
                self._UPSERT_MESSAGE + "UPDATE SET status = excluded.status,"
                " next_at_us = excluded.next_at_us, lease_until_us = excluded.lease_until_us,"
                " member = excluded.member, messenger = excluded.messenger,"
                " decision = excluded.decision, payload = excluded.payload",
                _message_row(message),
            )

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
        with self._reading():
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


def _message_row(m: OutboxMessage) -> tuple[str, str, int, int | None, str, str, str, str]:
    lease = None if m.lease_until is None else _micros(m.lease_until)
    payload = m.model_dump_json()
    return (m.key, m.status, _micros(m.next_at), lease, m.member, m.messenger, m.decision, payload)
