"""Exceptions raised by groupops.

Every exception groupops raises on purpose derives from :class:`GroupOpsError`; each
leaf also derives from the builtin a caller would naturally catch::

    GroupOpsError
     ├── RuleError (ValueError)          a rule book, condition or template is invalid
     ├── InputError (ValueError)         an event, member or other record is invalid
     ├── UnknownMemberError (KeyError)   a member id the store has never seen
     ├── UnknownGroupError (KeyError)    a group id the rule book does not name
     ├── UnknownPolicyError (KeyError)   a policy id the rule book does not name
     ├── PluginError (RuntimeError)      a plugin is missing, misspelt or misbehaving
     ├── StoreError (RuntimeError)       the store cannot carry out a request
     ├── NotCompilable (ValueError)      a condition leaf has no SQL form (compile_sql)
     └── MissingExtraError (ImportError) an optional extra is not installed

:class:`RuleError` and :class:`InputError` carry every problem found, each as a
:class:`Problem` with a path (``policies[1].when.any[0].within``) and a message that
quotes the offending value.

Every error survives pickling (a worker process, a task queue) with its context: each
class rebuilds itself from the arguments it was made with, so the message, ``problems``,
``source`` and the other attributes come back as they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GroupOpsError",
    "InputError",
    "MissingExtraError",
    "PluginError",
    "Problem",
    "RuleError",
    "StoreError",
    "UnknownGroupError",
    "UnknownMemberError",
    "UnknownPolicyError",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, and what is wrong with it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def _rebuild(cls: type[GroupOpsError], args: tuple[Any, ...], kwargs: dict[str, Any]) -> GroupOpsError:
    return cls(*args, **kwargs)


class GroupOpsError(Exception):
    """Base class of every error groupops raises on purpose.

    A subclass whose constructor takes other arguments than its message records them with
    :meth:`_made_with`, so that pickling rebuilds it through that constructor.
    """

    _init_args: tuple[tuple[Any, ...], dict[str, Any]] | None = None

    def _made_with(self, *args: Any, **kwargs: Any) -> None:
        self._init_args = (args, kwargs)

    def __reduce__(self) -> str | tuple[Any, ...]:
        if self._init_args is None:
            return super().__reduce__()
        args, kwargs = self._init_args
        return (_rebuild, (type(self), args, kwargs), self.__dict__ | {"_init_args": self._init_args})


class _ProblemsError(GroupOpsError):
    def __init__(self, problems: Iterable[Problem] | str, *, source: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        self._made_with(self.problems, source=source)
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.source}: " if self.source else ""
        if len(self.problems) == 1:
            return f"{where}{self.problems[0]}"
        lines = "\n".join(f"  {p}" for p in self.problems)
        return f"{where}{len(self.problems)} problems:\n{lines}"


class RuleError(_ProblemsError, ValueError):
    """A rule book, condition or message template is invalid."""


class InputError(_ProblemsError, ValueError):
    """An event, member or other input record is invalid."""


class _UnknownIdError(GroupOpsError, KeyError):
    """An id that is not known: the message names it, and the known ids when given."""

    def __init__(self, noun: str, value: str, known: Sequence[str] = ()) -> None:
        hint = f" (known: {', '.join(sorted(known))})" if known else ""
        super().__init__(f"unknown {noun} {value!r}{hint}")

    def __str__(self) -> str:
        return str(self.args[0])  # KeyError's own would quote the message


class UnknownMemberError(_UnknownIdError):
    """A member id that the store has never seen."""

    def __init__(self, member: str) -> None:
        self.member = member
        self._made_with(member)
        super().__init__("member", member)


class UnknownGroupError(_UnknownIdError):
    """A group id that the rule book does not name."""

    def __init__(self, group: str, *, known: Sequence[str] = ()) -> None:
        self.group = group
        self.known = tuple(known)
        self._made_with(group, known=self.known)
        super().__init__("group", group, self.known)


class UnknownPolicyError(_UnknownIdError):
    """A policy id that the rule book does not name."""

    def __init__(self, policy: str, *, known: Sequence[str] = ()) -> None:
        self.policy = policy
        self.known = tuple(known)
        self._made_with(policy, known=self.known)
        super().__init__("policy", policy, self.known)


class PluginError(GroupOpsError, RuntimeError):
    """A plugin is missing, misspelt, or returned something unusable.

    When one plugin's hook call failed, ``plugin`` names the plugin (its registered
    name) and ``hook`` the hook (or ``"metric 'NAME'"`` for a registered metric).
    """

    def __init__(self, message: str, *, plugin: str | None = None, hook: str | None = None) -> None:
        self.plugin = plugin
        self.hook = hook
        self._made_with(message, plugin=plugin, hook=hook)
        super().__init__(message)


class StoreError(GroupOpsError, RuntimeError):
    """The store cannot carry out a request (schema too new, database locked, ...)."""


class MissingExtraError(GroupOpsError, ImportError):
    """An optional extra is not installed; the message is the command that installs it."""

    def __init__(self, extra: str, *, feature: str) -> None:
        self.extra = extra
        self.feature = feature
        self._made_with(extra, feature=feature)
        super().__init__(f"{feature} needs the {extra!r} extra: pip install 'groupops[{extra}]'")
