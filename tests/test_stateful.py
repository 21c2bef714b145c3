"""A state machine drives the engine on a SQLite store (ingest, run, dry run, deliver,
crash and reopen) and compares decisions and memberships after every step with a small
reference model.

The reference model is written from the rules of the one book below, as plain loops over
plain events: no groupops code decides anything in it (only ``decision_id``, the
documented hash, is shared). It is meant to be the simplest code that could be right.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import groupops as go
from groupops.testing import RecordingMessenger, check_invariants

TZ = ZoneInfo("Asia/Shanghai")
FIRST_END = datetime(2026, 9, 1, 20, 0, tzinfo=TZ)  # the schedule's first occurrence
BOOK = go.RuleBook.load(
    {
        "timezone": "Asia/Shanghai",
        "groups": [{"id": "welfare"}, {"id": "vip", "kind": "paid"}, {"id": "camp"}],
        "policies": [
            {
                "id": "vip",
                "type": "admission",
                "from": ["welfare"],
                "to": "vip",
                "expires": "2d",
                "when": {"count": "purchase", "within": "7d", "at_least": 2},
            },
            {
                "id": "daily",
                "type": "eviction",
                "groups": ["camp"],
                # DTSTART in the rule (not the policy's ``start``): the first run begins at
                # that run, and the recurrence is iterated from 2026, not from 2000
                "schedule": "DTSTART;TZID=Asia/Shanghai:20260901T000000\nRRULE:FREQ=DAILY;BYHOUR=20",
                "notice": "6h",
                "grace": "1d",
                "exempt": {"role": ["admin"]},
                "when": {
                    "any": [
                        {"days_since": "checkin", "at_least": 2},
                        {"count": "violation", "within": "3d", "at_least": 2},
                    ]
                },
            },
            {
                "id": "comeback",
                "type": "revival",
                "groups": ["camp"],
                "within": "2d",
                "max": 1,
                "when": {"count": "payment", "since": "evicted", "at_least": 1},
            },
            {
                "id": "roles",
                "type": "ladder",
                "groups": ["camp"],
                "steps": [
                    {"role": "member"},
                    {
                        "role": "active",
                        "promote": {"count": "message", "within": "2d", "at_least": 2},
                        "keep": {"count": "message", "within": "3d", "at_least": 1},
                        "grace": "1d",
                    },
                ],
            },
        ],
    }
)
MEMBERS = ("m0", "m1", "m2", "m3")
GROUPS = ("welfare", "vip", "camp")
KINDS = ("joined", "left", "checkin", "violation", "message", "purchase", "payment")


# -- the reference model ------------------------------------------------------------------


@dataclass
class Ms:
    member: str
    group: str
    joined_at: datetime
    role: str = "member"
    status: str = "active"
    left_at: datetime | None = None
    evicted_at: datetime | None = None
    revived_at: datetime | None = None
    promoted_at: datetime | None = None
    revivals: int = 0
    role_changes: int = 0

    @property
    def present(self) -> bool:
        return self.status in ("active", "notified")


@dataclass(frozen=True)
class Ev:
    id: str
    kind: str
    member: str
    group: str | None
    at: datetime
    role: str | None = None


@dataclass(frozen=True)
class Made:
    id: str
    policy: str
    action: str
    member: str
    group: str
    period: str
    at: datetime
    from_role: str | None = None
    to_role: str | None = None


@dataclass
class Reference:
    events: dict[str, Ev] = field(default_factory=dict)
    memberships: dict[tuple[str, str], Ms] = field(default_factory=dict)
    decisions: list[Made] = field(default_factory=list)
    cursor: datetime | None = None
    deferred: dict[datetime, datetime] = field(default_factory=dict)

    # facts: plain scans over every event
    def _events(self, kind: str, member: str, group: str | None, start: datetime | None, end: datetime):
        return [
            e
            for e in self.events.values()
            if e.kind == kind
            and e.member == member
            and (group is None or e.group in (group, None))
            and (start is None or start <= e.at)
            and e.at <= end
        ]

    def count(self, kind, member, group, start, end) -> int:
        return len(self._events(kind, member, group, start, end))

    def days_since(self, kind, member, group, at) -> float:
        times = [e.at for e in self._events(kind, member, group, None, at)]
        return float("inf") if not times else (at - max(times)).total_seconds() / 86400

    def _has(self, decision_id: str) -> bool:
        return any(d.id == decision_id for d in self.decisions)

    def _record(self, made: list[Made], policy, action, ms: Ms, group, period, at, **roles) -> bool:
        did = go.decision_id(policy, action, ms.member, group, period)
        if self._has(did):
            return False
        d = Made(
            did, policy, action, ms.member, group, period, at, roles.get("from_role"), roles.get("to_role")
        )
        self.decisions.append(d)
        made.append(d)
        return True

    # ingest
    def ingest(self, batch: list[Ev]) -> None:
        new = []
        for e in batch:
            if e.id not in self.events:
                self.events[e.id] = e
                new.append(e)
        for e in sorted(new, key=lambda e: e.at):
            if e.kind in ("joined", "left") and e.group is not None:
                self._presence(e)

    def _presence(self, e: Ev) -> None:
        ms = self.memberships.get((e.member, e.group))
        if e.kind == "joined":
            if ms is None:
                self.memberships[(e.member, e.group)] = Ms(e.member, e.group, e.at, role=e.role or "member")
            elif ms.present:
                ms.joined_at = min(ms.joined_at, e.at)
            elif e.at >= max(t for t in (ms.left_at, ms.evicted_at, ms.joined_at) if t is not None):
                ms.status, ms.joined_at, ms.left_at = "active", e.at, None
        elif ms is not None and ms.present and e.at >= ms.joined_at:
            ms.status, ms.left_at = "left", e.at

    # the book's rules
    def at_risk(self, ms: Ms, at: datetime, end: datetime) -> bool:
        began = max(ms.joined_at, ms.revived_at) if ms.revived_at else ms.joined_at
        if began + timedelta(days=1) > end or ms.role == "admin":
            return False
        return (
            self.days_since("checkin", ms.member, "camp", at) >= 2
            or self.count("violation", ms.member, "camp", at - timedelta(days=3), at) >= 2
        )

    def _sorted(self, group: str) -> list[Ms]:
        return [self.memberships[k] for k in sorted(self.memberships) if k[1] == group]

    def run(self, at: datetime) -> list[Made]:
        made: list[Made] = []
        after = self.cursor if self.cursor is not None else at - timedelta(microseconds=1)
        # (when, 0 notice / 1 end, the period's end); a period's end waits for a late
        # notice until 6h after it (``deferred``: period end -> when)
        points = [(due, 1, end) for end, due in self.deferred.items() if due <= at]
        if after < at:
            notices = []
            day = after.astimezone(TZ).date() - timedelta(days=1)
            while True:
                end = datetime.combine(day, time(20), tzinfo=TZ)
                notice = end - timedelta(hours=6)
                if notice > at:
                    break
                if end >= FIRST_END:
                    if after < notice <= at:
                        notices.append((notice, 0, end))
                    if after < end <= at:
                        points.append((end, 1, end))
                day += timedelta(days=1)
            points += notices[-1:]  # only the latest period's notice is given
            self.cursor = at
        for when, is_end, end in sorted(points):
            period = end.isoformat()
            if not is_end:
                # given now, at the run's time; the end waits for 6 whole hours
                if at + timedelta(hours=6) > end:
                    self.deferred[end] = at + timedelta(hours=6)
                for ms in self._sorted("camp"):
                    if ms.present and ms.joined_at <= when and self.at_risk(ms, at, end):
                        if self._record(made, "daily", "notice", ms, "camp", period, at):
                            ms.status = "notified"
                continue
            if end in self.deferred and self.deferred[end] > when:
                continue
            self.deferred.pop(end, None)
            for ms in self._sorted("camp"):
                if not ms.present:
                    continue
                if self._has(go.decision_id("daily", "notice", ms.member, "camp", period)):
                    if self.at_risk(ms, when, end):
                        if self._record(made, "daily", "evict", ms, "camp", period, when):
                            ms.status, ms.evicted_at = "evicted", when
                    elif self._record(made, "daily", "spare", ms, "camp", period, when):
                        ms.status = "active"
        for ms in self._sorted("camp"):  # revival
            if ms.evicted_at is None:
                continue
            deadline = ms.evicted_at + timedelta(days=2)
            when = min(at, deadline)
            if ms.status != "evicted" or not ms.evicted_at <= when or ms.revivals >= 1:
                continue
            if self.count("payment", ms.member, "camp", ms.evicted_at, when) >= 1:
                if self._record(made, "comeback", "revive", ms, "camp", f"revival-{ms.revivals + 1}", when):
                    ms.status, ms.revived_at, ms.revivals = "active", when, ms.revivals + 1
        for ms in self._sorted("welfare"):  # admission
            target = self.memberships.get((ms.member, "vip"))
            if not ms.present or (target is not None and target.present):
                continue
            invites = [d for d in self.decisions if d.policy == "vip" and d.member == ms.member]
            if len(invites) >= 2:  # max_invitations: the invitation and one reminder
                continue
            if invites and at < max(d.at for d in invites) + timedelta(days=2):
                continue
            if self.count("purchase", ms.member, None, at - timedelta(days=7), at) >= 2:
                self._record(made, "vip", "invite", ms, "vip", f"invite-{len(invites) + 1}", at)
        for ms in self._sorted("camp"):  # ladder
            if not ms.present or (ms.promoted_at is not None and ms.promoted_at >= at):
                continue
            move = None
            if ms.role == "member":
                if self.count("message", ms.member, "camp", at - timedelta(days=2), at) >= 2:
                    move = ("promote", "active")
            elif ms.role == "active":
                in_grace = ms.promoted_at is not None and at < ms.promoted_at + timedelta(days=1)
                if not in_grace and self.count("message", ms.member, "camp", at - timedelta(days=3), at) < 1:
                    move = ("demote", "member")
            if move is not None:
                action, to = move
                period = f"step-{ms.role_changes + 1}"
                if self._record(made, "roles", action, ms, "camp", period, at, from_role=ms.role, to_role=to):
                    ms.role, ms.promoted_at, ms.role_changes = to, at, ms.role_changes + 1
        return made


# -- comparing the engine with the reference ------------------------------------------------


def made_of(d: go.Decision) -> Made:
    return Made(d.id, d.policy, d.action, d.member, d.group, d.period, d.at, d.from_role, d.to_role)


def ms_of(m: go.Membership) -> tuple:
    return (
        m.member,
        m.group,
        m.role,
        m.status,
        m.joined_at,
        m.left_at,
        m.evicted_at,
        m.revived_at,
        m.promoted_at,
        m.revivals,
        m.role_changes,
    )


def ref_ms(m: Ms) -> tuple:
    return (
        m.member,
        m.group,
        m.role,
        m.status,
        m.joined_at,
        m.left_at,
        m.evicted_at,
        m.revived_at,
        m.promoted_at,
        m.revivals,
        m.role_changes,
    )


class Crash(KeyboardInterrupt):
    """Stands for the process dying inside a run's transaction (a plugin's other
    exceptions are isolated: they affect only the decision they were asked about)."""


class Crasher:
    """Raises inside ``run``'s transaction (from the veto hook) on its n-th decision."""

    def __init__(self) -> None:
        self.countdown: int | None = None

    @go.hookimpl
    def groupops_veto_action(self, decision, membership):
        if self.countdown is not None:
            self.countdown -= 1
            if self.countdown <= 0:
                self.countdown = None
                raise Crash(decision.id)
        return None


event_specs = st.tuples(
    st.sampled_from(KINDS),
    st.sampled_from(MEMBERS),
    st.sampled_from(GROUPS) | st.none(),
    st.integers(min_value=0, max_value=36 * 60),  # minutes before now: events arrive late too
    st.sampled_from(["member", "member", "admin", "active"]),
)


class EngineVersusReference(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="groupops-stateful-"))
        self.messenger = RecordingMessenger()
        self.crasher = Crasher()
        self.abandoned: list[go.Engine] = []
        self.engine = self._open()
        self.ref = Reference()
        self.clock = datetime(2026, 9, 7, 9, 0, tzinfo=TZ)
        self.n = 0

    def _open(self) -> go.Engine:
        return go.Engine(
            BOOK,
            store=str(self.dir / "ops.db"),
            plugins=[self.crasher, _Messengers(self.messenger)],
            entry_points=False,
            default_messenger=self.messenger.name,
        )

    @initialize(offset=st.integers(min_value=0, max_value=3 * 24 * 60))
    def start(self, offset):
        self.clock += timedelta(minutes=offset)

    def _ingest(self, specs) -> None:
        batch = []
        for kind, member, group, minutes_ago, role in specs:
            self.n += 1
            at = self.clock - timedelta(minutes=minutes_ago)
            batch.append(Ev(f"e{self.n}", kind, member, group, at, role if kind == "joined" else None))
        self.engine.ingest(
            go.Event(
                id=e.id,
                kind=e.kind,
                member=e.member,
                group=e.group,
                at=e.at,
                data={"role": e.role} if e.role and e.role != "member" else {},
            )
            for e in batch
        )
        self.ref.ingest(batch)

    @rule(specs=st.lists(event_specs, min_size=1, max_size=6))
    def ingest_mixed(self, specs):
        self._ingest(specs)

    @rule(
        member=st.sampled_from(MEMBERS),
        group=st.sampled_from(["camp", "camp", "welfare", "vip"]),
        role=st.sampled_from(["member", "member", "admin", "active"]),
        minutes_ago=st.integers(min_value=0, max_value=24 * 60),
    )
    def join(self, member, group, role, minutes_ago):
        self._ingest([("joined", member, group, minutes_ago, role)])

    @rule(
        member=st.sampled_from(MEMBERS),
        kind=st.sampled_from(["checkin", "message", "violation", "purchase", "payment"]),
        group=st.sampled_from(["camp", "welfare", None]),
        times=st.integers(min_value=1, max_value=3),
        minutes_ago=st.integers(min_value=0, max_value=24 * 60),
    )
    def act(self, member, kind, group, times, minutes_ago):
        self._ingest([(kind, member, group, minutes_ago + k * 7, "member") for k in range(times)])

    @precondition(lambda self: self.ref.events)
    @rule(data=st.data())
    def ingest_again(self, data):
        e = data.draw(st.sampled_from(sorted(self.ref.events.values(), key=lambda e: e.id)))
        report = self.engine.ingest([{"id": e.id, "kind": e.kind, "member": e.member, "at": e.at}])
        assert report.duplicates == (e.id,)

    @rule(
        minutes=st.integers(min_value=1, max_value=6 * 60) | st.integers(min_value=1, max_value=3 * 24 * 60)
    )
    def advance(self, minutes):
        self.clock += timedelta(minutes=minutes)

    @rule()
    def run(self):
        made = [made_of(d) for d in self.engine.run(self.clock).decisions]
        assert made == self.ref.run(self.clock)
        assert self.engine.run(self.clock, dry_run=True).decisions == ()  # a rerun changes nothing

    @rule()
    def dry_run(self):
        preview = [made_of(d) for d in self.engine.run(self.clock, dry_run=True).decisions]
        assert preview == copy.deepcopy(self.ref).run(self.clock)

    @rule()
    def deliver(self):
        self.engine.deliver(self.clock)
        expected = {f"{d.id}:{d.action}:{d.member}" for d in self.ref.decisions}
        assert sorted(self.messenger.keys()) == sorted(expected)  # each exactly once

    @rule()
    def reopen(self):
        # the process goes away between steps without closing anything
        self.abandoned.append(self.engine)
        self.engine = self._open()

    @rule(nth=st.integers(min_value=1, max_value=4))
    def crash_during_run(self, nth):
        self.crasher.countdown = nth
        would = copy.deepcopy(self.ref).run(self.clock)
        try:
            self.engine.run(self.clock)
        except Crash:
            assert len(would) >= nth
            self.abandoned.append(self.engine)
            self.engine = self._open()
        else:
            self.crasher.countdown = None
            assert len(would) < nth
            self.ref.run(self.clock)

    @invariant()
    def same_decisions_and_memberships(self):
        assert [made_of(d) for d in self.engine.decisions()] == self.ref.decisions
        engine_ms = sorted(ms_of(m) for m in self.engine.store.memberships())
        assert engine_ms == sorted(ref_ms(m) for m in self.ref.memberships.values())

    def teardown(self):
        try:
            # the record-level laws too (re-running is checked right after each run above)
            found = check_invariants(self.engine, at_times=[])
            assert found == [], "\n".join(map(str, found))
        finally:
            for e in [*self.abandoned, self.engine]:
                e.close()
            shutil.rmtree(self.dir, ignore_errors=True)


class _Messengers:
    def __init__(self, messenger):
        self.messenger = messenger

    @go.hookimpl
    def groupops_register_messengers(self, register):
        register(self.messenger)


# as many examples as the profile says (ci: 150, about 20 s); long enough runs of steps
# for evictions, revivals and promotions to happen
EngineVersusReference.TestCase.settings = settings(settings.default, stateful_step_count=60)
TestEngineVersusReference = EngineVersusReference.TestCase


def test_reference_model_days():
    # the reference's own arithmetic: Shanghai has no daylight saving, so a calendar day
    # is 24 hours and the period ends are 20:00 every day
    assert datetime.combine(date(2026, 9, 7), time(20), tzinfo=TZ) - FIRST_END == timedelta(days=6)
