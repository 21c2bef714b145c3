"""Messengers: how outbox messages reach a platform, and what each platform can do.

A messenger delivers one :class:`~groupops.OutboxMessage` at a time and raises if it
could not. It declares what it can do in ``actions``: the audiences it reaches with
text — ``message`` (privately to a member), ``post`` (in a group), ``task`` (to an
operator; a messenger that can ``message`` can also reach operators) — plus any platform
actions by name (``invite``, ``evict``, ``remove``, ``rename``...). An action a messenger
cannot carry out is turned into an operator ``task``, never dropped, and never sent to a
member as plain text.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, TextIO, runtime_checkable

from ._outbox import Audience, OutboxMessage
from ._time import Duration

__all__ = [
    "ANY_ACTION",
    "PLATFORM_ACTIONS",
    "ConsoleMessenger",
    "Messenger",
    "Quota",
    "Rate",
    "RecordingMessenger",
    "can_carry_out",
]

# Actions that need the platform to do something besides sending text, for an action no
# registered kind declares (a kind's ActionSpec says it for its own actions).
PLATFORM_ACTIONS = frozenset({"invite", "evict", "remove", "revive", "route"})


class _EveryAction(frozenset[str]):
    """The ``actions`` of a messenger that carries out every action, named or not."""

    def __contains__(self, action: object) -> bool:
        return isinstance(action, str)

    def __repr__(self) -> str:
        return "ANY_ACTION"


ANY_ACTION: frozenset[str] = _EveryAction({"message", "post", "task", *PLATFORM_ACTIONS})
"""``actions`` of a messenger that can carry out any action (the console, tests): it
contains every action name, including those of kinds registered later."""

_TEXT_CAPABILITY = {"member": "message", "group": "post", "operators": "task"}


@dataclass(frozen=True)
class Quota:
    """At most ``limit`` messages to one recipient per trailing ``per`` (e.g. 4 per 1mo)."""

    limit: int
    per: Duration


@dataclass(frozen=True)
class Rate:
    """At most ``limit`` messages of one action per trailing ``per`` through a messenger:
    across all recipients (3 broadcasts a minute), or to each recipient when
    ``per_recipient`` (WeCom's four mass messages a month to each customer).

    A messenger declares them by action in an optional ``rates`` attribute
    (``{"broadcast": Rate(3, Duration(1, "m"))}``); a message over a rate is ``held``
    until the window frees, so delivery spreads the queue over time."""

    limit: int
    per: Duration
    per_recipient: bool = False

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"limit: a rate allows at least 1 message, not {self.limit!r}")


@runtime_checkable
class Messenger(Protocol):
    """Delivers outbox messages to one platform.

    ``name`` is what groups name in their ``messenger`` key. ``actions`` lists what the
    platform can carry out (``message`` for text; platform actions by name). ``quota``,
    if set, caps messages per recipient. ``deliver`` raises on failure; it receives the
    message's idempotency key as ``message.key`` so the platform side can deduplicate.

    A messenger may also have ``rates``: a mapping of action name to :class:`Rate`
    (optional: a messenger without it has no per-action limits).
    """

    name: str
    actions: frozenset[str]
    quota: Quota | None

    def deliver(self, message: OutboxMessage) -> None: ...


# Characters that steer a terminal or reorder what it shows: C0 and C1 controls, DEL,
# and the Unicode bidirectional overrides and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """``text`` with every control character written as a Python escape (``\\x1b``,
    ``\\n``, ``\\u202e``), so that a member's name cannot clear a screen, forge a line
    or reorder what a terminal shows."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def can_carry_out(
    messenger: Messenger, action: str, *, platform: bool | None = None, audience: Audience = "member"
) -> bool:
    """Whether ``messenger`` can carry out ``action`` for ``audience``.

    An action the messenger names in its ``actions`` it can always carry out. A text
    action (``platform`` False) needs the audience's capability: ``message`` for a
    member, ``post`` for a group, ``task`` or ``message`` for operators. A platform
    action it does not name it cannot. ``platform`` says whether the platform itself must
    carry the action out (as the action's kind declares); None: as
    :data:`PLATFORM_ACTIONS` says."""
    actions = messenger.actions
    if action in actions:
        return True
    if platform is None:
        platform = action in PLATFORM_ACTIONS
    if platform:
        return False
    if audience == "operators":
        return "task" in actions or "message" in actions
    return _TEXT_CAPABILITY[audience] in actions


class ConsoleMessenger:
    """Writes each message as one line to a stream (stdout by default): for demos and
    for operators who copy messages by hand. Carries out every action. Control
    characters (terminal escape codes, line breaks) are written escaped, as
    :func:`terminal_safe` does. A post is written as ``group → #group``."""

    def __init__(
        self,
        name: str = "console",
        *,
        stream: TextIO | None = None,
        quota: Quota | None = None,
        rates: Mapping[str, Rate] | None = None,
    ) -> None:
        self.name = name
        self.actions: frozenset[str] = ANY_ACTION
        self.quota = quota
        self.rates: Mapping[str, Rate] = dict(rates or {})
        self._stream = stream

    def deliver(self, message: OutboxMessage) -> None:
        stream = self._stream or sys.stdout
        where = message.group or "-"
        to = f"#{message.recipient}" if message.audience == "group" else message.recipient
        line = f"[{message.action}] {where} → {to}: {message.text}"
        stream.write(terminal_safe(line) + "\n")


@dataclass
class RecordingMessenger:
    """Keeps every delivered message in ``delivered``: for tests. Carries out every
    action unless given ``actions``.

    ``fail_times`` makes the first N attempts raise; ``hang_seconds`` makes each attempt
    sleep first (to test delivery timeouts).
    """

    name: str = "recording"
    actions: frozenset[str] = ANY_ACTION
    quota: Quota | None = None
    rates: Mapping[str, Rate] = field(default_factory=dict)
    fail_times: int = 0
    hang_seconds: float = 0.0
    delivered: list[OutboxMessage] = field(default_factory=list)
    attempts: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def deliver(self, message: OutboxMessage) -> None:
        with self._lock:
            self.attempts += 1
            attempt = self.attempts
        if self.hang_seconds:
            threading.Event().wait(self.hang_seconds)
        if attempt <= self.fail_times:
            raise ConnectionError(f"{self.name}: simulated failure {attempt} of {self.fail_times}")
        with self._lock:
            self.delivered.append(message)

    def keys(self) -> list[str]:
        """Idempotency keys of delivered messages, in delivery order."""
        return [m.key for m in self.delivered]

    @classmethod
    def text_only(cls, name: str = "text-only", **kwargs: object) -> RecordingMessenger:
        """A messenger that can only send text to members, like WeCom for external
        customers: platform actions and posts in groups become operator tasks."""
        return cls(name=name, actions=frozenset({"message"}), **kwargs)  # type: ignore[arg-type]
