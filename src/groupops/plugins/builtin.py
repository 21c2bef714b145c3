"""The built-in plugin: the memory and SQLite stores and the console messenger."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .._messaging import ConsoleMessenger, Messenger
from .hookspecs import hookimpl

if TYPE_CHECKING:
    from ..rules._book import RuleBook
    from ._store import Store


@hookimpl(trylast=True)
def groupops_open_store(url: str, book: RuleBook) -> Store | None:
    from ._urls import open_store

    return open_store(url)


@hookimpl
def groupops_register_messengers(register: Callable[[Messenger], None]) -> None:
    register(ConsoleMessenger())
