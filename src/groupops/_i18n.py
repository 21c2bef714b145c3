"""The message catalogue: every word groupops says, keyed by message id, one file per locale.

The words live in ``groupops/locales/<locale>.yaml`` (shipped as package data): a flat
mapping from a message id (``cli.run_done``, ``eviction.notice``, ``explain.count``) to
its text in that locale. Adding a locale is adding one file; a test checks that every
id has every locale and the same ``{placeholders}`` in each.

Fallback, one rule for every lookup: the locale asked for (``zh-TW``), then its language
(``zh``), then English. An id English does not have either is a bug: :func:`text` raises
a :class:`KeyError` that names it.

A count picks its plural form by id suffix (:func:`plural_form`: ``.one`` / ``.other``).
Texts with ``{name}`` placeholders are filled by :func:`text` with :meth:`str.format`
when values are given; message templates (``{member.name}``) are returned unfilled and
rendered by :func:`~groupops.rules._templates.render_template`, which reads nothing it
was not given.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

import yaml

__all__ = ["FALLBACK", "Messages", "locales", "messages", "pick", "plural_form", "text"]

FALLBACK = "en"
"""The locale every lookup ends with, and the one every message id must have."""


@functools.cache
def locales() -> tuple[str, ...]:
    """The locales the catalogue has a file for, sorted (``('en', 'zh')``)."""
    folder = resources.files("groupops") / "locales"
    return tuple(sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml")))


@functools.cache
def _catalogue(locale: str) -> dict[str, str]:
    source = resources.files("groupops") / "locales" / f"{locale}.yaml"
    data = yaml.load(source.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict):
        raise ValueError(f"locales/{locale}.yaml: expected a mapping of message ids to texts, got {data!r}")
    for key, value in data.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError(f"locales/{locale}.yaml: {key!r}: {value!r} is not a text")
    return data


@functools.lru_cache(maxsize=64)
def _chain(locale: str) -> tuple[str, ...]:
    """The locales a lookup tries, in order: ``zh-TW`` → ``zh-TW``, ``zh``, ``en``."""
    language = locale.replace("_", "-").split("-", 1)[0]
    return tuple(dict.fromkeys((locale, language, FALLBACK)))


def pick(table: Mapping[str, str], locale: str) -> str | None:
    """The entry of a per-locale ``table`` for ``locale`` by the catalogue's fallback
    rule (the locale, its language, English), or None. For tables a plugin passes
    itself (an action's templates and labels)."""
    for loc in _chain(locale):
        found = table.get(loc)
        if found:
            return found
    return None


def text(message_id: str, locale: str = FALLBACK, /, **values: Any) -> str:
    """The text of ``message_id`` in ``locale`` (falling back to its language, then
    English), filled with ``values`` by :meth:`str.format` when any are given.

    Raises :class:`KeyError` naming the id when no locale of the chain has it."""
    known = locales()
    for loc in _chain(locale):
        if loc in known:
            found = _catalogue(loc).get(message_id)
            if found is not None:
                return found.format(**values) if values else found
    raise KeyError(
        f"no message {message_id!r} in the catalogue (locale {locale!r}; locales: {', '.join(known)})"
    )


def plural_form(n: object) -> str:
    """The plural form a count takes in an id: ``one`` for 1 (or ``"1"``), else
    ``other`` (``explain.times.one`` / ``explain.times.other``). A locale without plurals
    gives both forms the same text."""
    return "one" if str(n) == "1" else "other"


class Messages(Mapping[str, str]):
    """One message id in every locale that has it, as a read-only ``{locale: text}``
    mapping: what a built-in kind passes as an action's templates or labels, read from
    the catalogue when asked (so a locale added to the catalogue reaches every kind)."""

    __slots__ = ("id",)

    def __init__(self, message_id: str) -> None:
        self.id = message_id

    def __getitem__(self, locale: str) -> str:
        if locale not in locales():
            raise KeyError(locale)
        return _catalogue(locale)[self.id]

    def __iter__(self) -> Iterator[str]:
        return (loc for loc in locales() if self.id in _catalogue(loc))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"messages({self.id!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Messages):
            return self.id == other.id
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash(("Messages", self.id))


def messages(message_id: str) -> Messages:
    """The catalogue's entry ``message_id`` in every locale (see :class:`Messages`);
    checked when it is read, so a misspelt id fails the first time it is used (and the
    catalogue tests check every id the built-in kinds name)."""
    return Messages(message_id)
