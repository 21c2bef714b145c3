"""The ``broadcast`` kind and messengers' per-action rate limits, on real SQLite files:
one message per member of a segment, deduplicated across reruns and overlapping
segments, spread over time by the messenger's rates, with what is waiting reported."""

import os
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import groupops as go
from groupops.testing import RecordingMessenger

# engine-backed properties: a few examples by default, many under HYPOTHESIS_PROFILE=long
LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
ENGINE_EXAMPLES = 300

AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MINUTE = go.Duration(1, "m")


class _Messengers:
    def __init__(self, *messengers):
        self.messengers = messengers

    @go.hookimpl
    def groupops_register_messengers(self, register):
        for m in self.messengers:
            register(m)


def _book(**policy):
    return {
        "timezone": "UTC",
        "groups": [{"id": "welfare", "name": "Welfare"}],
        "segments": {"label-a": {"label": "A"}, "sdr": {"source": "sdr"}},
        "policies": [
            {
                "id": "live",
                "type": "broadcast",
                "segment": "label-a",
                "at": AT.isoformat(),
                "text": "{member.name}，今晚 8 点直播，记得来！",
                **policy,
            }
        ],
    }


def _engine(path, messenger, **policy):
    return go.Engine(
        go.RuleBook.load(_book(**policy)),
        store=str(path),
        plugins=[_Messengers(messenger)],
        entry_points=False,
        default_messenger=messenger.name,
    )


def _members(n, *, labels=("A",), source=None):
    return [go.Member(id=f"m{i:02}", name=f"M{i}", labels=list(labels), source=source) for i in range(n)]


def test_every_member_of_the_segment_gets_the_text_once_members_in_no_group_included(tmp_path):
    messenger = RecordingMessenger()
    with _engine(tmp_path / "g.db", messenger) as engine:
        engine.ingest([*_members(3), go.Member(id="zed", name="Zed", labels=["B"])])
        made = engine.run(AT).decisions
        assert not engine.run(AT).decisions
        assert not engine.run(AT + timedelta(days=1)).decisions
        engine.deliver(AT)
    assert [(d.action, d.member, d.group, d.at) for d in made] == [
        ("broadcast", f"m{i:02}", None, AT) for i in range(3)
    ]
    assert sorted(m.text for m in messenger.delivered) == [f"M{i}，今晚 8 点直播，记得来！" for i in range(3)]


def test_a_member_in_two_segments_of_one_broadcast_gets_one_message(tmp_path):
    messenger = RecordingMessenger()
    with _engine(tmp_path / "g.db", messenger, segment=["label-a", "sdr"]) as engine:
        engine.ingest([*_members(2, source="sdr"), go.Member(id="s", labels=["B"], source="sdr")])
        engine.run(AT)
        engine.deliver(AT)
    assert sorted(m.recipient for m in messenger.delivered) == ["m00", "m01", "s"]


def test_a_scheduled_broadcast_sends_once_per_occurrence(tmp_path):
    messenger = RecordingMessenger()
    with _engine(
        tmp_path / "g.db", messenger, at=None, schedule="FREQ=DAILY;BYHOUR=12", start=AT.isoformat()
    ) as e:
        e.ingest(_members(1))
        made = e.run(AT + timedelta(days=2)).decisions  # a late run catches up each day
    assert [d.at for d in made] == [AT, AT + timedelta(days=1), AT + timedelta(days=2)]


def test_a_broadcast_larger_than_the_rate_is_spread_over_minutes_and_waiting_is_reported(tmp_path):
    messenger = RecordingMessenger(rates={"broadcast": go.Rate(3, MINUTE)})
    with _engine(tmp_path / "g.db", messenger) as engine:
        engine.ingest(_members(8))
        engine.run(AT)
        first = engine.deliver(AT)
        waiting = engine.waiting()
        passes = [engine.deliver(AT + timedelta(seconds=20 * k)) for k in range(1, 10)]
        assert engine.waiting() == ()
        times = engine.store.action_delivery_times(
            messenger="recording", action="broadcast", since=AT - timedelta(minutes=1)
        )
    assert len(first.delivered) == 3 and len(first.held) == 5
    [row] = waiting
    assert (row.messenger, row.action, row.status, row.count) == ("recording", "broadcast", "held", 5)
    assert row.first_at == AT + timedelta(minutes=1) and row.reason == "rate: 3 'broadcast' per 1m used up"
    assert sorted(Counter(m.recipient for m in messenger.delivered).values()) == [1] * 8
    assert sum(len(p.delivered) for p in passes) == 5
    # never more than 3 in any trailing minute
    assert all(sum(1 for u in times if t - timedelta(minutes=1) < u <= t) <= 3 for t in times)
    assert max(times) == AT + timedelta(minutes=2)


def test_a_per_recipient_rate_caps_each_member_and_later_messages_wait_in_order(tmp_path):
    month = go.Duration(1, "mo")
    messenger = RecordingMessenger(rates={"broadcast": go.Rate(1, month, per_recipient=True)})
    with _engine(
        tmp_path / "g.db", messenger, at=None, schedule="FREQ=WEEKLY", start=AT.isoformat()
    ) as engine:
        engine.ingest(_members(2))
        for week in range(3):
            engine.run(AT + timedelta(weeks=week))
            engine.deliver(AT + timedelta(weeks=week))
        held = engine.store.messages(status="held")
        pending = engine.store.messages(status="pending")
    assert Counter(m.recipient for m in messenger.delivered) == {"m00": 1, "m01": 1}
    # week 2's messages are held until a month after week 1's; week 3's wait behind them
    week = timedelta(weeks=1)
    assert sorted((m.recipient, m.created_at) for m in held) == [("m00", AT + week), ("m01", AT + week)]
    assert {m.next_at for m in held} == {AT + timedelta(days=31)}
    assert sorted(m.created_at for m in pending) == [AT + 2 * week] * 2


def test_a_rate_must_allow_a_message():
    with pytest.raises(ValueError, match="limit: a rate allows at least 1 message, not 0"):
        go.Rate(0, MINUTE)


def test_broadcast_text_with_an_unknown_placeholder_is_refused_naming_it():
    with pytest.raises(go.RuleError, match=r"policies\[0\]\.text: .*unknown placeholder \{member\.nick\}"):
        go.RuleBook.load(_book(text="hi {member.nick}"))


@settings(
    max_examples=ENGINE_EXAMPLES if LONG else 15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    labels=st.lists(st.sets(st.sampled_from(["A", "B"]), max_size=2), min_size=1, max_size=8),
    sources=st.lists(st.sampled_from([None, "sdr"]), min_size=8, max_size=8),
    runs=st.lists(st.integers(0, 90), min_size=1, max_size=4),
    limit=st.integers(1, 4),
)
def test_no_member_gets_two_messages_of_one_broadcast(tmp_path_factory, labels, sources, runs, limit):
    """Overlapping segments, reruns at any moments and a rate: each member of either
    segment gets exactly one message once every pass is done; nobody else any."""
    path = tmp_path_factory.mktemp("b") / "g.db"
    messenger = RecordingMessenger(rates={"broadcast": go.Rate(limit, MINUTE)})
    members = [go.Member(id=f"m{i}", labels=sorted(ls), source=sources[i]) for i, ls in enumerate(labels)]
    with _engine(path, messenger, segment=["label-a", "sdr"]) as engine:
        engine.ingest(members)
        for minutes in sorted(runs):
            engine.run(AT + timedelta(minutes=minutes))
            engine.deliver(AT + timedelta(minutes=minutes))
        for k in range(len(members) + 1):
            engine.deliver(AT + timedelta(minutes=100 + k))
    got = Counter(m.recipient for m in messenger.delivered)
    assert got == {m.id: 1 for m in members if "A" in m.labels or m.source == "sdr"}


def test_a_messenger_with_malformed_rates_is_refused_naming_the_plugin():
    class Bad:
        name = "bad"
        actions = frozenset({"message"})
        quota = None

        def __init__(self):
            self.rates = {"broadcast": 3}

        def deliver(self, message):
            pass

    with pytest.raises(
        go.PluginError, match=r"rates \{'broadcast': 3\} is not a mapping of action names to groupops.Rate"
    ):
        go.Engine(go.RuleBook.load(_book()), plugins=[_Messengers(Bad())], entry_points=False)
