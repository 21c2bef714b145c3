"""Policy kinds: what a kind is, and the registry the engine and the rule book read.

A kind is one module that owns a policy type: its rule-book model, its trigger (how it
is due), how it decides, its actions with their default templates and platform
capabilities, and its explanation. The engine names no kind: it asks the registry.
A kind reaches the store and the facts only through the :class:`Runtime` the engine
hands it, so a kind module imports neither pluggy nor a store.

Why it is this long: it is the whole contract between the engine and a kind, in one
place a kind's author reads: the policy base model, actions, verdicts, the
:class:`Runtime` protocol and the :class:`Kind` base (both mostly documentation), the
registry, and the base of the schedule-driven kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Annotated, Any, ClassVar, Protocol

from pydantic import BeforeValidator, Field, model_validator

from ..._decision import Decision, DecisionHead
from ..._errors import Problem, RuleError
from ..._i18n import messages, pick
from ..._model import Event, Group, GroupChange, LabelChange, LedgerEntry, Member, Membership, Time
from ..._outbox import Audience
from ..._reports import StandingItem, StandingReport
from ..._time import DurationField, ScheduleField
from .._conditions import Scope, _Rule
from .._evaluate import Context
from .._explain import Explanation
from .._facts_api import Facts

__all__ = [
    "ActionSpec",
    "BookRefs",
    "GroupRef",
    "Kind",
    "KindRegistry",
    "Point",
    "PolicyBase",
    "PolicyId",
    "Runtime",
    "ScheduledKind",
    "ScheduledPolicy",
    "StrategyContext",
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
        if type(self).own_moments and (self.on is not None or self.delay is not None):
            raise ValueError(f"{type(self).own_moments}; 'on' and 'delay' do not apply")
        return self

    later_fields: ClassVar[frozenset[str]] = frozenset()
    """Fields a kind added after books were written with it: left out of the book's
    data (and so of its revision) while they hold their default, so that upgrading
    groupops does not change the revision of an unchanged book."""

    default_on: ClassVar[tuple[str, ...]] = ()
    """The event kinds a policy of this kind is due on when its ``on`` is not given."""

    own_moments: ClassVar[str] = ""
    """For a kind due at moments of its own, never on events: where a policy of it is due
    (``"a repurpose is due at its 'at'"``); ``on`` and ``delay`` are then refused with
    these words."""

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
    per locale (for reports and the CLI) — plain ``{locale: text}`` mappings (what a
    plugin kind passes) or the catalogue's entries (``messages("eviction.notice")``,
    what the built-in kinds pass) — whether the platform must carry it out
    (``platform=True``: a messenger that cannot is replaced by an operator task), and
    who its message goes to (``audience``): the decision's ``member`` privately, its
    ``group`` (a post) or the group's ``operators``.

    When a messenger cannot carry a platform action out, the group's operators get it as
    a task; the member is sent the action's text as a plain message as well only when
    ``tell_member`` is True (an invitation they can act on themselves), never otherwise
    ("you have been removed" before anyone removed them)."""

    name: str
    templates: Mapping[str, str]
    labels: Mapping[str, str] = field(default_factory=dict)
    platform: bool = False
    audience: Audience = "member"
    tell_member: bool = False

    def template(self, locale: str) -> str | None:
        """The default message in ``locale`` by the catalogue's fallback rule (the
        locale, its language, English)."""
        return pick(self.templates, locale)

    def label(self, locale: str) -> str:
        """The label in ``locale`` (same fallback), else the action's name."""
        return pick(self.labels, locale) or self.name


def catalogued_action(
    message_id: str,
    *,
    label: str | None = None,
    platform: bool = False,
    audience: Audience = "member",
    tell_member: bool = False,
) -> ActionSpec:
    """A built-in kind's action from the message catalogue: named by the last part of
    ``message_id`` (``"eviction.evict"`` → ``evict``), its default message the entry
    ``message_id`` and its label the entry ``<message_id>.label`` (or ``label``)."""
    return ActionSpec(
        message_id.rpartition(".")[2],
        messages(message_id),
        messages(label or f"{message_id}.label"),
        platform=platform,
        audience=audience,
        tell_member=tell_member,
    )


def open_groups(rt: Runtime, ids: Iterable[str]) -> list[Group]:
    """The open groups among ``ids`` (those the runtime knows), in their order: what a
    group kind decides about at an occurrence."""
    return [g for gid in ids if (g := rt.group(gid)) is not None and g.status == "open"]


@dataclass(frozen=True)
class Verdict:
    """A decision a kind asks the engine to record: the decision, the membership it
    changes (``before`` → ``after``; ``after`` None for no change), the membership its
    messages speak of (``about``, default the changed one), the ``deadline`` the
    messages quote, the change it makes to a group (``group``: from
    :func:`~groupops.change_group`, recorded with the decision; its messages already use
    the new name), extra template placeholders (``values``), points ledger ``entries``
    the decision causes (recorded with it, in the same transaction; an entry whose cause
    was recorded before adds nothing), the member's new set of ``labels`` (recorded with
    the decision in the store's label history; None: no change) and whether the decision
    sends no message at all (``silent``).

    A decision about a member alone or a group alone has no membership: ``before`` is
    None."""

    decision: Decision
    before: Membership | None = None
    after: Membership | None = None
    about: Membership | None = None
    deadline: datetime | None = None
    group: GroupChange | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    entries: tuple[LedgerEntry, ...] = ()
    labels: tuple[str, ...] | None = None
    silent: bool = False
    recipients: tuple[str, ...] | None = None
    """Who an ``operators`` message goes to instead of the group's operators (a
    handoff's salesperson or queue)."""


class Runtime(Protocol):
    """What a kind may ask of the engine while it decides: the run's state, the
    memberships and decisions recorded so far, an evaluation context over the facts,
    and recording a verdict. Implemented by the engine; a kind never sees the store."""

    @property
    def tz(self) -> tzinfo: ...

    @property
    def locale(self) -> str:
        """The rule book's locale (one of the message catalogue's: ``en``, ``zh``): the
        language of messages."""
        ...

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

    def memberships(
        self, group: str, members: set[str] | None = None, *, status: Collection[str] | None = None
    ) -> list[Membership]:
        """The memberships of ``group`` (only those of ``members``, if given) whose status
        is one of ``status`` (None: any), by member. Ask for the statuses a kind decides
        on (``("active", "notified")`` for those present, ``("evicted",)``): a store may read only those."""
        ...

    def groups(self) -> list[Group]:
        """Every group the store keeps, as it stands (seeded from the book, changed or
        created by decisions)."""
        ...

    def group(self, group_id: str) -> Group | None:
        """One group as it stands, or None."""
        ...

    def membership(self, member: str, group: str) -> Membership | None: ...

    def decision(self, decision_id: str) -> Decision | None: ...

    def decisions(self, **filters: str) -> list[Decision]: ...

    def decided(self, **filters: str) -> list[DecisionHead]:
        """:meth:`decisions` (the same filters and order) without their explanations:
        who was decided about, when, in which period, with which status. Cheaper where a
        kind needs only that (an admission counting each member's invitations): a store
        may answer it from its index columns."""
        ...

    def context(
        self,
        ms: Membership,
        at: datetime,
        *,
        default_scope: str,
        period_start: datetime | None = None,
    ) -> Context: ...

    def holding(
        self,
        condition: Any,
        memberships: Sequence[Membership],
        at: datetime,
        *,
        default_scope: str,
        period_start: datetime | None = None,
    ) -> list[bool | None]:
        """Whether ``condition`` holds for each membership at ``at``, in order, asked of
        the facts in one batch (no explanation built): what ``holds(condition,
        context(ms, at, ...))`` would say of each, before the run records anything more.

        None for a membership the batch cannot answer, which the kind decides alone as
        before, inside :meth:`isolated`: every membership when the condition reads other
        members (``referees``) or the ledger (``points``), whose answers a decision of
        the same run may change; a membership whose metric plugin failed (so the failure
        is reported for that member alone, and the next run asks again)."""
        ...

    def label_history(self, member: str) -> list[LabelChange]:
        """The member's label changes the store kept, oldest first."""
        ...

    def standing(self, member: str, at: datetime) -> StandingReport:
        """``member``'s standing at ``at`` under every policy (see :meth:`Engine.standing`)."""
        ...

    def member_context(
        self,
        member: str,
        at: datetime,
        *,
        group: str | None = None,
        default_scope: str = "member",
        period_start: datetime | None = None,
    ) -> Context:
        """An evaluation context for a member alone (a member-level decision): with
        ``group``, the member's membership there (if any) is the one conditions read and
        ``scope: group`` counts there; without, events count member-wide. Conditions over
        other members and the ledger (``referees``, ``member_of``, ``points``) work."""
        ...

    def entries(self, *, member: str | None = None) -> list[LedgerEntry]:
        """The points ledger (of ``member``), by time then recording order, as recorded
        so far in this run."""
        ...

    def add_entries(self, entries: list[LedgerEntry]) -> list[bool]:
        """Record points entries caused by events (per entry: True if new, False if its
        cause was recorded before). Entries a decision causes go in its
        :class:`Verdict` instead."""
        ...

    def isolated(
        self,
        policy: str,
        ms: Membership | None,
        at: datetime,
        *,
        member: str | None = None,
        group: str | None = None,
    ) -> AbstractContextManager[None]:
        """Decide about one subject (a membership, else ``member`` and/or ``group``) under
        one policy: a plugin failing meanwhile is reported in the run's failures, nothing
        about the subject is recorded, and the next run asks again."""
        ...

    def held_back(self, ms: Membership, role: str, at: datetime) -> str | None:
        """The id of a policy that holds the membership back from ``role`` at ``at``
        (see :meth:`Kind.holds_back`), or None."""
        ...

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

    def decide_about(
        self,
        policy: str,
        action: str,
        *,
        member: str | None = None,
        group: str | None = None,
        period: str,
        at: datetime,
        explanation: Explanation | None = None,
        **extra: Any,
    ) -> Decision:
        """A decision about a member alone (``group`` None), a group alone (``member``
        None) or a membership: its id is a stable function of (policy, action, member,
        group, period)."""
        ...

    def apply(self, verdict: Verdict) -> Decision | None: ...

    def refusal(self, member: str, group: str, at: datetime, *, leaving: str | None = None) -> str | None:
        """Why a policy of the book would turn ``member`` back from joining ``group`` at
        ``at`` (each kind's :meth:`Kind.refuses`, in book order: the first reason), or
        None; ``leaving`` is a group the member leaves for it (a routing out of a full
        group). A kind that places members (an invitation, a routing) asks it first, so
        that it never puts a member over a limit."""
        ...


@dataclass(frozen=True)
class StrategyContext:
    """What a kind's testing strategy (:meth:`Kind.strategy`) may draw from, for one
    rule book that :func:`groupops.testing.rule_books` is drawing: the book's group ids
    and time-zone name, and Hypothesis strategies of group subsets (``some_groups``, a
    tuple of one or more ids), of conditions that say who is at risk (``when``: an
    eviction's ``when``), of conditions a member works to meet (``good``: a promotion, an
    admission) and of durations (``durations(units, max_amount)``)."""

    groups: tuple[str, ...]
    timezone: str
    some_groups: Any
    when: Any
    good: Any
    durations: Callable[[Sequence[str], int], Any]


@dataclass(frozen=True)
class Point:
    """A scheduled moment a kind asked to be called back at: ``when``, ``what`` (the
    kind's own tag, ordering points at one instant: lower first) and ``payload``."""

    when: datetime
    what: int
    payload: Any = None


@dataclass(frozen=True)
class BookRefs:
    """What a kind's book-level check (:meth:`Kind.book_problems`) may look up in the
    rule book being loaded, as plain data before validation: the ids of its groups and
    families."""

    groups: tuple[str, ...]
    families: frozenset[str] = frozenset()

    def group(self, path: str, group_id: Any) -> list[Problem]:
        """The problem of a reference at ``path`` to a group the book does not declare:
        none for a string naming one of its groups, for anything that is not a string
        (its field check says so) or in a book without groups."""
        if not isinstance(group_id, str) or not self.groups or group_id in self.groups:
            return []
        listed = ", ".join(dict.fromkeys(g for g in self.groups if g))
        return [Problem(path, f"unknown group {group_id!r} (groups: {listed})")]

    def group_list(self, path: str, value: Any) -> list[Problem]:
        """:meth:`group` for each group a list at ``path`` names (``path[0]``, ...; one
        string is a list of one)."""
        named = group_names(value)
        return [p for j, gid in enumerate(named) for p in self.group(f"{path}[{j}]", gid)]


def group_names(value: Any) -> list[str]:
    """The strings a field that takes one group or a list of them holds, as plain data
    (anything else there is left to its field check)."""
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list | tuple) else []


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

    def holds_back(self, policy: Any, rt: Runtime, ms: Membership, role: str, at: datetime) -> bool:
        """Whether this policy holds the membership back from ``role`` at ``at`` (a
        ladder asks before promoting onto it; a duty that removed the role holds the
        member back while its condition fails). By default: never."""
        return False

    def strategy(self, ctx: StrategyContext) -> Any:
        """A Hypothesis strategy of one valid policy of this kind in a book drawn by
        :func:`groupops.testing.rule_books` (any ``id``: it is replaced), or None when
        such a book cannot hold one (an admission needs two groups). A kind without a
        strategy is never drawn. Import Hypothesis inside: it is a testing extra."""
        return None

    def refuses(
        self, policy: Any, rt: Runtime, member: str, group: Group, at: datetime, *, leaving: str | None = None
    ) -> str | None:
        """Why ``policy`` would turn ``member`` back from joining ``group`` at ``at`` (and
        leaving the group ``leaving``, if given), in the book's locale, or None (the
        default: a kind that constrains no joins)."""
        return None

    def book_problems(self, policy: Mapping[str, Any], path: str, book: BookRefs) -> list[Problem]:
        """Problems of one policy of this kind that need the whole book, found on its
        plain data (``path`` is where it stands, ``policies[2]``) before validation, so
        that they are reported with the field errors: by default, that ``groups``,
        ``group`` and ``invite_to`` name groups of the book. A kind with other group
        references (an admission's ``from`` and ``to``) or checks across its entries
        (a ladder's roles) adds them."""
        problems = book.group_list(f"{path}.groups", policy.get("groups"))
        for key in ("group", "invite_to"):  # the group kinds' single references
            problems += book.group(f"{path}.{key}", policy.get(key))
        return problems

    def standing(self, policy: Any, rt: Runtime, member: str, at: datetime) -> list[StandingItem]:
        """Where ``member`` stands under ``policy`` at ``at``, for
        :meth:`Engine.standing`: by default, :meth:`explain` for each of the member's
        memberships in the policy's groups (present, or evicted: what brings them back),
        those with something to meet. A member-wide kind (``tier``) gives its own; a kind
        whose decisions are not the member's to act on gives nothing."""
        items: list[StandingItem] = []
        for group in policy.group_ids():
            ms = rt.membership(member, group)
            if ms is None or not (ms.present or ms.status == "evicted"):
                continue
            sections, notes = self.explain(policy, rt, ms, at)
            if sections:
                items.append(
                    StandingItem(
                        policy=policy.id,
                        policy_type=self.name,
                        group=group,
                        sections=tuple(sections),
                        notes=tuple(notes),
                    )
                )
        return items

    def policy_template(self, policy: Any, action: str) -> str | None:
        """The template a policy of this kind gives ``action`` in a field of its own (a
        broadcast's ``text``), or None. The policy's ``templates`` still win; the book's
        templates and the action's defaults come after."""
        return None

    def stale(self, policy: Any, decision: Decision, rt: Runtime, at: datetime) -> str | None:
        """Why the messages of ``decision`` should no longer be delivered at ``at`` (an
        invitation to a group the member has joined since), or None to deliver them.
        Asked by delivery before each attempt; a stale message is ``cancelled`` with
        the reason as its ``last_error``."""
        return None

    def action(self, name: str) -> ActionSpec | None:
        return next((a for a in self.actions if a.name == name), None)


class KindRegistry:
    """The registered kinds by name, in registration order."""

    def __init__(self, kinds: Iterable[Kind] = ()) -> None:
        self._kinds: dict[str, Kind] = {}
        for k in kinds:
            self.register(k)

    def register(self, kind: Kind) -> None:
        """Add a kind; a second kind with one name is a :class:`RuleError`. Two kinds
        may each declare an action of one name (``refuse``, ``remove``): a decision's
        words, platform need and audience come from its own policy's kind."""
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


class ScheduledPolicy(PolicyBase):
    """A policy due at moments of its own: each occurrence of ``schedule`` (an RRULE in
    the book's time zone, from ``start`` when given), or once ``at`` an instant. Exactly
    one of the two; ``on`` and ``delay`` do not apply.

    A run decides every occurrence since the previous run, in time order, each at its
    own moment (a late run decides what an on-time run would have). A policy first
    seen by a run decides occurrences from its ``start`` (or its ``at``), else from that
    run's instant on."""

    schedule: ScheduleField | None = None
    at: Time | None = None
    start: Time | None = None

    own_moments: ClassVar[str] = "this policy is due on its 'schedule' or 'at'"

    @model_validator(mode="after")
    def _one_moment(self) -> ScheduledPolicy:
        if (self.schedule is None) == (self.at is None):
            raise ValueError("give exactly one of 'schedule' (an RRULE) and 'at' (an instant)")
        return self


_ONE_TICK = timedelta(microseconds=1)


def decide_or_retry(
    rt: Runtime, scratch_key: str, when: datetime, decide: Callable[[], list[Decision]]
) -> tuple[list[Decision], list[Point]]:
    """``decide()`` at the moment ``when``; when a plugin failed meanwhile, ``when`` is kept
    in the scratch ``scratch_key`` as a moment to decide again (see :func:`store_cursor`)."""
    failed_before = rt.failures()
    made = decide()
    if rt.failures() > failed_before:
        scratch = rt.scratch(scratch_key)
        scratch["retry"] = min(scratch.get("retry", when), when)
    return made, []


def store_cursor(rt: Runtime, scratch_key: str, state_key: str, at: datetime) -> None:
    """Store under ``state_key`` how far the moments are decided: just before the earliest
    one to decide again, else the run's cursor (``at`` when none was kept)."""
    scratch = rt.scratch(scratch_key)
    retry = scratch.get("retry")
    cursor = retry - _ONE_TICK if retry is not None else scratch.get("cursor", at)
    rt.set_state(state_key, cursor.isoformat())


MAX_OCCURRENCES = 1000
"""The most occurrences one run decides for one scheduled policy; more is a RuleError
(run at earlier times first), not a hang."""


class ScheduledKind(Kind):
    """A kind due at its policies' ``schedule`` or ``at`` (:class:`ScheduledPolicy`).

    Subclasses implement :meth:`occurrence`; the cursor (the last instant decided) is
    kept in run state under ``schedule:<policy id>``. An occurrence during which a
    plugin failed is decided again by the next run (what was decided is kept, by id)."""

    model: ClassVar[type[PolicyBase]] = ScheduledPolicy

    def occurrence(
        self, policy: Any, rt: Runtime, when: datetime, previous: datetime | None, at: datetime
    ) -> list[Decision]:
        """Decide one occurrence at ``when``; ``previous`` is the occurrence before it
        (None for the first, or for a one-off ``at``); ``at`` is the run's instant."""
        return []

    @staticmethod
    def _cursor_key(policy: Any) -> str:
        return f"schedule:{policy.id}"

    def occurrences(self, policy: Any, tz: tzinfo, after: datetime, until: datetime) -> list[datetime]:
        """The policy's moments in ``(after, until]``, in order."""
        if policy.at is not None:
            return [policy.at] if after < policy.at <= until else []
        found: list[datetime] = []
        for when in policy.schedule.iter_after(after, tz, policy.start):
            if when > until:
                break
            found.append(when)
            if len(found) > MAX_OCCURRENCES:
                raise RuleError(
                    [
                        Problem(
                            f"policy {policy.id!r}",
                            f"more than {MAX_OCCURRENCES:,} occurrences of {policy.schedule} are due between "
                            f"{after.isoformat()} and {until.isoformat()}; run at earlier times first",
                        )
                    ]
                )
        return found

    def due(self, policy: Any, rt: Runtime, at: datetime) -> list[Point]:
        raw = rt.get_state(self._cursor_key(policy))
        if raw is not None:
            after = datetime.fromisoformat(raw)
        else:
            first = policy.at if policy.at is not None else policy.start
            after = (min(first, at) if first is not None else at) - _ONE_TICK
        points = []
        previous: datetime | None = None
        for i, when in enumerate(self.occurrences(policy, rt.tz, after, at)):
            schedule = policy.schedule
            if schedule is None:
                previous = None
            elif i == 0:  # later ones follow the one before: no search back through the rule
                previous = schedule.previous_before(when, rt.tz, policy.start)
            points.append(Point(when, 0, previous))
            previous = when
        rt.scratch(f"schedule:{policy.id}")["cursor"] = at
        return points

    def decide_at_point(
        self, policy: Any, point: Point, rt: Runtime, at: datetime
    ) -> tuple[list[Decision], list[Point]]:
        return decide_or_retry(
            rt,
            f"schedule:{policy.id}",
            point.when,
            lambda: self.occurrence(policy, rt, point.when, point.payload, at),
        )

    def finish(self, policy: Any, rt: Runtime, at: datetime) -> None:
        store_cursor(rt, f"schedule:{policy.id}", self._cursor_key(policy), at)
