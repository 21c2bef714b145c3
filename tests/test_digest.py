"""The digest kind (issue 15): members' requests gathered into one post per group."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

import groupops as go
from groupops.testing import RecordingMessenger

TZ = ZoneInfo("Asia/Shanghai")
DAY1 = datetime(2026, 4, 1, 8, tzinfo=TZ)  # a digest time


def _book(locale="en", **policy):
    return go.RuleBook.load(
        {
            "timezone": "Asia/Shanghai",
            "locale": locale,
            "groups": [
                {"id": "g1", "name": "Group one"},
                {"id": "g2", "name": "Group two"},
                {"id": "g3", "name": "Group three"},
            ],
            "policies": [
                {
                    "id": "morning",
                    "type": "digest",
                    "groups": ["g1", "g2"],
                    "schedule": "FREQ=DAILY;BYHOUR=8",
                    "requests": "request",
                    "everywhere": ["hiring"],
                    **policy,
                }
            ],
        }
    )


def _request(i, group, at, type_="supplier", member="ann"):
    return go.Event(
        id=f"r{i}",
        kind="request",
        member=member,
        group=group,
        at=at,
        data={"type": type_, "text": f"need-{i}"},
    )


def _engine(messenger, locale="en", store=None, **policy):
    return go.Engine(
        _book(locale, **policy),
        **({"store": store} if store is not None else {}),
        plugins=[_Messengers(messenger)],
        entry_points=False,
        default_messenger=messenger.name,
    )


class _Messengers:
    def __init__(self, *messengers):
        self.messengers = messengers

    @go.hookimpl
    def groupops_register_messengers(self, register):
        for m in self.messengers:
            register(m)


def _posts(messenger, group):
    return [m.text for m in messenger.delivered if m.action == "digest" and m.recipient == group]


def _ids(text):
    return re.findall(r"need-(\d+)", text)


def test_a_request_exactly_at_the_digest_time_is_in_that_digest_and_one_just_after_in_the_next():
    messenger = RecordingMessenger()
    with _engine(messenger) as engine:
        engine.run(DAY1 - timedelta(days=1, hours=1))
        engine.ingest(
            [
                go.Member(id="ann", name="Ann"),
                _request(1, "g1", DAY1 - timedelta(hours=3)),
                _request(2, "g1", DAY1),  # exactly at the boundary: this digest
                _request(3, "g1", DAY1 + timedelta(microseconds=1)),  # the next one
            ]
        )
        first = engine.run(DAY1).decisions
        engine.deliver(DAY1)
        second = engine.run(DAY1 + timedelta(days=1)).decisions
        engine.deliver(DAY1 + timedelta(days=1))
    assert [(d.action, d.group, d.member, d.at) for d in first] == [("digest", "g1", None, DAY1)]
    assert [d.at for d in second] == [DAY1 + timedelta(days=1)]
    one, two = _posts(messenger, "g1")
    assert _ids(one) == ["1", "2"] and _ids(two) == ["3"]
    assert one.startswith("Group one: 2 requests since the last digest.\nSuppliers (2)\n- Ann: need-1")


def test_no_post_on_a_day_without_requests_and_a_rerun_posts_nothing_more():
    messenger = RecordingMessenger()
    with _engine(messenger) as engine:
        engine.run(DAY1 - timedelta(days=1, hours=1))
        assert not engine.run(DAY1).decisions
        engine.ingest([_request(1, "g2", DAY1 + timedelta(hours=1))])
        assert [d.group for d in engine.run(DAY1 + timedelta(days=1)).decisions] == ["g2"]
        assert not engine.run(DAY1 + timedelta(days=1)).decisions
        assert not engine.run(DAY1 + timedelta(days=1, hours=5)).decisions


def test_requests_are_grouped_by_type_in_time_order_and_hiring_goes_to_every_other_open_group_once():
    messenger = RecordingMessenger()
    with _engine(messenger) as engine:
        engine.run(DAY1 - timedelta(days=1, hours=1))
        engine.ingest(
            [
                go.Member(id="ann", name="Ann"),
                go.Member(id="bob", name="Bob"),
                _request(1, "g1", DAY1 - timedelta(hours=9), "hiring", "bob"),
                _request(2, "g1", DAY1 - timedelta(hours=8), "job_seeking"),
                _request(3, "g1", DAY1 - timedelta(hours=7), "hiring"),
                _request(4, "g2", DAY1 - timedelta(hours=6), "supplier", "bob"),
            ]
        )
        made = engine.run(DAY1).decisions
        engine.deliver(DAY1)
        engine.run(DAY1 + timedelta(days=1))
    assert sorted(d.group for d in made) == ["g1", "g2", "g3"]
    (g1,) = _posts(messenger, "g1")
    assert g1.split("\n")[1:] == [
        "Hiring (2)",
        "- Bob: need-1",
        "- Ann: need-3",
        "Job seeking (1)",
        "- Ann: need-2",
    ]
    (g2,) = _posts(messenger, "g2")
    assert _ids(g2) == ["1", "3", "4"] and "- Bob (Group one): need-1" in g2
    (g3,) = _posts(messenger, "g3")  # open, not named by the policy: the hiring posts only
    assert _ids(g3) == ["1", "3"]


def test_a_closed_group_gets_no_digest():
    messenger = RecordingMessenger()
    with _engine(messenger) as engine:
        engine.run(DAY1 - timedelta(days=1, hours=1))
        g2 = engine.store.get_group("g2")
        engine.store.record_group(go.change_group(g2, DAY1 - timedelta(days=1), status="closed"))
        engine.ingest([_request(1, "g1", DAY1 - timedelta(hours=2), "hiring")])
        made = engine.run(DAY1).decisions
    assert sorted(d.group for d in made) == ["g1", "g3"]


def test_a_request_ingested_after_its_digest_goes_into_the_next_one():
    messenger = RecordingMessenger()
    with _engine(messenger) as engine:
        engine.run(DAY1 - timedelta(days=1, hours=1))
        engine.ingest([_request(1, "g1", DAY1 - timedelta(hours=1))])
        engine.run(DAY1)
        engine.ingest([_request(2, "g1", DAY1 - timedelta(minutes=30))])  # arrives late
        engine.run(DAY1 + timedelta(days=1))
        engine.deliver(DAY1 + timedelta(days=1))
    assert [_ids(t) for t in _posts(messenger, "g1")] == [["1"], ["2"]]


def test_a_crash_between_recording_and_delivering_loses_no_digest_and_posts_none_twice(tmp_path):
    db = str(tmp_path / "g.db")
    with _engine(RecordingMessenger(), store=db) as engine:
        engine.run(DAY1 - timedelta(days=1, hours=1))
        engine.ingest([_request(1, "g1", DAY1 - timedelta(hours=1))])
        engine.run(DAY1)  # recorded; the process dies before delivering
    messenger = RecordingMessenger(fail_times=1)
    with _engine(messenger, store=db) as engine:
        assert not engine.run(DAY1).decisions
        engine.deliver(DAY1)  # fails once: retried later
        engine.deliver(DAY1 + timedelta(hours=1))
        assert not engine.run(DAY1 + timedelta(days=1)).decisions
        engine.deliver(DAY1 + timedelta(days=1, hours=1))
    assert [_ids(t) for t in _posts(messenger, "g1")] == [["1"]]


def test_the_digest_in_chinese():
    messenger = RecordingMessenger()
    with _engine(messenger, locale="zh") as engine:
        engine.run(DAY1 - timedelta(days=1, hours=1))
        engine.ingest(
            [go.Member(id="ann", name="小王"), _request(1, "g1", DAY1 - timedelta(hours=1), "hiring")]
        )
        engine.run(DAY1)
        engine.deliver(DAY1)
    (post,) = _posts(messenger, "g1")
    assert post == "Group one：本期共 1 条需求。\n招聘 (1)\n- 小王: need-1"


@settings(max_examples=25, deadline=None)
@given(
    offsets=st.lists(st.integers(min_value=-60, max_value=4 * 24 * 60), min_size=1, max_size=12),
    arrivals=st.lists(st.integers(min_value=0, max_value=5), min_size=12, max_size=12),
    runs=st.lists(st.integers(min_value=0, max_value=5 * 24 * 60), min_size=1, max_size=6),
    groups=st.lists(st.sampled_from(["g1", "g2"]), min_size=12, max_size=12),
    types=st.lists(st.sampled_from(["hiring", "supplier"]), min_size=12, max_size=12),
)
def test_each_request_is_in_exactly_one_digest_of_each_group_it_goes_to(
    offsets, arrivals, runs, groups, types
):
    """Whatever the run times and however late (up to half a day) requests arrive, each
    is posted once in its group and, if hiring, once in every other open group."""
    messenger = RecordingMessenger()
    start = DAY1 - timedelta(days=1, hours=1)
    instants = sorted({start + timedelta(minutes=m) for m in runs})
    end = DAY1 + timedelta(days=5)
    requests = [
        (_request(i, groups[i], DAY1 + timedelta(minutes=m), types[i]), arrivals[i])
        for i, m in enumerate(offsets)
    ]
    with _engine(messenger) as engine:
        engine.run(start)
        for at in [*instants, end]:
            engine.ingest([r for r, late in requests if r.at + timedelta(hours=late * 2) <= at])
            engine.run(at)
            engine.deliver(at)
    for group in ("g1", "g2", "g3"):
        posted = [i for text in _posts(messenger, group) for i in _ids(text)]
        expected = [
            str(i)
            for i, (r, _) in enumerate(requests)
            if r.at <= end and (r.group == group or r.data["type"] == "hiring")
        ]
        assert sorted(posted) == sorted(expected), group
