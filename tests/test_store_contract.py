"""The Store contract (``groupops.testing.StoreContract``) run against the built-in
stores, exactly as a store author runs it against theirs: docs/hooks.md shows the two
classes below, verbatim. Then: the contract fails stores that break it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

import groupops as go
from groupops import Event, OutboxMessage
from groupops.testing import DurableStoreContract, StoreContract


class TestMemoryStore(StoreContract):
    def make_store(self, path):
        return go.MemoryStore()


class TestSQLiteStore(DurableStoreContract):
    # a store that keeps its data across a close: the contract also reopens it
    def make_store(self, path):
        return go.SQLiteStore(path / "store.db")


# -- the contract can fail ------------------------------------------------------------------


class _OverwritesDuplicates(go.MemoryStore):
    """Stores an event again under an id it already has."""

    def add_events(self, events: list[Event]) -> list[bool]:  # type: ignore[override]
        with self._lock:
            for e in events:
                self._events.pop(e.id, None)
            return super().add_events(events)


class _IgnoresLeases(go.MemoryStore):
    """Claims a message another deliverer holds a lease on: a crashed deliverer's
    message would go out twice."""

    def claim_messages(
        self, at: datetime, *, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxMessage]:
        with self._lock:
            for key, m in self._messages.items():
                self._messages[key] = m.model_copy(update={"lease_until": None, "lease_owner": None})
        return super().claim_messages(at, owner=owner, now=now, lease_until=lease_until, limit=limit)


class _UpdatesWithoutTheLease(go.MemoryStore):
    """Lets a deliverer whose lease ran out overwrite the outcome of the one that holds it."""

    def update_message(self, message: OutboxMessage, *, owner: str | None = None) -> bool:
        return super().update_message(message)


class _NoRollback(go.MemoryStore):
    """Keeps what a failed transaction wrote."""

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        yield


class _LosesLeasesOnReopen(go.SQLiteStore):
    """A durable store that forgets who holds a lease when it is opened again."""

    def __init__(self, path: Path) -> None:
        reopened = path.exists()
        super().__init__(path)
        if reopened:
            for m in self.messages():
                self.update_message(m.model_copy(update={"lease_until": None, "lease_owner": None}))


@pytest.mark.parametrize(
    ("make", "contract", "test"),
    [
        (lambda path: _OverwritesDuplicates(), StoreContract, "test_add_events_reports_new_and_duplicate"),
        (lambda path: _IgnoresLeases(), StoreContract, "test_claim_takes_due_unleased_messages_in_decision_order"),
        (lambda path: _UpdatesWithoutTheLease(), StoreContract, "test_update_message_with_an_owner_needs_the_lease"),
        (lambda path: _NoRollback(), StoreContract, "test_transaction_rolls_back_everything_on_exception"),
        (lambda path: _LosesLeasesOnReopen(path / "s.db"), DurableStoreContract, "test_reopening_preserves_everything"),
    ],
    ids=["duplicates", "leases", "lease-owner", "rollback", "reopen"],
)
def test_the_contract_fails_a_store_that_breaks_it(
    make: Callable[[Path], go.Store], contract: type[StoreContract], test: str, tmp_path: Path
) -> None:
    suite = type("TestBroken", (contract,), {"make_store": lambda self, path: make(path)})()
    method = getattr(suite, test)
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    with pytest.raises(AssertionError):
        if "tmp_path" in method.__code__.co_varnames[: method.__code__.co_argcount]:
            method(store_dir)
        else:
            store = suite.make_store(store_dir)
            try:
                method(store)
            finally:
                store.close()


def test_a_contract_without_make_store_says_what_to_define(tmp_path: Path) -> None:
    class TestForgotten(StoreContract):
        pass

    with pytest.raises(NotImplementedError, match=r"TestForgotten must define make_store\(self, path\)"):
        TestForgotten().make_store(tmp_path)
