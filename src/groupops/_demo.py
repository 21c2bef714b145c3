"""The demo community: eight weeks of a brand's groups, generated and run day by day.

:func:`run_demo` builds a realistic sample community in a SQLite file and runs the rule
book ``examples/demo.yaml`` on it, one evening at a time: each day's events are ingested,
the engine runs at 20:00 and delivers its messages, and the simulated members react to
what was decided (a noticed student checks in over the weekend, an evicted one hands in
make-up tasks, an invited customer joins the VIP group). Everything comes from one
seeded :class:`random.Random` and a fixed start date, never from the clock, so every run
makes the same decisions.

Why it is this long: one simulation, the demo community's members, their habits and their
reactions to what the engine decides (:class:`Simulation`), and the one function that
runs it; nothing here is used by anything but ``groupops demo``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ._decision import Decision
from ._engine import Engine
from ._messaging import PLATFORM_ACTIONS
from ._model import Event, Member
from ._outbox import OutboxMessage
from .plugins.hookspecs import hookimpl
from .rules._book import RuleBook, parse_text

__all__ = [
    "DEMO_DAYS",
    "DEMO_SEED",
    "DEMO_START",
    "DemoResult",
    "DemoWeek",
    "demo_book",
    "demo_rules_text",
    "run_demo",
]

TZ = ZoneInfo("Asia/Shanghai")
DEMO_START = datetime(2026, 9, 7, tzinfo=TZ)
"""Monday 7 September 2026, 00:00 in Shanghai: the demo's first day."""
DEMO_DAYS = 56
DEMO_SEED = 20260907
RUN_HOUR = 20

WELFARE, FLASH, VIP, CAMP = "welfare-hz", "flash-gw", "vip-hz", "camp-7"
FLASH_OPENS, GOLDEN_WEEK, FLASH_CLOSES = 20, range(24, 31), 32

_SURNAMES = (
    "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Luo Gao "
    "Zheng Liang Xie Song Tang Han Feng Deng Cao Peng"
).split()
_GIVEN = (
    "Wei Fang Na Min Jing Lei Yang Jie Jun Tao Ming Chao Xiu Yan Hui Qiang Ping Gang Hong "
    "Ling Bo Ying Hao Yu Xin Rui Kai Lan Qing Ning Dan Yun Bin Fei Peng Jia Xuan Mei Zhen Lu"
).split()


def demo_rules_text() -> str:
    """The text of the demo's rule book (``groupops/examples/demo.yaml``)."""
    return resources.files("groupops").joinpath("examples/demo.yaml").read_text(encoding="utf-8")


def demo_book() -> RuleBook:
    """The demo's rule book, validated."""
    return RuleBook.load(parse_text(demo_rules_text(), "yaml", source="demo.yaml"), source="demo.yaml")


@dataclass(frozen=True)
class DemoWeek:
    """One week of the demo: its days (Monday 00:00 to the next Monday), the events
    ingested and the decisions made, in the order the engine made them."""

    number: int
    start: datetime
    end: datetime
    events: int
    decisions: tuple[Decision, ...]
    messages: int


@dataclass(frozen=True)
class DemoResult:
    """What the demo did: week by week, and who the members are."""

    book: RuleBook
    weeks: tuple[DemoWeek, ...]
    members: dict[str, Member]
    events: int
    messages: int

    @property
    def decisions(self) -> list[Decision]:
        """Every decision, in order."""
        return [d for w in self.weeks for d in w.decisions]

    @property
    def start(self) -> datetime:
        return self.weeks[0].start

    @property
    def end(self) -> datetime:
        return self.weeks[-1].end


# -- the simulated people ------------------------------------------------------------


@dataclass(frozen=True)
class Habits:
    """Daily probabilities of doing things, per group kind of activity."""

    message: float = 0.0
    purchase: float = 0.0
    redemption: float = 0.0
    checkin: float = 0.0
    answer: float = 0.0
    share: float = 0.0
    # after how many days in the group habits drop to ``fade`` of themselves (churners)
    fade_after: int | None = None
    fade: float = 0.1


_WELFARE_PERSONAS: dict[str, tuple[float, Habits]] = {
    "fan": (0.15, Habits(message=0.55, purchase=0.06, redemption=0.05)),
    "regular": (0.59, Habits(message=0.25, purchase=0.025, redemption=0.015)),
    "lurker": (0.16, Habits(message=0.03, purchase=0.004, redemption=0.004)),
    "churner": (0.10, Habits(message=0.3, purchase=0.03, redemption=0.02, fade_after=12, fade=0.03)),
}
_CAMP_PERSONAS: dict[str, tuple[float, Habits]] = {
    "helper": (0.15, Habits(checkin=0.97, message=0.65, answer=0.7, share=0.12)),
    "diligent": (0.25, Habits(checkin=0.96, message=0.5, answer=0.15)),
    "normal": (0.32, Habits(checkin=0.86, message=0.3, answer=0.05)),
    "wobbly": (0.20, Habits(checkin=0.66, message=0.15)),
    "dropout": (0.08, Habits(checkin=0.92, message=0.3, fade_after=10, fade=0.05)),
}
_SOURCES = {
    WELFARE: (("staff", 0.25), ("sales", 0.2), ("content", 0.3), ("partner", 0.15), ("referral", 0.1)),
    CAMP: (("partner", 0.4), ("content", 0.35), ("staff", 0.15), ("referral", 0.1)),
}
_CITIES = ("杭州", "杭州", "杭州", "上海", "宁波", "苏州")


def _pick(rng: random.Random, table: Iterable[tuple[str, float]]) -> str:
    items = list(table)
    return rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]


@dataclass
class Person:
    member: Member
    habits: dict[str, Habits] = field(default_factory=dict)  # per group
    persona: str = ""  # how they behave as a customer (welfare, flash and VIP groups)
    camp: str = ""  # how they behave as a student
    joined: dict[str, int] = field(default_factory=dict)  # group -> first day in it


class Simulation:
    """The community's people and what they do each day; reacts to decisions."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.people: dict[str, Person] = {}
        self.present: set[tuple[str, str]] = set()
        self.joins: dict[int, list[tuple[str, str, str]]] = {}  # day -> (member, group, role)
        self.planned: dict[int, list[tuple[str, str, str | None, float]]] = {}  # kind, member, group, hour
        self.boost: dict[tuple[str, int], float] = {}  # (member, day) -> check-in probability
        self.revived: set[str] = set()
        self.invited: dict[str, int] = {}
        self.profiled: set[str] = set()
        self._seq = 0
        self._names = self._name_pool()
        self._cast()

    # -- cast --------------------------------------------------------------------------

    def _name_pool(self) -> list[str]:
        names = [f"{s} {g}" for s in _SURNAMES for g in _GIVEN]
        self.rng.shuffle(names)
        return names

    def _person(
        self,
        member_id: str,
        *,
        source: str | None,
        labels: tuple[str, ...] = (),
        referrer: str | None = None,
        persona: str = "",
        name: str | None = None,
    ) -> Person:
        attributes: dict[str, str | int | float | bool | None] = {"city": self.rng.choice(_CITIES)}
        member = Member(
            id=member_id,
            name=name or self._names.pop(),
            labels=labels,
            attributes=attributes,
            source=source,
            referrer=referrer,
        )
        person = Person(member=member, persona=persona)
        self.people[member_id] = person
        return person

    def _join(self, day: int, member: str, group: str, role: str = "member") -> None:
        self.joins.setdefault(day, []).append((member, group, role))

    def _customer_labels(self, persona: str) -> tuple[str, ...]:
        level = _pick(self.rng, (("A", 0.2), ("B+", 0.35), ("B", 0.45)))
        paying = {
            "fan": (("premium", 0.3), ("first-purchase", 0.5), ("die-hard", 0.2)),
            "regular": (("unpaid", 0.4), ("first-purchase", 0.5), ("premium", 0.1)),
            "lurker": (("unpaid", 0.8), ("first-purchase", 0.2)),
            "churner": (("unpaid", 0.6), ("first-purchase", 0.4)),
        }[persona]
        return (level, _pick(self.rng, paying), self.rng.choice(("ios", "android")))

    def _cast(self) -> None:
        rng = self.rng
        # staff: in every group from the first morning
        for member_id, name, role in (
            ("op-lin", "Lin Xiaoyu (owner)", "owner"),
            ("op-zhao", "Zhao Qian (admin)", "admin"),
            ("bot-zhu", "Xiaozhu (assistant bot)", "assistant"),
        ):
            self._person(member_id, source=None, labels=("staff",), name=name)
            for group in (WELFARE, VIP, CAMP):
                self._join(0, member_id, group, role)
            self._join(FLASH_OPENS, member_id, FLASH, role)
        # notable guests in the VIP (two also in the welfare group) and camp lecturers
        for i in range(1, 5):
            p = self._person(f"guest-{i}", source="partner", labels=("guest",), persona="guest")
            p.habits[VIP] = p.habits[WELFARE] = Habits(message=0.2)
            self._join(0, p.member.id, VIP, "guest")
            if i <= 2:
                self._join(0, p.member.id, WELFARE, "guest")
        for i in range(1, 4):
            p = self._person(f"lect-{i}", source="staff", labels=("lecturer",), persona="lecturer")
            p.habits[CAMP] = p.habits[VIP] = Habits(message=0.5, answer=0.8)
            self._join(0, p.member.id, CAMP, "lecturer")
            if i == 1:
                self._join(0, p.member.id, VIP, "lecturer")
        # welfare customers: a first wave from existing customers, then a trickle
        fans: list[str] = []
        customers: list[str] = []
        for n in range(1, 231):
            member_id = f"m{n:03d}"
            day = 0 if n <= 60 else 1 if n <= 100 else 2 + (n - 101) * 22 // 130
            persona = _pick(rng, ((k, w) for k, (w, _) in _WELFARE_PERSONAS.items()))
            source = _pick(rng, _SOURCES[WELFARE])
            referrer = rng.choice(fans) if source == "referral" and fans else None
            if source == "referral" and referrer is None:
                source = "content"
            p = self._person(
                member_id,
                source=source,
                labels=self._customer_labels(persona),
                referrer=referrer,
                persona=persona,
            )
            p.habits[WELFARE] = _WELFARE_PERSONAS[persona][1]
            self._join(day, member_id, WELFARE)
            if referrer is not None:
                self._plan(day, "referral", referrer, None, 12.0)
            customers.append(member_id)
            if persona == "fan":
                fans.append(member_id)
        # the camp's cohort: a dozen customers, and new students from partner communities
        students = rng.sample(customers[:100], 12)
        for n in range(1, 37):
            source = _pick(rng, _SOURCES[CAMP])
            referrer = rng.choice(students) if source == "referral" else None
            p = self._person(f"s{n:03d}", source=source, labels=("student",), referrer=referrer)
            students.append(p.member.id)
        spammers = set(rng.sample(students[12:], 2))
        for member_id in students:
            p = self.people[member_id]
            persona = _pick(rng, ((k, w) for k, (w, _) in _CAMP_PERSONAS.items()))
            if member_id in spammers:
                persona = "spammer"
            p.habits[CAMP] = _CAMP_PERSONAS.get(persona, _CAMP_PERSONAS["normal"])[1]
            p.camp = persona
            self._join(0, member_id, CAMP)
        for member_id in sorted(spammers):
            for day in (8, 10, 11):
                self._plan(day, "violation", member_id, CAMP, 15.0)
        # the golden-week flash group: active customers, and newcomers from content platforms
        keen = [m for m in customers[:160] if self.people[m].persona in ("fan", "regular")]
        for i, member_id in enumerate(sorted(rng.sample(keen, 70))):
            self._join(FLASH_OPENS + i % 5, member_id, FLASH)
        for n in range(1, 21):
            persona = _pick(rng, (("fan", 0.3), ("regular", 0.5), ("lurker", 0.2)))
            p = self._person(
                f"f{n:03d}", source="content", labels=self._customer_labels(persona), persona=persona
            )
            p.habits[WELFARE] = _WELFARE_PERSONAS[persona][1]
            self._join(FLASH_OPENS + n % 5, p.member.id, FLASH)
            # when the flash group is dissolved, newcomers are moved into the welfare group
            self._join(FLASH_CLOSES, p.member.id, WELFARE)

    # -- events ------------------------------------------------------------------------

    def _plan(self, day: int, kind: str, member: str, group: str | None, hour: float) -> None:
        self.planned.setdefault(day, []).append((kind, member, group, hour))

    def _event(self, day: int, hour: float, kind: str, member: str, group: str | None, **data: Any) -> Event:
        self._seq += 1
        at = DEMO_START + timedelta(days=day, hours=hour)
        return Event(id=f"ev{self._seq:06d}", kind=kind, member=member, group=group, at=at, data=data)

    def _hour(self) -> float:
        # waking hours, before the evening run at 20:00
        return round(self.rng.uniform(7.5, 19.5), 3)

    def day(self, day: int) -> tuple[list[Member], list[Event]]:
        """The new member profiles and the events of ``day``, before the evening run."""
        rng = self.rng
        profiles: list[Member] = []
        events: list[Event] = []
        if day == FLASH_CLOSES:  # the activity is over: the flash group is dissolved
            for member, group in sorted(self.present):
                if group == FLASH:
                    events.append(self._event(day, 10.0, "left", member, FLASH))
            self.present = {(m, g) for m, g in self.present if g != FLASH}
        for member, group, role in self.joins.get(day, []):
            person = self.people[member]
            if member not in self.profiled:
                self.profiled.add(member)
                profiles.append(person.member)
            if not person.joined.get(group):
                person.joined[group] = day
            if (member, group) in self.present:
                continue
            self.present.add((member, group))
            hour = 8.0 if role != "member" else 9.0 + rng.random() * 9
            events.append(self._event(day, round(hour, 3), "joined", member, group, role=role))
        for kind, who, where, hour in self.planned.get(day, []):
            if where is None or kind in ("makeup_task", "payment") or (who, where) in self.present:
                events.append(self._event(day, hour, kind, who, where))
        for member, group in sorted(self.present):
            events.extend(self._daily(day, member, group))
        events.sort(key=lambda e: e.at)
        return profiles, events

    def _daily(self, day: int, member: str, group: str) -> list[Event]:
        person = self.people[member]
        habits = person.habits.get(VIP if group == VIP else group) or person.habits.get(WELFARE)
        if habits is None:
            return []
        rng = self.rng
        scale = 1.0
        if habits.fade_after is not None and day - person.joined.get(group, 0) >= habits.fade_after:
            scale = habits.fade
        if group == VIP and person.persona == "fader" and day - person.joined.get(VIP, 0) >= 7:
            scale = 0.05
        out: list[Event] = []

        def maybe(kind: str, p: float, grp: str | None = group, **data: Any) -> None:
            if rng.random() < p * scale:
                out.append(self._event(day, self._hour(), kind, member, grp, **data))

        if group == CAMP:
            checkin = self.boost.get((member, day), habits.checkin)
            if rng.random() < checkin * (1.0 if (member, day) in self.boost else scale):
                out.append(self._event(day, self._hour(), "checkin", member, CAMP))
            maybe("message", habits.message)
            maybe("answer", habits.answer)
            maybe("share", habits.share)
        elif group == FLASH:
            if day in GOLDEN_WEEK:
                maybe("activity", 0.3)
                maybe("purchase", 0.15, amount=round(rng.uniform(59, 399), 1))
            maybe("message", 0.3)
        elif group == VIP:
            maybe("message", habits.message * 1.4 if habits.message < 0.5 else habits.message)
            maybe("purchase", habits.purchase * 2, amount=round(rng.uniform(99, 999), 1))
        else:
            maybe("message", habits.message)
            maybe("purchase", habits.purchase, None, amount=round(rng.uniform(29, 299), 1))
            maybe("redemption", habits.redemption)
        return out

    # -- reactions ---------------------------------------------------------------------

    def react(self, day: int, decisions: Iterable[Decision]) -> None:
        """Members respond to what the evening's run decided."""
        rng = self.rng
        for d in decisions:
            if d.member is None or d.group is None:
                continue  # a post to a group, a decision about someone in no group
            person = self.people.get(d.member)
            if person is None:
                continue
            persona = person.camp if d.group == CAMP else person.persona
            if d.action == "notice" and d.group == CAMP:
                keen = {"dropout": 0.1, "spammer": 0.0, "wobbly": 0.6}.get(persona, 0.85)
                if rng.random() < keen:
                    for later in (day + 1, day + 2):
                        self.boost[(d.member, later)] = 1.0
            elif d.action == "notice" and d.group == WELFARE:
                if rng.random() < 0.5:
                    self._plan(day + rng.choice((1, 2)), "message", d.member, WELFARE, self._hour())
            elif d.action == "evict":
                self.present.discard((d.member, d.group))
                if d.group == CAMP and d.member not in self.revived:
                    self._try_comeback(day, d.member, persona)
            elif d.action == "revive":
                self.present.add((d.member, d.group))
                self.revived.add(d.member)
                if d.group == CAMP and persona in ("wobbly", "normal"):
                    old = person.habits[CAMP]
                    person.habits[CAMP] = Habits(
                        checkin=max(old.checkin, 0.85), message=old.message, answer=old.answer
                    )
            elif d.action == "invite":
                again = d.member in self.invited
                self.invited[d.member] = day
                keen = {"fan": 0.85, "regular": 0.7, "churner": 0.3, "lurker": 0.4}.get(persona, 0.6)
                if rng.random() < (keen * 0.6 if again else keen):
                    self._join(day + rng.choice((1, 1, 2, 3)), d.member, VIP)
                    base = person.habits.get(WELFARE, Habits(message=0.3))
                    if rng.random() < 0.25:
                        person.persona = "fader"
                        base = Habits(message=0.6, purchase=base.purchase)
                    person.habits[VIP] = base

    def _try_comeback(self, day: int, member: str, persona: str) -> None:
        rng = self.rng
        if persona == "spammer":
            self._plan(day + 2, "payment", member, CAMP, 11.0)
            return
        chance = {"dropout": 0.25, "wobbly": 0.7}.get(persona, 0.9)
        roll = rng.random()
        if roll < chance * 0.8:
            first = day + rng.choice((1, 2, 3))
            self._plan(first, "makeup_task", member, CAMP, self._hour())
            self._plan(first + rng.choice((1, 2, 4)), "makeup_task", member, CAMP, self._hour())
        elif roll < chance:
            self._plan(day + rng.choice((2, 5)), "payment", member, CAMP, self._hour())


# -- running it ----------------------------------------------------------------------


class _Outbox:
    """The demo's messenger: keeps messages instead of sending them."""

    name = "demo-outbox"
    actions: frozenset[str] = frozenset({"message", "post", *PLATFORM_ACTIONS})
    quota = None

    def __init__(self) -> None:
        self.delivered: list[OutboxMessage] = []

    def deliver(self, message: OutboxMessage) -> None:
        self.delivered.append(message)

    @hookimpl
    def groupops_register_messengers(self, register: Callable[[Any], None]) -> None:
        register(self)


def demo_explain_target(
    decisions: list[Decision], end: datetime, reason: Callable[[Decision], str]
) -> tuple[str, datetime]:
    """Whom the demo suggests explaining, and when: someone evicted from the camp who
    never came back (a rule-breaker first), four days after the eviction."""
    revived = {d.member for d in decisions if d.action == "revive"}
    gone = [
        (d.member, d)
        for d in decisions
        if d.action == "evict" and d.group == CAMP and d.member is not None and d.member not in revived
    ]
    gone.sort(key=lambda md: "violation" not in reason(md[1]))
    if not gone:
        return "s001", end
    member, decision = gone[0]
    return member, decision.at + timedelta(days=4)


def store_url(db: str | Path) -> str:
    """The store URL of a SQLite file path."""
    return f"sqlite:///{Path(db)}"


def run_demo(
    db: str | Path,
    *,
    seed: int = DEMO_SEED,
    on_week: Callable[[DemoWeek, Mapping[str, Member]], None] | None = None,
) -> DemoResult:
    """Generate the demo community into the SQLite file ``db`` (which must not hold
    other data) and run it for eight weeks; ``on_week`` sees each week as it ends, with
    the members known so far."""
    book = demo_book()
    sim = Simulation(seed)
    outbox = _Outbox()
    weeks: list[DemoWeek] = []
    members: dict[str, Member] = {}
    total_events = 0
    with Engine(
        book,
        store=store_url(db),
        plugins=[outbox],
        entry_points=False,  # installed host plugins must not change the demo
        default_messenger=outbox.name,
        delivery_timeout=30.0,
    ) as engine:
        week_decisions: list[Decision] = []
        week_events = 0
        week_messages = 0
        for day in range(DEMO_DAYS):
            profiles, events = sim.day(day)
            for m in profiles:
                members[m.id] = m
            engine.ingest([*profiles, *events])
            week_events += len(events)
            at = DEMO_START + timedelta(days=day, hours=RUN_HOUR)
            report = engine.run(at)
            delivery = engine.deliver(at)
            week_messages += len(delivery.delivered)
            week_decisions.extend(report.decisions)
            sim.react(day, report.decisions)
            if day % 7 == 6:
                week = DemoWeek(
                    number=day // 7 + 1,
                    start=DEMO_START + timedelta(days=day - 6),
                    end=DEMO_START + timedelta(days=day + 1),
                    events=week_events,
                    decisions=tuple(week_decisions),
                    messages=week_messages,
                )
                weeks.append(week)
                total_events += week_events
                if on_week is not None:
                    on_week(week, members)
                week_decisions, week_events, week_messages = [], 0, 0
    return DemoResult(
        book=book,
        weeks=tuple(weeks),
        members=members,
        events=total_events,
        messages=len(outbox.delivered),
    )
