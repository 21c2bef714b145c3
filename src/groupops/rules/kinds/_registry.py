"""Policy kinds: what a kind is, and the registry the engine and the rule book read.

A kind is one module that owns a policy type: its rule-book model, its trigger (how it
is due), how it decides, its actions with their default templates and platform
capabilities, and its explanation. The engine names no kind: it asks the registry.
A kind reaches the store and the facts only through the :class:`Runtime` the engine
hands it, so a kind module imports neither pluggy nor a store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Annotated, Any, ClassVar, Protocol

from pydantic import BeforeValidator, Field, model_validator

from ..._errors import Problem, RuleError
from ..._model import Decision, Event, Member, Membership
from .._conditions import Scope, _Rule
from .._evaluate import Context
from .._explain import Explanation
from .._facts_api import Facts
from .._time import DurationField

__all__ = [
    "ActionSpec",
    "GroupRef",
    "Kind",
    "KindRegistry",
    "Point",
    "PolicyBase",
    "PolicyId",
    "Runtime",
    "Verdict",
]

PolicyId = Annotated[str, Field(min_length=1, pattern=r"\S")]
GroupRef = Annotated[str, Field(min_length=1)]


def _event_kinds(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


EventKinds = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], BeforeValidator(_event_kinds)]


class PolicyBase(_Rule):
    """The fields every policy has: ``id``, ``description``, its own ``templates``, and
    its trigger when it is due on events: ``on`` (an event kind or a list of them) and
    ``delay`` (default 0) — decided at each such event's time plus the delay.

    A kind's model subclasses this and adds ``type: Literal["<kind name>"]``."""

    id: PolicyId
    description: str = ""
    templates: dict[str, str] = Field(default_factory=dict)
    on: EventKinds | None = None
    delay: DurationField | None = None

    @model_validator(mode="after")
    def _delay_needs_on(self) -> PolicyBase:
        if self.delay is not None and self.on is None and not type(self).default_on:
            raise ValueError("'delay' is the wait after an 'on' event; give 'on' too")
        return self

    default_on: ClassVar[tuple[str, ...]] = ()
    """The event kinds a policy of this kind is due on when its ``on`` is not given."""

    def trigger_events(self) -> tuple[str, ...]:
        """The event kinds this policy is due on (empty: not event-triggered)."""
        return self.on if self.on is not None else type(self).default_on

    default_scope: ClassVar[Scope] = "group"

    def group_ids(self) -> tuple[str, ...]:
        """The groups whose members this policy evaluates."""
        return tuple(getattr(self, "groups", ()))


@dataclass(frozen=True)
class ActionSpec:
    """One action a kind decides: its name, its default message per locale, its label
    per locale (for reports and the CLI), and whether the platform must carry it out
    (``platform=True``: a messenger that cannot is replaced by an operator task)."""

    name: str
    templates: Mapping[str, str]
    labels: Mapping[str, str] = field(default_factory=dict)
    platform: bool = False

    def template(self, locale: str) -> str | None:
        return self.templates.get(locale) or self.templates.get("en")

    def label(self, locale: str) -> str:
        return self.labels.get(locale) or self.labels.get("en") or self.name


@dataclass(frozen=True)
class Verdict:
    """A decision a kind asks the engine to record: the decision, the membership it
    changes (``before`` → ``after``; ``after`` None for no change), the membership its
    messages speak of (``about``, default the changed one) and the ``deadline`` the
    messages quote."""

    decision: Decision
    before: Membership | None
    after: Membership | None = None
    about: Membership | None = None
    deadline: datetime | None = None


class Runtime(Protocol):
    """What a kind may ask of the engine while it decides: the run's state, the
    memberships and decisions recorded so far, an evaluation context over the facts,
    and recording a verdict. Implemented by the engine; a kind never sees the store."""

    @property
    def tz(self) -> tzinfo: ...

    @property
    def revision(self) -> str: ...

    @property
    def profiles(self) -> Mapping[str, Member]: ...

    @property
    def facts(self) -> Facts:
        """Batch questions about events (see :class:`~groupops.Facts`)."""
        ...

    def get_state(self, key: str) -> str | None: ...

    def set_state(self, key: str, value: str) -> None: ...

    def memberships(self, group: str, members: set[str] | None = None) -> list[Membership]: ...

    def membership(self, member: str, group: str) -> Membership | None: ...

    def decision(self, decision_id: str) -> Decision | None: ...

    def decisions(self, **filters: str) -> list[Decision]: ...

    def context(
        self,
        ms: Membership,
        at: datetime,
        *,
        default_scope: str,
        period_start: datetime | None = None,
    ) -> Context: ...

    def isolated(self, policy: str, ms: Membership, at: datetime) -> AbstractContextManager[None]: ...

    def failures(self) -> int: ...

    def scratch(self, key: str) -> dict[str, Any]: ...

    def decide(
        self,
        policy: str,
        action: str,
        ms: Membership,
        period: str,
        at: datetime,
        explanation: Explanation | None,
        **extra: Any,
    ) -> Decision: ...

    def apply(self, verdict: Verdict) -> Decision | None: ...


@dataclass(frozen=True)
class Point:
    """A scheduled moment a kind asked to be called back at: ``when``, ``what`` (the
    kind's own tag, ordering points at one instant: lower first) and ``payload``."""

    when: datetime
    what: int
    payload: Any = None


class Kind:
    """A policy kind. Subclass it (or build one with the class attributes) and register
    an instance through the ``groupops_register_kinds`` hook.

    Trigger (how the kind is due), one of:

    - ``schedule``: the kind's :meth:`due` lists the points due in a run (from its
      own cursors in run state) and :meth:`decide_at_point` decides each, in time order
      across all policies;
    - ``on`` an event kind (the policy's ``on``, else the model's ``default_on``): the
      engine calls :meth:`on_event` for each such event since the previous run, at the
      event's time plus ``delay``, in time order with every other trigger;
    - neither: :meth:`decide` is called at the run's instant, to a fixed point (again
      with the members just decided on, until nothing more is decided).
    """

    name: ClassVar[str] = ""
    model: ClassVar[type[PolicyBase]] = PolicyBase
    actions: ClassVar[tuple[ActionSpec, ...]] = ()
    placeholders: ClassVar[frozenset[str]] = frozenset()
    label: ClassVar[Mapping[str, str]] = {}
    order: ClassVar[int] = 100
    """Kinds decided at a run's instant are decided in this order (lower first), then
    in registration order; the built-ins: welcome, revival, admission, ladder."""

    def due(self, policy: Any, rt: Runtime, at: datetime) -> list[Point]:
        """Scheduled points due in a run at ``at`` (kinds with a schedule)."""
        return []

    def decide_at_point(
        self, policy: Any, point: Point, rt: Runtime, at: datetime
    ) -> tuple[list[Decision], list[Point]]:
        """Decide one point; returns the decisions made and points newly due."""
        return [], []

    def finish(self, policy: Any, rt: Runtime, at: datetime) -> None:
        """Called once per run after every point was decided (save cursors)."""

    def decide(self, policy: Any, rt: Runtime, at: datetime, members: set[str] | None) -> list[Decision]:
        """Decisions due at the run's instant (``members``: only those, else all)."""
        return []

    def on_event(
        self, policy: Any, event: Event, rt: Runtime, when: datetime, at: datetime
    ) -> list[Decision]:
        """Decide on one triggering ``event`` at ``when`` (its time plus the policy's
        ``delay``; ``at`` is the run's instant). By default: :meth:`decide` at ``when``
        for the event's member."""
        return self.decide(policy, rt, when, {event.member})

    def explain(self, policy: Any, rt: Runtime, ms: Membership, at: datetime) -> tuple[list[Any], list[Any]]:
        """Sections and notes of :meth:`Engine.explain` for one membership."""
        return [], []

    def message_values(self, policy: Any, decision: Decision, locale: str) -> dict[str, str]:
        """Extra template placeholders for a decision's messages."""
        return {}

    def action(self, name: str) -> ActionSpec | None:
        return next((a for a in self.actions if a.name == name), None)


class KindRegistry:
    """The registered kinds by name, in registration order."""

    def __init__(self, kinds: Iterable[Kind] = ()) -> None:
        self._kinds: dict[str, Kind] = {}
        for k in kinds:
            self.register(k)

    def register(self, kind: Kind) -> None:
        """Add a kind; a second kind with one name, or one that declares an action
        another kind declares differently, is a :class:`RuleError`."""
        if not isinstance(kind, Kind) or not kind.name:
            raise RuleError(
                [Problem("kinds", f"{kind!r} is not a policy kind (a groupops Kind with a name)")]
            )
        if kind.name in self._kinds:
            raise RuleError([Problem("kinds", f"two kinds are named {kind.name!r}")])
        self._kinds[kind.name] = kind

    def __iter__(self) -> Iterator[Kind]:
        return iter(self._kinds.values())

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def __len__(self) -> int:
        return len(self._kinds)

    def names(self) -> list[str]:
        return list(self._kinds)

    def get(self, name: str) -> Kind:
        """The kind named ``name``; :class:`RuleError` listing the known kinds otherwise."""
        try:
            return self._kinds[name]
        except KeyError:
            raise RuleError(
                [Problem("type", f"unknown policy type {name!r} (known kinds: {', '.join(self._kinds)})")]
            ) from None

    def action(self, name: str) -> ActionSpec | None:
        """The first registered action spec named ``name``."""
        for k in self._kinds.values():
            spec = k.action(name)
            if spec is not None:
                return spec
        return None

    def action_names(self) -> list[str]:
        """Every registered action, in registration order (a kind's own order within)."""
        return list(dict.fromkeys(a.name for k in self._kinds.values() for a in k.actions))

    def placeholders(self) -> frozenset[str]:
        return frozenset().union(*(k.placeholders for k in self._kinds.values()))

    def key(self) -> tuple[tuple[str, type[PolicyBase]], ...]:
        return tuple((k.name, k.model) for k in self._kinds.values())


Register = Callable[[Kind], None]
"""The ``register`` callback of ``groupops_register_kinds``."""
