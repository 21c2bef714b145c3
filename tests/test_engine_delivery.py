"""Ingest, outbox and delivery: retries, timeouts, operator tasks, quotas."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import groupops as go
from groupops.testing import RecordingMessenger

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)

BOOK = {
    "timezone": "Asia/Shanghai",
    "groups": [
        {"id": "club", "name": "Club", "messenger": "main", "operators": ["op-1", "op-2"]},
        {"id": "vip", "name": "VIP", "kind": "paid", "messenger": "main"},
    ],
    "policies": [
        {
            "id": "vip",
            "type": "admission",
            "from": ["club"],
            "to": "vip",
            "expires": "7d",
            "when": {"count": "purchase", "at_least": 2},
        },
        {
            "id": "sweep",
            "type": "eviction",
            "groups": ["club"],
            "schedule": "FREQ=DAILY;BYHOUR=20",
            "notice": "2h",
            "when": {"days_since": "checkin", "at_least": 3},
        },
    ],
}


class _Messengers:
    def __init__(self, *messengers):
        self.messengers = messengers

    @go.hookimpl
    def groupops_register_messengers(self, register):
        for m in self.messengers:
            register(m)


def _engine(*messengers, **kwargs) -> go.Engine:
    book = go.RuleBook.load(BOOK)
    return go.Engine(
        book, store=go.MemoryStore(), plugins=[_Messengers(*messengers)], entry_points=False, **kwargs
    )


def _buyer(engine: go.Engine, member: str = "m1") -> None:
    engine.ingest(
        [
            {"id": f"j-{member}", "kind": "joined", "member": member, "group": "club", "at": T0.isoformat()},
            {"id": f"p1-{member}", "kind": "purchase", "member": member, "at": T0.isoformat()},
            {"id": f"p2-{member}", "kind": "purchase", "member": member, "at": T0.isoformat()},
            {"id": f"c-{member}", "kind": "checkin", "member": member, "group": "club", "at": T0.isoformat()},
        ]
    )


# -- ingest ----------------------------------------------------------------------------


def test_ingest_sets_bad_records_aside_and_keeps_the_rest():
    engine = _engine(RecordingMessenger(name="main"))
    report = engine.ingest(
        [
            {
                "id": "e1",
                "kind": "checkin",
                "member": "m1",
                "group": "club",
                "at": "2026-11-02T09:00:00+08:00",
            },
            {"id": "e2", "kind": "checkin", "member": "m1", "at": "2026-11-02T09:00:00"},
            '{"id": "e3", "kind": "purchase", "member": "m1", "at": "2026-11-02T10:00:00+08:00", "value": 5}',
            "{not json",
            {"id": "", "kind": "checkin", "member": "m1", "at": "2026-11-02T09:00:00+08:00"},
            {"id": "m1", "name": "Alice", "labels": ["A", "premium"]},
            {
                "id": "e4",
                "kind": "purchase",
                "member": "m1",
                "at": "2026-11-02T10:00:00+08:00",
                "value": "nan",
            },
        ]
    )
    assert (report.events, report.members) == (2, 1)
    assert [r.index for r in report.rejected] == [1, 3, 4, 6]
    assert "at: '2026-11-02T09:00:00': input should have timezone info" in report.rejected[0].problems[0]
    assert report.rejected[1].problems[0].startswith("not valid JSON")
    assert report.rejected[2].problems[0].startswith("id: '' is not a valid id")
    assert report.rejected[3].problems[0].startswith("value:")
    assert engine.store.get_member("m1") == go.Member(id="m1", name="Alice", labels=("A", "premium"))


def test_reingesting_an_event_id_is_a_no_op():
    engine = _engine(RecordingMessenger(name="main"))
    event = go.Event(id="e1", kind="purchase", member="m1", at=T0)
    assert engine.ingest([event]).events == 1
    again = engine.ingest([event, event.model_copy(update={"value": 99.0})])
    assert (again.events, again.duplicates) == (0, ("e1", "e1"))
    assert [e.value for _, e in engine.store.events_after(0)] == [1.0]


def test_joined_and_left_events_open_and_close_memberships_by_event_time():
    engine = _engine(RecordingMessenger(name="main"))
    later = T0 + timedelta(days=1)
    engine.ingest(
        [
            {"id": "l", "kind": "left", "member": "m1", "group": "club", "at": later.isoformat()},
            {
                "id": "j",
                "kind": "joined",
                "member": "m1",
                "group": "club",
                "at": T0.isoformat(),
                "data": {"role": "admin"},
            },
        ]
    )
    ms = engine.membership("m1", "club")
    assert (ms.status, ms.role, ms.joined_at, ms.left_at) == ("left", "admin", T0, later)


# -- outbox and delivery ---------------------------------------------------------------


def test_a_decision_queues_its_message_and_delivery_uses_a_stable_key():
    main = RecordingMessenger(name="main")
    engine = _engine(main)
    _buyer(engine)
    [invite] = engine.run(T0).decisions
    [queued] = engine.store.messages(decision=invite.id)
    assert queued.status == "pending"
    assert queued.text == "m1, you are invited to join VIP (invitation 1 of 2)."
    report = engine.deliver(T0)
    assert report.delivered == (queued.key,)
    assert main.keys() == [queued.key]
    assert engine.store.messages(decision=invite.id)[0].status == "delivered"
    assert engine.deliver(T0 + timedelta(hours=1)).delivered == ()


def test_a_messenger_that_fails_twice_then_succeeds_delivers_under_one_key():
    main = RecordingMessenger(name="main", fail_times=2)
    engine = _engine(main, backoff=timedelta(minutes=1))
    _buyer(engine)
    engine.run(T0)
    first = engine.deliver(T0)
    assert first.retrying and not first.delivered
    [msg] = engine.store.messages()
    assert (msg.attempts, msg.next_at) == (1, T0 + timedelta(minutes=1))
    assert "simulated failure 1" in msg.last_error
    assert engine.deliver(T0 + timedelta(seconds=30)).retrying == ()  # not due yet
    engine.deliver(T0 + timedelta(minutes=1))
    [msg] = engine.store.messages()
    assert (msg.attempts, msg.next_at) == (2, T0 + timedelta(minutes=3))
    engine.deliver(T0 + timedelta(minutes=3))
    [msg] = engine.store.messages()
    assert (msg.status, msg.attempts) == ("delivered", 3)
    assert main.keys() == [msg.key]


def test_a_message_is_given_up_after_max_attempts():
    engine = _engine(RecordingMessenger(name="main", fail_times=99), max_attempts=2)
    _buyer(engine)
    engine.run(T0)
    engine.deliver(T0)
    report = engine.deliver(T0 + timedelta(hours=1))
    [msg] = engine.store.messages()
    assert report.dead == (msg.key,)
    assert (msg.status, msg.attempts) == ("dead", 2)


def test_a_hanging_messenger_times_out_and_blocks_no_other():
    slow = RecordingMessenger(name="main", hang_seconds=5.0)
    fast = RecordingMessenger(name="other")
    book = go.RuleBook.load(
        {
            **BOOK,
            "groups": [*BOOK["groups"][:1], {**BOOK["groups"][1], "messenger": "other"}],
            "policies": [
                BOOK["policies"][0],
                {**BOOK["policies"][0], "id": "vip2", "from": ["club"], "to": "vip"},
            ],
        }
    )
    # two admission policies into the same group: "main" delivers nothing, "other" both
    engine = go.Engine(
        book,
        store=go.MemoryStore(),
        plugins=[_Messengers(slow, fast)],
        entry_points=False,
        delivery_timeout=0.2,
    )
    _buyer(engine)
    engine.run(T0)
    report = engine.deliver(T0)
    assert len(report.delivered) == 2 and not report.retrying
    assert len(fast.delivered) == 2


def test_timeout_of_one_message_leaves_it_pending_for_retry():
    slow = RecordingMessenger(name="main", hang_seconds=3.0)
    engine = _engine(slow, delivery_timeout=0.2)
    _buyer(engine)
    engine.run(T0)
    report = engine.deliver(T0)
    [msg] = engine.store.messages()
    assert report.retrying == (msg.key,)
    assert msg.status == "pending" and msg.last_error.startswith("TimeoutError")


def test_an_action_the_platform_cannot_do_becomes_an_operator_task():
    wecom = RecordingMessenger.text_only(name="main")
    engine = _engine(wecom)
    engine.ingest([{"id": "j", "kind": "joined", "member": "m2", "group": "club", "at": T0.isoformat()}])
    engine.run(T0)
    late = T0 + timedelta(days=3, hours=12)  # a late run notices; the eviction waits the 2h notice
    made = engine.run(late).decisions + engine.run(late + timedelta(hours=2)).decisions
    assert [d.action for d in made] == ["notice", "evict"]
    evict = made[1]
    msgs = engine.store.messages(decision=evict.id)
    # operators remove the member by hand; the member is not sent "you have been removed"
    # as plain text before anyone did (issue 12)
    assert sorted((m.action, m.recipient) for m in msgs) == [("task", "op-1"), ("task", "op-2")]
    task = next(m for m in msgs if m.action == "task")
    assert task.text == "Operator task in Club: evict m2 (m2)."
    engine.deliver(T0 + timedelta(days=4))
    assert {m.recipient for m in wecom.delivered} == {"m2", "op-1", "op-2"}


def test_a_quota_holds_messages_back_and_records_why():
    limited = RecordingMessenger(name="main", quota=go.Quota(limit=1, per=go.parse_duration("1mo")))
    engine = _engine(limited)
    engine.ingest([{"id": "j", "kind": "joined", "member": "m2", "group": "club", "at": T0.isoformat()}])
    engine.run(T0)
    late = T0 + timedelta(days=3, hours=12)
    engine.run(late)  # notice for m2 (late), then its eviction 2h later: two messages
    engine.run(late + timedelta(hours=2))
    report = engine.deliver(T0 + timedelta(days=4))
    assert len(report.delivered) == 1 and len(report.held) == 1
    [held] = engine.store.messages(status="held")
    assert "quota: 1 per 1mo" in held.last_error
    first_delivery = engine.store.messages(status="delivered")[0].delivered_at
    assert held.next_at == go.parse_duration("1mo").after(first_delivery, TZ)
    assert engine.deliver(held.next_at).delivered == (held.key,)


def test_an_invitation_is_sent_again_only_after_it_expired():
    engine = _engine(RecordingMessenger(name="main"))
    _buyer(engine)
    engine.ingest(
        [
            go.Event(id=f"c{i}", kind="checkin", member="m1", group="club", at=T0 + timedelta(days=i))
            for i in range(21)
        ]
    )  # stays in the club all along

    def invites(at):
        return [d.period for d in engine.run(at).decisions if d.action == "invite"]

    assert invites(T0) == ["invite-1"]
    assert invites(T0 + timedelta(days=6)) == []
    assert invites(T0 + timedelta(days=7)) == ["invite-2"]
    engine.ingest(
        [
            {
                "id": "jv",
                "kind": "joined",
                "member": "m1",
                "group": "vip",
                "at": (T0 + timedelta(days=8)).isoformat(),
            }
        ]
    )
    assert invites(T0 + timedelta(days=20)) == []


def test_dry_run_records_nothing():
    engine = _engine(RecordingMessenger(name="main"))
    _buyer(engine)
    preview = engine.run(T0, dry_run=True)
    assert preview.dry_run and [(d.action, d.status) for d in preview.decisions] == [("invite", "preview")]
    assert engine.store.decisions() == [] and engine.store.messages() == []
    applied = engine.run(T0).decisions
    assert [d.model_copy(update={"status": "preview"}) for d in applied] == list(preview.decisions)
    assert [d.status for d in applied] == ["applied"]


def test_run_requires_an_aware_time():
    engine = _engine(RecordingMessenger(name="main"))
    with pytest.raises(ValueError, match="naive"):
        engine.run(datetime(2026, 11, 2, 9))


def test_decisions_serialise_to_json_and_back():
    engine = _engine(RecordingMessenger(name="main"))
    _buyer(engine)
    [d] = engine.run(T0).decisions
    again = go.Decision.model_validate(json.loads(d.model_dump_json()))
    assert again == d


def test_members_are_welcomed_once_per_joining():
    book = go.RuleBook.load(
        {
            "timezone": "Asia/Shanghai",
            "groups": [{"id": "club", "name": "Club"}],
            "templates": {"welcome": "Hi {member.name}, welcome to {group.name}!"},
            "policies": [{"id": "hello", "type": "welcome", "groups": ["club"], "within": "1d"}],
        }
    )
    engine = go.Engine(book, entry_points=False)
    engine.ingest(
        [
            {
                "id": "old",
                "kind": "joined",
                "member": "veteran",
                "group": "club",
                "at": (T0 - timedelta(days=30)).isoformat(),
            },
            {"id": "m1", "name": "Alice"},
            {"id": "j1", "kind": "joined", "member": "m1", "group": "club", "at": T0.isoformat()},
        ]
    )
    made = engine.run(T0 + timedelta(hours=1)).decisions
    assert [(d.action, d.member) for d in made] == [("welcome", "m1")]
    assert engine.store.messages(decision=made[0].id)[0].text == "Hi Alice, welcome to Club!"
    assert engine.run(T0 + timedelta(hours=2)).decisions == ()
    engine.ingest(
        [
            {
                "id": "l1",
                "kind": "left",
                "member": "m1",
                "group": "club",
                "at": (T0 + timedelta(days=2)).isoformat(),
            },
            {
                "id": "j2",
                "kind": "joined",
                "member": "m1",
                "group": "club",
                "at": (T0 + timedelta(days=3)).isoformat(),
            },
        ]
    )
    again = engine.run(T0 + timedelta(days=3, hours=1)).decisions
    assert [(d.action, d.member) for d in again] == [("welcome", "m1")]
    assert again[0].id != made[0].id


# -- order, leases, pool -----------------------------------------------------------------


class _Scripted:
    """A messenger whose calls are scripted per action: fail, or take time."""

    def __init__(self, name="main", *, fail=(), slow=(), delay=0.3):
        self.name = name
        self.actions = frozenset({"message", "invite", "evict", "remove", "revive", "route"})
        self.quota = None
        self.fail = list(fail)  # actions whose next attempt fails, one entry per failure
        self.slow = set(slow)
        self.delay = delay
        self.sent: list[str] = []
        self.lock = threading.Lock()

    def deliver(self, message):
        if message.action in self.slow:
            time.sleep(self.delay)
        with self.lock:
            if message.action in self.fail:
                self.fail.remove(message.action)
                raise ConnectionError(f"{message.action} failed")
            self.sent.append(message.action)


def _notice_and_eviction(engine):
    """A notice at 18:00 and the eviction at 20:00, both queued before anything is
    delivered: two messages to m2 waiting at once."""
    engine.ingest([{"id": "j", "kind": "joined", "member": "m2", "group": "club", "at": T0.isoformat()}])
    engine.run(T0)
    made = engine.run(T0 + timedelta(hours=9)).decisions + engine.run(T0 + timedelta(hours=11)).decisions
    assert [d.action for d in made] == ["notice", "evict"]
    return made


def test_one_recipients_messages_are_delivered_in_decision_order():
    # the notice takes longer than the eviction: delivered side by side, the eviction won
    messenger = _Scripted(slow={"notice"})
    engine = _engine(messenger)
    _notice_and_eviction(engine)
    report = engine.deliver(T0 + timedelta(days=4))
    assert messenger.sent == ["notice", "evict"]
    assert len(report.delivered) == 2


def test_a_later_message_waits_while_an_earlier_one_is_retried():
    messenger = _Scripted(fail=["notice"])
    engine = _engine(messenger, backoff=timedelta(minutes=1))
    _notice, evict = _notice_and_eviction(engine)
    at = T0 + timedelta(days=4)
    first = engine.deliver(at)
    assert messenger.sent == [] and first.delivered == ()
    assert [k.split(":")[1] for k in first.retrying] == ["notice"]
    [waiting] = engine.store.messages(decision=evict.id)
    assert (waiting.status, waiting.attempts, waiting.lease_owner) == ("pending", 0, None)  # not tried
    assert engine.deliver(at + timedelta(seconds=30)).delivered == ()  # the notice is not due yet
    second = engine.deliver(at + timedelta(minutes=1))
    assert messenger.sent == ["notice", "evict"]
    assert [k.split(":")[1] for k in second.delivered] == ["notice", "evict"]


def test_a_dead_message_stops_blocking_the_next_one():
    messenger = _Scripted(fail=["notice"])
    engine = _engine(messenger, max_attempts=1)
    _notice_and_eviction(engine)
    report = engine.deliver(T0 + timedelta(days=4))
    assert [k.split(":")[1] for k in report.dead] == ["notice"]
    assert [k.split(":")[1] for k in report.delivered] == ["evict"]  # in the same pass
    assert messenger.sent == ["evict"]


def test_delivery_runs_at_most_workers_messenger_calls_at_once():
    class Counting:
        name = "main"
        actions = frozenset({"message", "invite", "evict", "remove", "revive", "route"})
        quota = None

        def __init__(self):
            self.now = self.most = 0
            self.lock = threading.Lock()

        def deliver(self, message):
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
            time.sleep(0.01)
            with self.lock:
                self.now -= 1

    counting = Counting()
    engine = _engine(counting, workers=3)
    for i in range(40):
        _buyer(engine, f"m{i:02}")
    engine.run(T0)
    threads_before = threading.active_count()
    report = engine.deliver(T0)
    assert len(report.delivered) == 40
    assert counting.most == 3  # in parallel, but never more than ``workers``
    assert threading.active_count() <= threads_before + 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": 0}, "workers: 0 is not a positive whole number"),
        ({"delivery_timeout": 0}, "delivery_timeout: 0 is not a positive number"),
        (
            {"lease": timedelta(seconds=5), "delivery_timeout": 10.0},
            "lease: datetime.timedelta(seconds=5) must",
        ),
    ],
)
def test_delivery_settings_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _engine(RecordingMessenger(name="main"), **kwargs)


def test_a_lease_holds_whatever_at_another_deliverer_passes():
    gate = threading.Event()

    class Blocking(RecordingMessenger):
        def deliver(self, message):
            gate.wait(5)
            super().deliver(message)

    store = go.MemoryStore()
    first, second = Blocking(name="main"), RecordingMessenger(name="main")
    book = go.RuleBook.load(BOOK)
    a = go.Engine(book, store=store, plugins=[_Messengers(first)], entry_points=False)
    b = go.Engine(book, store=store, plugins=[_Messengers(second)], entry_points=False)
    _buyer(a)
    a.run(T0)
    passing = threading.Thread(target=a.deliver, args=(T0,))
    passing.start()
    while not any(m.lease_owner for m in store.messages()):
        time.sleep(0.01)
    # a deliverer whose ``at`` is an hour later (a skewed host, a late cron) takes nothing
    assert b.deliver(T0 + timedelta(hours=1)).delivered == ()
    gate.set()
    passing.join()
    assert len(first.delivered) == 1 and second.delivered == []


def test_an_outcome_after_the_lease_was_taken_over_is_not_recorded():
    clock = [1_000_000.0]
    store = go.MemoryStore()
    book = go.RuleBook.load(BOOK)
    taker = RecordingMessenger(name="main")
    b = go.Engine(book, store=store, plugins=[_Messengers(taker)], entry_points=False, clock=lambda: clock[0])

    class Stalling(RecordingMessenger):
        def deliver(self, message):
            clock[0] += 301  # stalls past its 5-minute lease; another deliverer takes over
            assert b.deliver(T0).delivered == (message.key,)
            raise ConnectionError("gave up")

    a = go.Engine(
        book,
        store=store,
        plugins=[_Messengers(Stalling(name="main"))],
        entry_points=False,
        clock=lambda: clock[0],
    )
    _buyer(a)
    a.run(T0)
    report = a.deliver(T0)
    assert report.retrying == () and report.delivered == ()  # its failure was not recorded ...
    [msg] = store.messages()
    assert (msg.status, msg.attempts) == ("delivered", 1)  # ... over the other's delivery


def test_quotas_are_answered_without_reading_the_whole_outbox():
    class Spy(go.MemoryStore):
        reads = 0

        def messages(self, **filters):
            Spy.reads += 1
            return super().messages(**filters)

    limited = RecordingMessenger(name="main", quota=go.Quota(limit=1, per=go.parse_duration("1mo")))
    engine = go.Engine(
        go.RuleBook.load(BOOK), store=Spy(), plugins=[_Messengers(limited)], entry_points=False
    )
    for i in range(5):
        _buyer(engine, f"m{i}")
    engine.run(T0)
    Spy.reads = 0
    assert len(engine.deliver(T0).delivered) == 5
    assert Spy.reads == 0
