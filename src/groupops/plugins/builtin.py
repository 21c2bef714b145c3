"""The built-in plugin: the memory and SQLite stores, the console messenger and the
five built-in policy kinds."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .._messaging import ConsoleMessenger, Messenger
from .hookspecs import hookimpl

if TYPE_CHECKING:
    from ..rules._book import RuleBook
    from ..rules.kinds import Kind
    from ._store import Store


@hookimpl(trylast=True)
def groupops_open_store(url: str, book: RuleBook) -> Store | None:
    from ._urls import open_store

    return open_store(url)


@hookimpl
def groupops_register_messengers(register: Callable[[Messenger], None]) -> None:
    register(ConsoleMessenger())


@hookimpl(tryfirst=True)
def groupops_register_kinds(register: Callable[[Kind], None]) -> None:
    from ..rules.kinds import BUILTIN_KINDS

    for kind in BUILTIN_KINDS:
        register(kind)
