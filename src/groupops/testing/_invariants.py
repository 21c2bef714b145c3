"""Invariant checks: laws every run of every rule book must keep, checked after the fact.

Each record-level check takes the rule book, the recorded decisions (in the order they
were recorded), the memberships, and where it needs them the stored events and member
profiles, and returns a list of :class:`InvariantViolation` (empty when the law holds).
:func:`check_invariants` runs them all against an engine's store, plus the checks that
need the engine itself (re-running at the same time changes nothing).

The checks do not trust the engine's bookkeeping: the membership a decision was made
on is rebuilt from the decision log, and conditions are re-evaluated on a fresh
:class:`~groupops.rules.Community` built from the stored events, not the engine's own index.
They assume events were ingested before the runs that could see them (an event
ingested late, with an earlier time, changes what a re-evaluation sees).

Why it is this long: it is the list of laws, eight checks of a few dozen lines each over
the same rebuilt memberships, plus :func:`check_invariants` that runs them all; a law
added is a function added here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from .._decision import Decision, decision_id
from .._engine import Engine
from .._model import Event, Member, Membership
from ..rules._book import RuleBook
from ..rules._conditions import Scope
from ..rules._evaluate import Context, evaluate
from ..rules._explain import Explanation
from ..rules._facts import Community
from ..rules._policies import Eviction, Ladder, Revival
from ..rules._semantics import eviction_period

__all__ = [
    "INVARIANTS",
    "Invariant",
    "InvariantViolation",
    "assert_invariants",
    "check_invariants",
    "decision_ids_are_stable",
    "ladder_moves_one_step",
    "no_eviction_in_grace",
    "no_eviction_of_exempt",
    "notice_before_eviction",
    "rerun_changes_nothing",
    "revivals_within_max",
    "revived_met_criteria",
]


@dataclass(frozen=True)
class InvariantViolation:
    """One broken law: which, for whom, the decision that broke it, and why.

    ``explanation`` is the decision's own explanation, or the re-evaluation that
    contradicts it, as text; ``message`` says what is wrong.
    """

    invariant: str
    member: str | None
    group: str | None
    decision: Decision | None
    explanation: str
    message: str

    def __str__(self) -> str:
        lines = [f"{self.invariant}: {self.message}", f"  member {self.member!r} in group {self.group!r}"]
        d = self.decision
        if d is not None:
            lines.append(
                f"  decision {d.action} by policy {d.policy!r} at {d.at.isoformat()} "
                f"(period {d.period!r}, id {d.id})"
            )
        if self.explanation:
            lines.append(f"  explanation: {self.explanation}")
        return "\n".join(lines)


class Invariant(Protocol):
    """A record-level check: ``(book, decisions, memberships, *, events, members)``."""

    __name__: str

    def __call__(
        self,
        book: RuleBook,
        decisions: Sequence[Decision],
        memberships: Sequence[Membership],
        *,
        events: Sequence[Event] | None = None,
        members: Sequence[Member] = (),
    ) -> list[InvariantViolation]: ...


_P = TypeVar("_P")

# -- rebuilding what the engine saw ------------------------------------------------------


def _applied(decisions: Iterable[Decision]) -> list[Decision]:
    return [d for d in decisions if d.status == "applied"]


def _memberships_before(
    decisions: Sequence[Decision], memberships: Sequence[Membership]
) -> dict[str, Membership]:
    """For each applied decision that changes a membership, the membership as it was just
    before it: rewound from today's membership to before the first decision, then
    replayed forward through the log in recorded order."""
    now: dict[tuple[str | None, str | None], Membership] = {(ms.member, ms.group): ms for ms in memberships}
    log: dict[tuple[str | None, str | None], list[Decision]] = defaultdict(list)
    for d in _applied(decisions):
        if d.action in ("notice", "evict", "spare", "revive", "promote", "demote"):
            log[(d.member, d.group)].append(d)
    out: dict[str, Membership] = {}
    for key, made in log.items():
        current = now.get(key)
        if current is None:
            continue
        ladder = [d for d in made if d.action in ("promote", "demote")]
        revives = [d for d in made if d.action == "revive"]
        state = current.model_copy(
            update={
                "status": "active",
                "role": (ladder[0].from_role or current.role) if ladder else current.role,
                "promoted_at": None if ladder else current.promoted_at,
                "role_changes": max(0, current.role_changes - len(ladder)),
                "revivals": max(0, current.revivals - len(revives)),
                "revived_at": None if revives else current.revived_at,
                "evicted_at": None if any(d.action == "evict" for d in made) else current.evicted_at,
            }
        )
        for d in made:
            out[d.id] = state
            state = _after(state, d)
    return out


def _after(ms: Membership, d: Decision) -> Membership:
    if d.action == "notice":
        return ms.model_copy(update={"status": "notified"})
    if d.action == "evict":
        return ms.model_copy(update={"status": "evicted", "evicted_at": d.at})
    if d.action == "spare":
        return ms.model_copy(update={"status": "active"})
    if d.action == "revive":
        return ms.model_copy(update={"status": "active", "revived_at": d.at, "revivals": ms.revivals + 1})
    return ms.model_copy(
        update={"role": d.to_role or ms.role, "promoted_at": d.at, "role_changes": ms.role_changes + 1}
    )


def _policies(book: RuleBook, kind: type[Any]) -> dict[str, Any]:
    return {p.id: p for p in book.policies_of(kind)}


def _decided(
    decisions: Iterable[Decision], policies: Mapping[str, _P], actions: Collection[str]
) -> Iterator[tuple[Decision, _P]]:
    """Each applied decision of one of ``policies`` with one of ``actions``, and its policy:
    what a law looks at."""
    for d in _applied(decisions):
        policy = policies.get(d.policy)
        if policy is not None and d.action in actions:
            yield d, policy


def _period_end(d: Decision) -> datetime | None:
    try:
        return datetime.fromisoformat(d.period)
    except ValueError:
        return None


def _need_events(events: Sequence[Event] | None, name: str) -> Sequence[Event]:
    if events is None:
        raise ValueError(f"{name} re-evaluates conditions: pass events= (every stored event)")
    return events


@dataclass(frozen=True)
class _Replay:
    """What a check that re-evaluates conditions rebuilds from the stored records: the
    community of events, the member profiles and each decision's membership before it."""

    book: RuleBook
    community: Community
    profiles: dict[str, Member]
    before: dict[str, Membership]

    @classmethod
    def of(
        cls,
        name: str,
        book: RuleBook,
        decisions: Sequence[Decision],
        memberships: Sequence[Membership],
        events: Sequence[Event] | None,
        members: Sequence[Member],
    ) -> _Replay:
        """The replay for the check ``name`` (``ValueError`` naming it without ``events``)."""
        community = Community(book.tz, _need_events(events, name))
        return cls(book, community, {m.id: m for m in members}, _memberships_before(decisions, memberships))

    def context(
        self, d: Decision, ms: Membership, scope: Scope, *, period_start: datetime | None = None
    ) -> Context:
        """The context the engine evaluated ``d`` in: at its time, with ``ms``."""
        return Context(
            at=d.at,
            tz=self.book.tz,
            history=self.community.history(ms.member),
            group=ms.group,
            member=self.profiles.get(ms.member),
            membership=ms,
            default_scope=scope,
            period_start=period_start,
        )


def _violation(
    invariant: str, d: Decision, message: str, explanation: Explanation | None = None
) -> InvariantViolation:
    text = explanation.summary() if explanation is not None else d.reasons()
    return InvariantViolation(
        invariant=invariant, member=d.member, group=d.group, decision=d, explanation=text, message=message
    )


def _at(value: datetime) -> str:
    return value.isoformat()


# -- the laws ----------------------------------------------------------------------------


def no_eviction_in_grace(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """Nobody is noticed or evicted while inside the policy's grace period at the
    period's end (grace runs from joining, or from the last revival)."""
    policies = _policies(book, Eviction)
    before = _memberships_before(decisions, memberships)
    evictions: dict[tuple[str | None, str | None], list[datetime]] = defaultdict(list)
    for d in _applied(decisions):
        if d.action == "evict":
            evictions[(d.member, d.group)].append(d.at)
    out: list[InvariantViolation] = []
    for d, policy in _decided(decisions, policies, ("notice", "evict")):
        if policy.grace is None:
            continue
        ms = before.get(d.id)
        end = _period_end(d)
        if ms is None or end is None or _rejoined_since(ms, d, evictions[(d.member, d.group)]):
            continue  # rejoined since: the join this decision saw is no longer known
        began = max(ms.joined_at, ms.revived_at) if ms.revived_at is not None else ms.joined_at
        grace_ends = policy.grace.after(began, book.tz)
        if grace_ends > end:
            out.append(
                _violation(
                    "no_eviction_in_grace",
                    d,
                    f"{d.action} for the period ending {_at(end)}, but grace of {policy.grace} from "
                    f"{_at(began)} lasts until {_at(grace_ends)}",
                )
            )
    return out


def _rejoined_since(ms: Membership, d: Decision, evictions: Sequence[datetime]) -> bool:
    """Whether ``ms`` (today's joining) began after decision ``d``: it was joined later, or
    an eviction at or after ``d`` ended the joining ``d`` saw and the member came back at
    or after it (evicted and back within the same minute as ``d``, even)."""
    return ms.joined_at > d.at or any(d.at <= evicted <= ms.joined_at for evicted in evictions)


def no_eviction_of_exempt(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """Nobody who meets the policy's ``exempt`` condition when noticed or evicted is
    noticed or evicted (re-evaluated from the stored events)."""
    policies = {pid: p for pid, p in _policies(book, Eviction).items() if p.exempt is not None}
    if not policies:
        return []
    replay = _Replay.of("no_eviction_of_exempt", book, decisions, memberships, events, members)
    out: list[InvariantViolation] = []
    for d, policy in _decided(decisions, policies, ("notice", "evict")):
        ms = replay.before.get(d.id)
        end = _period_end(d)
        if ms is None or end is None:
            continue
        period = eviction_period(policy, end, book.tz)
        start = period.start if period is not None else None
        ctx = replay.context(d, ms, policy.default_scope, period_start=start)
        exempt = evaluate(policy.exempt, ctx)
        if exempt.passed:
            out.append(_violation("no_eviction_of_exempt", d, f"{d.action} of an exempt member", exempt))
    return out


def notice_before_eviction(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """Every eviction was preceded by a notice for the same period at least the policy's
    ``notice`` earlier; a member who joined after the period's notice time is neither
    noticed nor evicted in that period."""
    policies = _policies(book, Eviction)
    by_id = {d.id: d for d in _applied(decisions)}
    current: dict[tuple[str | None, str | None], Membership] = {
        (ms.member, ms.group): ms for ms in memberships
    }
    out: list[InvariantViolation] = []
    for d, policy in _decided(by_id.values(), policies, ("notice", "evict")):
        end = _period_end(d)
        if end is None:
            continue
        notice_time = policy.notice.before(end, book.tz)
        ms = current.get((d.member, d.group))
        if d.action == "notice":
            if ms is not None and notice_time < ms.joined_at <= d.at:
                out.append(
                    _violation(
                        "notice_before_eviction",
                        d,
                        f"noticed, but joined at {_at(ms.joined_at)}, after this period's notice time "
                        f"{_at(notice_time)}",
                    )
                )
            continue
        notice = by_id.get(decision_id(d.policy, "notice", d.member, d.group, d.period))
        if notice is None:
            out.append(_violation("notice_before_eviction", d, "evicted without a notice for this period"))
        elif notice.at > policy.notice.before(d.at, book.tz):
            out.append(
                _violation(
                    "notice_before_eviction",
                    d,
                    f"noticed at {_at(notice.at)}, less than {policy.notice} before the eviction",
                )
            )
    return out


def revived_met_criteria(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """Every revived member was evicted, is revived within ``within`` of the eviction,
    had revivals left, and met the revival ``when`` at the revival time, re-evaluated
    on a fresh community built from the stored events."""
    policies = _policies(book, Revival)
    if not policies:
        return []
    replay = _Replay.of("revived_met_criteria", book, decisions, memberships, events, members)
    out: list[InvariantViolation] = []
    for d, policy in _decided(decisions, policies, ("revive",)):
        ms = replay.before.get(d.id)
        if ms is None:
            continue
        if ms.evicted_at is None:
            out.append(_violation("revived_met_criteria", d, "revived, but was never evicted"))
            continue
        deadline = policy.within.after(ms.evicted_at, book.tz)
        if not ms.evicted_at <= d.at <= deadline:
            out.append(
                _violation(
                    "revived_met_criteria",
                    d,
                    f"revived at {_at(d.at)}, outside the window {_at(ms.evicted_at)} .. {_at(deadline)}",
                )
            )
        if ms.revivals >= policy.max:
            out.append(
                _violation(
                    "revived_met_criteria", d, f"revived with {ms.revivals} revivals used of max {policy.max}"
                )
            )
        ctx = replay.context(d, ms.model_copy(update={"status": "evicted"}), policy.default_scope)
        again = evaluate(policy.when, ctx)
        if not again.passed:
            out.append(
                _violation(
                    "revived_met_criteria",
                    d,
                    f"revived at {_at(d.at)}, but the revival criteria do not hold then",
                    again,
                )
            )
    return out


def revivals_within_max(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """No membership is revived more often than the revival policy's ``max``."""
    policies = _policies(book, Revival)
    counts: Counter[tuple[str, str | None, str | None]] = Counter()
    out: list[InvariantViolation] = []
    for d, policy in _decided(decisions, policies, ("revive",)):
        key = (d.policy, d.member, d.group)
        counts[key] += 1
        if counts[key] > policy.max:
            out.append(
                _violation("revivals_within_max", d, f"revival number {counts[key]} exceeds max {policy.max}")
            )
    for ms in memberships:
        limits = [p.max for p in policies.values() if ms.group in p.groups]
        if limits and ms.revivals > max(limits):
            out.append(
                InvariantViolation(
                    invariant="revivals_within_max",
                    member=ms.member,
                    group=ms.group,
                    decision=None,
                    explanation="",
                    message=f"membership records {ms.revivals} revivals; max is {max(limits)}",
                )
            )
    return out


def decision_ids_are_stable(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """Decision ids are unique, and each is the stable hash of (policy, action, member,
    group, period), so a rerun or a crash recovery yields the same id again."""
    seen: Counter[str] = Counter(d.id for d in decisions)
    out: list[InvariantViolation] = []
    reported: set[str] = set()
    for d in decisions:
        if seen[d.id] > 1 and d.id not in reported:
            reported.add(d.id)
            out.append(_violation("decision_ids_are_stable", d, f"decision id recorded {seen[d.id]} times"))
        expected = decision_id(d.policy, d.action, d.member, d.group, d.period)
        if d.id != expected:
            out.append(
                _violation(
                    "decision_ids_are_stable",
                    d,
                    f"id {d.id} is not {expected}, the hash of policy, action, member, group, period",
                )
            )
    return out


def ladder_moves_one_step(
    book: RuleBook,
    decisions: Sequence[Decision],
    memberships: Sequence[Membership],
    *,
    events: Sequence[Event] | None = None,
    members: Sequence[Member] = (),
) -> list[InvariantViolation]:
    """Ladder roles move one step at a time: a promotion to the next role up, a demotion
    to the next one down, from the role the member held, at most once per run."""
    policies: dict[str, Ladder] = _policies(book, Ladder)
    before = _memberships_before(decisions, memberships)
    moved: Counter[tuple[str, str | None, str | None, datetime]] = Counter()
    out: list[InvariantViolation] = []
    for d, policy in _decided(decisions, policies, ("promote", "demote")):
        roles = policy.roles()
        name = "ladder_moves_one_step"
        if d.from_role not in roles or d.to_role not in roles:
            out.append(
                _violation(name, d, f"{d.from_role!r} → {d.to_role!r} leaves the ladder {list(roles)}")
            )
            continue
        step = roles.index(d.to_role) - roles.index(d.from_role)
        if step != (1 if d.action == "promote" else -1):
            out.append(
                _violation(
                    name, d, f"{d.action} {d.from_role!r} → {d.to_role!r} is not one step on {list(roles)}"
                )
            )
        ms = before.get(d.id)
        if ms is not None and ms.role != d.from_role:
            out.append(_violation(name, d, f"moved from {d.from_role!r}, but the member held {ms.role!r}"))
        if ms is not None and ms.locked:
            out.append(_violation(name, d, "moved a locked membership"))
        key = (d.policy, d.member, d.group, d.at)
        moved[key] += 1
        if moved[key] == 2:
            out.append(_violation(name, d, f"moved twice at {_at(d.at)}"))
    return out


# the segment kinds' checks live in a module of their own, which imports this one's
from ._invariants_segments import SEGMENT_INVARIANTS  # noqa: E402

INVARIANTS: tuple[Invariant, ...] = (
    no_eviction_in_grace,
    no_eviction_of_exempt,
    notice_before_eviction,
    revived_met_criteria,
    revivals_within_max,
    decision_ids_are_stable,
    ladder_moves_one_step,
    *SEGMENT_INVARIANTS,
)
"""Every record-level check, in the order :func:`check_invariants` runs them."""


# -- checks that need the engine ---------------------------------------------------------


def rerun_changes_nothing(engine: Engine, at: datetime) -> list[InvariantViolation]:
    """Running again at ``at`` (the time of the last run) makes no decision: checked with
    a dry run, so nothing is recorded either way."""
    report = engine.run(at, dry_run=True)
    return [
        _violation(
            "rerun_changes_nothing",
            d,
            f"running again at {_at(at)} would make a new decision ({d.action} by {d.policy!r})",
        )
        for d in report.decisions
    ]


def check_invariants(
    engine: Engine,
    *,
    at_times: Iterable[datetime] | None = None,
    invariants: Iterable[Invariant] = INVARIANTS,
) -> list[InvariantViolation]:
    """Run every check against ``engine``'s store; the violations found (empty if none).

    ``at_times`` are times to re-run at (dry runs: nothing is recorded): each must be
    the time of the engine's latest run, or later runs may have legitimately changed
    what an earlier time would decide. By default, the latest run's time.
    """
    store = engine.store
    decisions = store.decisions()
    memberships = store.memberships()
    events = [e for _, e in store.events_after(0)]
    members = store.members()
    found: list[InvariantViolation] = []
    for check in invariants:
        found.extend(check(engine.book, decisions, memberships, events=events, members=members))
    if at_times is None:
        last = store.get_state("last_run_at")
        at_times = [datetime.fromisoformat(last)] if last else []
    for at in at_times:
        found.extend(rerun_changes_nothing(engine, at))
    return found


def assert_invariants(
    engine: Engine,
    *,
    at_times: Iterable[datetime] | None = None,
    invariants: Iterable[Invariant] = INVARIANTS,
) -> None:
    """:func:`check_invariants`, raising ``AssertionError`` that lists every violation."""
    found = check_invariants(engine, at_times=at_times, invariants=invariants)
    if found:
        raise AssertionError(f"{len(found)} invariant violation(s):\n" + "\n".join(str(v) for v in found))
