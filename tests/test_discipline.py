"""Issue 12: member discipline and membership constraints — groups created at run time
accepted by ingest, violations, limits, deadlines from joining, capacity, routing, terms."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import groupops as go
from groupops.testing import RecordingMessenger

CST = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, tzinfo=CST)


class Platform:
    """A host plugin that creates groups on the platform: ids chat-1, chat-2, ..."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    @go.hookimpl
    def groupops_create_group(self, family, name, book, number, at):  # type: ignore[no-untyped-def]
        self.calls.append((family.id, name, number))
        return f"chat-{len(self.calls)}"


def welfare_book(*policies, capacity=2, **extra):
    return go.RuleBook.load(
        {
            "timezone": "Asia/Shanghai",
            "locale": extra.pop("locale", "zh"),
            "families": [
                {
                    "id": "welfare",
                    "kind": "general",
                    "capacity": capacity,
                    "name": "{city}·XX品牌福利社 {n}群",
                    "vars": {"city": "杭州"},
                    "welcome": "欢迎 {member.name} 加入{group.name}！",
                }
            ],
            "groups": [
                {"id": "w1", "name": "杭州·XX品牌福利社 1群", "family": "welfare", "capacity": capacity},
                *extra.pop("groups", []),
            ],
            "policies": list(policies),
            **extra,
        }
    )


def ev(eid, kind, member, group, at, **data):
    return go.Event(id=eid, kind=kind, member=member, group=group, at=at, data=data)


# -- groups created at run time are groups events may name --------------------------------


def test_ingest_accepts_a_group_created_at_run_time_and_still_refuses_a_typo(tmp_path):
    host = Platform()
    with go.Engine(
        welfare_book(), store=str(tmp_path / "g.db"), plugins=[host], entry_points=False
    ) as engine:
        engine.run(T0)
        made = go.create_group(engine, "welfare", T0)
        assert made.group is not None and made.group.id == "chat-1"
        report = engine.ingest(
            [
                ev("j1", "joined", "ann", "chat-1", T0 + timedelta(hours=1)),
                ev("j2", "joined", "bob", "chat-9", T0 + timedelta(hours=1)),
            ]
        )
        assert report.events == 1
        [rejected] = report.rejected
        assert rejected.problems == (
            "group: 'chat-9' is not a group of the rule book (known groups: 'chat-1', 'w1')",
        )
        ms = engine.membership("ann", "chat-1")
        assert ms is not None and ms.present
    # a new process over the same store knows the group too
    with go.Engine(welfare_book(), store=str(tmp_path / "g.db"), entry_points=False) as engine:
        assert engine.ingest([ev("l1", "left", "ann", "chat-1", T0 + timedelta(hours=2))]).events == 1
        assert engine.membership("ann", "chat-1").status == "left"


# -- violation --------------------------------------------------------------------------------

NO_ADS = {
    "id": "no-ads",
    "type": "violation",
    "groups": ["w1"],
    "window": "30d",
    "steps": ["warn", "final_warn", "remove"],
}


def _violations(engine, *offsets, member="ann", group="w1"):
    engine.ingest([ev(f"v{i}", "violation", member, group, T0 + off) for i, off in enumerate(offsets)])


def _joined(engine, member="ann", group="w1", at=T0 - timedelta(days=60), eid=None):
    engine.ingest(
        [
            go.Member(id=member, name=member.title()),
            ev(eid or f"j-{member}-{group}", "joined", member, group, at),
        ]
    )


def _steps(decisions):
    return [(d.action, d.at) for d in sorted(decisions, key=lambda d: d.at)]


def test_offences_escalate_warn_final_warn_remove_each_at_its_own_time(tmp_path):
    with go.Engine(welfare_book(NO_ADS), store=str(tmp_path / "g.db"), entry_points=False) as engine:
        _joined(engine)
        days = [timedelta(days=1), timedelta(days=2), timedelta(days=3)]
        _violations(engine, *days)
        made = engine.run(T0 + timedelta(days=10)).decisions  # a late run catches up
        assert _steps(made) == [
            ("warn", T0 + days[0]),
            ("final_warn", T0 + days[1]),
            ("remove", T0 + days[2]),
        ]
        ms = engine.membership("ann", "w1")
        assert (ms.status, ms.left_at) == ("removed", T0 + days[2])
        assert not engine.run(T0 + timedelta(days=10)).decisions  # a rerun: nothing more
        texts = {m.action: m.text for m in engine.store.messages()}
    assert (
        texts["warn"]
        == "Ann，这是您 30d 内第 1 次违反杭州·XX品牌福利社 1群群规，请遵守群规。再次违规：最后警告。"
    )
    assert "第 2 次" in texts["final_warn"] and "再次违规：移出本群" in texts["final_warn"]
    assert texts["remove"] == "Ann 已被移出杭州·XX品牌福利社 1群：30d 内第 3 次违反群规。"


def test_offences_decay_after_the_window_and_one_exactly_at_its_edge_still_counts(tmp_path):
    with go.Engine(welfare_book(NO_ADS), store=str(tmp_path / "g.db"), entry_points=False) as engine:
        _joined(engine)
        # 40 days apart: two first warnings; then exactly 30 days after the second: a second offence
        _violations(engine, timedelta(0), timedelta(days=40), timedelta(days=70))
        made = engine.run(T0 + timedelta(days=80)).decisions
    assert [d.action for d in sorted(made, key=lambda d: d.at)] == ["warn", "warn", "final_warn"]
    assert [d.explanation.observed for d in sorted(made, key=lambda d: d.at)] == [1, 1, 2]


def test_the_third_offence_and_a_rerun_split_in_time_decide_the_same_once(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    offsets = [timedelta(hours=h) for h in (1, 5, 9)]
    with go.Engine(welfare_book(NO_ADS), store=str(tmp_path / "a" / "g.db"), entry_points=False) as one:
        _joined(one)
        _violations(one, *offsets)
        once = one.run(T0 + timedelta(days=1)).decisions
    with go.Engine(welfare_book(NO_ADS), store=str(tmp_path / "b" / "g.db"), entry_points=False) as split:
        _joined(split)
        made = []
        for i, off in enumerate(offsets):
            split.ingest([ev(f"v{i}", "violation", "ann", "w1", T0 + off)])
            made += split.run(T0 + off + timedelta(minutes=1)).decisions
            made += split.run(T0 + off + timedelta(minutes=1)).decisions  # the rerun
    assert sorted(d.id for d in once) == sorted(d.id for d in made)
    assert [d.action for d in made] == ["warn", "final_warn", "remove"]


def test_penalties_and_a_removed_member_is_never_revived(tmp_path):
    policy = {
        **NO_ADS,
        "steps": [
            {"penalty": "fine", "text": "请在群里发一个红包"},
            {"penalty": "mute", "for": "1d"},
            "remove",
        ],
    }
    revival = {
        "id": "back",
        "type": "revival",
        "groups": ["w1"],
        "within": "30d",
        "when": {"count": "payment", "at_least": 0},
    }
    with go.Engine(welfare_book(policy, revival), store=str(tmp_path / "g.db"), entry_points=False) as engine:
        _joined(engine)
        _violations(engine, timedelta(hours=1), timedelta(hours=2), timedelta(hours=3))
        made = engine.run(T0 + timedelta(days=1)).decisions
        assert [d.action for d in made] == ["fine", "mute", "remove"]
        assert not engine.run(T0 + timedelta(days=2)).decisions  # revival never reopens 'removed'
        assert engine.membership("ann", "w1").status == "removed"
        texts = {m.action: m.text for m in engine.store.messages()}
    assert "请在群里发一个红包" in texts["fine"] and "再次违规：禁言 1d" in texts["fine"]
    assert "禁言至 2026-03-03 11:00" in texts["mute"]


def test_a_text_only_messenger_turns_remove_and_mute_into_operator_tasks(tmp_path):
    messenger = RecordingMessenger.text_only()
    book = welfare_book({**NO_ADS, "steps": [{"penalty": "mute", "for": "2h"}, "remove"]})
    with go.Engine(
        book,
        store=str(tmp_path / "g.db"),
        plugins=[_Messengers(messenger)],
        entry_points=False,
        default_messenger=messenger.name,
    ) as engine:
        _joined(engine)
        _joined(engine, member="boss", eid="j-boss")
        engine.put_membership(engine.membership("boss", "w1").model_copy(update={"role": "owner"}))
        _violations(engine, timedelta(hours=1), timedelta(hours=2))
        engine.run(T0 + timedelta(days=1))
        engine.deliver(T0 + timedelta(days=1))
    tasks = [(m.action, m.recipient) for m in messenger.delivered if m.audience == "operators"]
    assert tasks == [("task", "boss"), ("task", "boss")]
    assert all(m.action in ("message", "task") for m in messenger.delivered)


class _Messengers:
    def __init__(self, *messengers):
        self.messengers = messengers

    @go.hookimpl
    def groupops_register_messengers(self, register):
        for m in self.messengers:
            register(m)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"penalty": "mute"}, "a mute needs 'for'"),
        ({"penalty": "fine"}, "a fine needs 'text'"),
        ({"penalty": "ban"}, "penalty"),
        ("kick", "steps"),
    ],
)
def test_a_bad_step_is_refused_naming_the_field(step, message):
    with pytest.raises(go.RuleError, match=message):
        welfare_book({**NO_ADS, "steps": [step]})


# -- limit ------------------------------------------------------------------------------------

TWO_GROUPS = {
    "id": "two-groups",
    "type": "limit",
    "max": {"general": 1, "activity": 1},
    "per_family": 1,
    "action": "remove",
}
MORE_GROUPS = [
    {"id": "g2", "name": "Second general", "kind": "general"},
    {"id": "a1", "name": "Activity one", "kind": "activity"},
    {"id": "a2", "name": "Activity two", "kind": "activity"},
]


def test_a_join_over_the_limit_removes_the_newest_membership_naming_the_group_held(tmp_path):
    book = welfare_book(TWO_GROUPS, groups=MORE_GROUPS, locale="en")
    with go.Engine(book, store=str(tmp_path / "g.db"), entry_points=False) as engine:
        engine.ingest(
            [
                go.Member(id="ann", name="Ann"),
                ev("j1", "joined", "ann", "w1", T0),
                ev("j2", "joined", "ann", "a1", T0 + timedelta(hours=1)),  # one of each kind: fine
                ev("j3", "joined", "ann", "g2", T0 + timedelta(hours=2)),  # a second general group
            ]
        )
        [d] = engine.run(T0 + timedelta(days=1)).decisions
        assert (d.action, d.group, d.at) == ("remove", "g2", T0 + timedelta(hours=2))
        assert engine.membership("ann", "g2").status == "removed"
        assert engine.membership("ann", "w1").present and engine.membership("ann", "a1").present
        [msg] = engine.store.messages(decision=d.id)
        assert (
            msg.text
            == "Ann has been removed from Second general: already in 杭州·XX品牌福利社 1群 (at most 1 general group each)."
        )
        assert not engine.run(T0 + timedelta(days=1)).decisions


def test_leaving_and_then_joining_another_group_is_not_a_breach(tmp_path):
    book = welfare_book(TWO_GROUPS, groups=MORE_GROUPS)
    with go.Engine(book, store=str(tmp_path / "g.db"), entry_points=False) as engine:
        engine.ingest(
            [
                ev("j1", "joined", "ann", "a1", T0),
                ev("l1", "left", "ann", "a1", T0 + timedelta(hours=1)),
                ev("j2", "joined", "ann", "a2", T0 + timedelta(hours=1)),  # the same second as leaving
            ]
        )
        assert engine.run(T0 + timedelta(days=1)).decisions == ()


def test_two_joins_at_one_instant_the_second_by_group_id_is_over_the_limit_and_refused(tmp_path):
    book = welfare_book({**TWO_GROUPS, "action": "refuse"}, groups=MORE_GROUPS)
    with go.Engine(book, store=str(tmp_path / "g.db"), entry_points=False) as engine:
        engine.ingest([ev("j2", "joined", "ann", "a2", T0), ev("j1", "joined", "ann", "a1", T0)])
        [d] = engine.run(T0 + timedelta(hours=1)).decisions
        assert (d.action, d.group) == ("refuse", "a2")
        [msg] = engine.store.messages(decision=d.id)
        assert msg.text == "ann，您无法加入Activity two：您已在Activity one（每人最多 1 个activity群）。"


def test_a_breach_that_was_over_by_the_run_is_still_decided_at_its_time_if_the_member_is_still_in(tmp_path):
    # joined g2 while in w1, left w1 an hour later: the breach happened; g2 is the newest join
    book = welfare_book(TWO_GROUPS, groups=MORE_GROUPS)
    with go.Engine(book, store=str(tmp_path / "g.db"), entry_points=False) as engine:
        engine.ingest(
            [
                ev("j1", "joined", "ann", "w1", T0),
                ev("j2", "joined", "ann", "g2", T0 + timedelta(hours=1)),
                ev("l1", "left", "ann", "w1", T0 + timedelta(hours=2)),
            ]
        )
        [d] = engine.run(T0 + timedelta(days=1)).decisions
        assert (d.action, d.group, d.at) == ("remove", "g2", T0 + timedelta(hours=1))


def test_per_family_counts_groups_of_one_family_created_at_run_time(tmp_path):
    host = Platform()
    book = welfare_book({"id": "one-welfare", "type": "limit", "per_family": 1})
    with go.Engine(book, store=str(tmp_path / "g.db"), plugins=[host], entry_points=False) as engine:
        engine.run(T0)
        go.create_group(engine, "welfare", T0)
        engine.ingest(
            [
                ev("j1", "joined", "ann", "w1", T0),
                ev("j2", "joined", "ann", "chat-1", T0 + timedelta(hours=1)),
            ]
        )
        [d] = engine.run(T0 + timedelta(days=1)).decisions
        assert (d.action, d.group) == ("remove", "chat-1")
        assert "同一系列 welfare 每人最多 1 个群" in engine.store.messages(decision=d.id)[0].text


def test_a_limit_needs_max_or_per_family():
    with pytest.raises(go.RuleError, match="give 'max'"):
        welfare_book({"id": "x", "type": "limit"})


# -- deadline ---------------------------------------------------------------------------------

SHARE = {
    "id": "share-on-join",
    "type": "deadline",
    "groups": ["c7"],
    "within": "24h",
    "remind": "12h",
    "when": {"count": "share", "since": "joined", "at_least": 1},
}
C7 = [
    {
        "id": "c7",
        "name": "萌芽微创业营 第7期",
        "kind": "general",
        "capacity": 100,
        "term": {"start": "2026-03-01T00:00:00+08:00", "length": "1y"},
    }
]


def _deadline_engine(tmp_path, *events, name="g.db"):
    engine = go.Engine(welfare_book(SHARE, groups=C7), store=str(tmp_path / name), entry_points=False)
    engine.ingest([go.Member(id="ann", name="Ann"), ev("j", "joined", "ann", "c7", T0), *events])
    return engine


def test_a_share_exactly_at_24h_is_in_time_and_a_reminder_went_out_at_12h(tmp_path):
    with _deadline_engine(tmp_path, ev("s", "share", "ann", "c7", T0 + timedelta(hours=24))) as engine:
        made = engine.run(T0 + timedelta(days=3)).decisions
        assert [(d.action, d.at) for d in made] == [("notice", T0 + timedelta(hours=12))]
        [notice] = engine.store.messages(decision=made[0].id)
        assert notice.text.startswith("Ann，您将于 2026-03-03 09:00 被移出萌芽微创业营 第7期：")
        assert engine.membership("ann", "c7").present
        assert not engine.run(T0 + timedelta(days=4)).decisions


def test_a_share_one_second_late_is_removed_at_the_deadline(tmp_path):
    late = ev("s", "share", "ann", "c7", T0 + timedelta(hours=24, seconds=1))
    with _deadline_engine(tmp_path, late) as engine:
        made = engine.run(T0 + timedelta(days=3)).decisions
        assert [(d.action, d.at) for d in made] == [
            ("notice", T0 + timedelta(hours=12)),
            ("remove", T0 + timedelta(hours=24)),
        ]
        assert engine.membership("ann", "c7").status == "removed"
        [msg] = engine.store.messages(decision=made[1].id)
        assert msg.text.startswith("Ann 已被移出萌芽微创业营 第7期：入群 24h 内未完成：")


def test_a_member_who_shares_before_the_reminder_hears_nothing_and_runs_split_in_time_agree(tmp_path):
    early = ev("s", "share", "ann", "c7", T0 + timedelta(hours=2))
    instants = [T0 + timedelta(hours=h) for h in (1, 11, 12, 13, 23, 24, 30)]
    with _deadline_engine(tmp_path, early) as engine:
        assert [d for at in instants for d in engine.run(at).decisions] == []
    # without the share: the same decisions, however the runs are split
    with _deadline_engine(tmp_path, name="a.db") as one, _deadline_engine(tmp_path, name="b.db") as split:
        once = one.run(T0 + timedelta(days=5)).decisions
        many = [d for at in instants for d in split.run(at).decisions]
        assert [(d.id, d.at) for d in once] == [(d.id, d.at) for d in many]
        assert [d.action for d in many] == ["notice", "remove"]


def test_the_deadline_runs_from_each_members_own_join_and_a_rejoin_starts_a_new_one(tmp_path):
    with _deadline_engine(tmp_path, ev("j-bob", "joined", "bob", "c7", T0 + timedelta(hours=20))) as engine:
        made = engine.run(T0 + timedelta(hours=30)).decisions
        assert [(d.member, d.action) for d in made] == [("ann", "notice"), ("ann", "remove")]
        engine.ingest([ev("j2", "joined", "ann", "c7", T0 + timedelta(days=2))])
        made = engine.run(T0 + timedelta(days=4)).decisions
        assert [(d.member, d.action, d.at) for d in made] == [
            ("bob", "notice", T0 + timedelta(hours=32)),
            ("bob", "remove", T0 + timedelta(hours=44)),
            ("ann", "notice", T0 + timedelta(days=2, hours=12)),
            ("ann", "remove", T0 + timedelta(days=3)),
        ]


# -- capacity, routing and terms --------------------------------------------------------------

CAPACITY = {"id": "capacity", "type": "capacity"}


def _joins(engine, group, members, at, prefix="j"):
    engine.ingest([ev(f"{prefix}-{m}", "joined", m, group, at) for m in members])


def test_joins_at_the_last_place_and_beyond_at_one_second_tie_by_member_id(tmp_path):
    book = welfare_book({**CAPACITY, "overflow": "remove"}, groups=[{**C7[0], "capacity": 3}])
    with go.Engine(book, store=str(tmp_path / "g.db"), entry_points=False) as engine:
        _joins(engine, "c7", ["m1", "m2"], T0)
        _joins(engine, "c7", ["m4", "m3"], T0 + timedelta(hours=1))  # the 3rd and 4th place, one second
        [d] = engine.run(T0 + timedelta(days=1)).decisions
        assert (d.action, d.member, d.at) == ("remove", "m4", T0 + timedelta(hours=1))
        assert "本群已满（3 人）" in engine.store.messages(decision=d.id)[0].text
        present = [ms.member for ms in engine.store.memberships(group="c7") if ms.present]
        assert sorted(present) == ["m1", "m2", "m3"]


def test_a_leave_frees_a_place(tmp_path):
    book = welfare_book({**CAPACITY, "overflow": "remove"}, capacity=2)
    with go.Engine(book, store=str(tmp_path / "g.db"), entry_points=False) as engine:
        _joins(engine, "w1", ["m1", "m2"], T0)
        engine.ingest([ev("l-m1", "left", "m1", "w1", T0 + timedelta(hours=1))])
        _joins(engine, "w1", ["m3"], T0 + timedelta(hours=1))
        assert engine.run(T0 + timedelta(days=1)).decisions == ()
        _joins(engine, "w1", ["m4"], T0 + timedelta(hours=2))
        [d] = engine.run(T0 + timedelta(days=1)).decisions
        assert (d.action, d.member) == ("remove", "m4")


def test_a_join_beyond_capacity_is_routed_to_a_sibling_with_room(tmp_path):
    book = welfare_book(
        CAPACITY,
        capacity=1,
        groups=[{"id": "w2", "name": "杭州·XX品牌福利社 2群", "family": "welfare", "capacity": 1}],
        locale="en",
    )
    with go.Engine(book, store=str(tmp_path / "g.db"), entry_points=False) as engine:
        _joins(engine, "w1", ["m1"], T0)
        _joins(engine, "w1", ["m2"], T0 + timedelta(hours=1))
        [d] = engine.run(T0 + timedelta(days=1)).decisions
        assert (d.action, d.member, d.target_group) == ("route", "m2", "w2")
        assert engine.store.messages(decision=d.id)[0].text == (
            "m2, 杭州·XX品牌福利社 1群 is full: please join 杭州·XX品牌福利社 2群 instead."
        )
        assert engine.membership("m2", "w1").status == "left"


def test_routing_fills_the_fullest_group_with_room_then_opens_the_next_group_once(tmp_path):
    host = Platform()
    book = welfare_book(capacity=2)
    with go.Engine(book, store=str(tmp_path / "g.db"), plugins=[host], entry_points=False) as engine:
        engine.run(T0)
        assert engine.route("m1", "welfare", T0).group.id == "w1"
        _joins(engine, "w1", ["m1", "m2"], T0)
        first = engine.route("m3", "welfare", T0 + timedelta(hours=1))
        assert first.group is not None and first.group.id == "chat-1"
        assert (
            first.group.name == "杭州·XX品牌福利社 2群"
            and first.group.welcome == "欢迎 {member.name} 加入{group.name}！"
        )
        assert first.decision is not None and first.decision.action == "create_group"
        again = engine.route("m4", "welfare", T0 + timedelta(hours=2))
        assert again.group.id == "chat-1" and again.decision is None  # the new group has room
        assert host.calls == [("welfare", "杭州·XX品牌福利社 2群", 2)]
        assert engine.route("m1", "welfare", T0 + timedelta(hours=2)).reason == "已在杭州·XX品牌福利社 1群"


def test_routing_when_all_groups_are_full_twice_queues_one_task_until_the_group_exists(tmp_path):
    book = welfare_book(capacity=1)
    with go.Engine(book, store=str(tmp_path / "g.db"), entry_points=False) as engine:
        engine.run(T0)
        _joins(engine, "w1", ["m1"], T0)
        first = engine.route("m2", "welfare", T0 + timedelta(hours=1))
        second = engine.route("m3", "welfare", T0 + timedelta(hours=2))
        assert first.group is None and second.group is None
        assert first.decision is not None and second.decision == first.decision
        assert first.reason == "该系列的群都已满，正在开第 2 个群"
        tasks = engine.store.messages()
        assert [m.action for m in tasks] == ["task"] and "杭州·XX品牌福利社 2群" in tasks[0].text
        # the operator opens it and the host records it: routing sends people there
        engine.store.record_group(
            go.GroupChange(
                at=T0 + timedelta(hours=3),
                group=go.Group(id="w2", name="杭州·XX品牌福利社 2群", family="welfare", capacity=1),
            )
        )
        assert engine.route("m3", "welfare", T0 + timedelta(hours=3)).group.id == "w2"
        # a leave frees a place in w1
        engine.ingest([ev("l-m1", "left", "m1", "w1", T0 + timedelta(hours=4))])
        assert engine.route("m4", "welfare", T0 + timedelta(hours=4)).group.id == "w1"


def test_routing_never_sends_a_member_over_a_limit_and_says_why(tmp_path):
    book = welfare_book(
        {"id": "two-groups", "type": "limit", "max": {"general": 1}},
        groups=[{"id": "g9", "name": "Other general"}],
        locale="en",
    )
    with go.Engine(book, store=str(tmp_path / "g.db"), entry_points=False) as engine:
        engine.run(T0)
        _joins(engine, "g9", ["m1"], T0)
        routing = engine.route("m1", "welfare", T0 + timedelta(hours=1))
        assert routing.group is None and routing.decision is None
        assert routing.reason == "routing skipped: already in Other general (at most 1 general group each)"


def test_routing_an_unknown_family_is_a_rule_error():
    with go.Engine(welfare_book(), entry_points=False) as engine, pytest.raises(go.RuleError, match="wefare"):
        engine.route("m1", "wefare", T0)


def test_a_term_ends_the_group_once_and_no_policy_decides_on_it_after(tmp_path):
    term = {"id": "cohorts", "type": "term"}
    groups = [{**C7[0], "term": {"start": "2026-03-01T00:00:00+08:00", "length": "10d"}}]
    with go.Engine(
        welfare_book(term, NO_ADS | {"groups": ["c7"]}, groups=groups),
        store=str(tmp_path / "g.db"),
        entry_points=False,
    ) as engine:
        engine.ingest(
            [
                ev("j", "joined", "ann", "c7", T0),
                ev("v1", "violation", "ann", "c7", T0 + timedelta(days=1)),
                ev("v2", "violation", "ann", "c7", T0 + timedelta(days=20)),
            ]
        )
        made = engine.run(T0 + timedelta(days=30)).decisions
        end = datetime(2026, 3, 11, tzinfo=CST)
        assert [(d.action, d.at) for d in made] == [("warn", T0 + timedelta(days=1)), ("cohort_end", end)]
        assert (made[1].member, made[1].group) == (None, "c7")
        assert engine.store.get_group("c7").status == "closed"
        assert not engine.run(T0 + timedelta(days=31)).decisions
        [post] = engine.store.messages(decision=made[1].id)
        assert (post.audience, post.recipient) == ("group", "c7")


def test_no_kind_records_a_decision_on_a_group_after_it_closed(tmp_path):
    term = {"id": "cohorts", "type": "term"}
    hello = {"id": "hello", "type": "welcome", "groups": ["c7"], "within": "30d"}
    groups = [{**C7[0], "term": {"start": "2026-03-01T00:00:00+08:00", "length": "10d"}}]
    with go.Engine(
        welfare_book(term, hello, groups=groups), store=str(tmp_path / "g.db"), entry_points=False
    ) as engine:
        engine.ingest(
            [ev("j1", "joined", "ann", "c7", T0), ev("j2", "joined", "bob", "c7", T0 + timedelta(days=12))]
        )
        made = engine.run(T0 + timedelta(days=13)).decisions
    assert [(d.action, d.member) for d in made] == [("welcome", "ann"), ("cohort_end", None)]


# -- placements never put a member over a limit ------------------------------------------------


def test_an_admission_that_would_break_a_limit_is_skipped_and_explain_says_why(tmp_path):
    vip = {
        "id": "vip",
        "type": "admission",
        "from": ["w1"],
        "to": "p1",
        "when": {"count": "purchase", "at_least": 1},
    }
    limit = {"id": "one-paid", "type": "limit", "max": {"paid": 1}}
    groups = [{"id": "p1", "name": "VIP 1", "kind": "paid"}, {"id": "p0", "name": "VIP 0", "kind": "paid"}]
    with go.Engine(
        welfare_book(vip, limit, groups=groups, locale="en"), store=str(tmp_path / "g.db"), entry_points=False
    ) as engine:
        engine.ingest(
            [
                ev("j1", "joined", "ann", "w1", T0),
                ev("j2", "joined", "ann", "p0", T0),
                ev("j3", "joined", "bob", "w1", T0),
                go.Event(id="b1", kind="purchase", member="ann", at=T0),
                go.Event(id="b2", kind="purchase", member="bob", at=T0),
            ]
        )
        made = engine.run(T0 + timedelta(hours=1)).decisions
        assert [(d.action, d.member) for d in made] == [("invite", "bob")]
        report = engine.explain("ann", "w1", "vip", T0 + timedelta(hours=1))
        assert [n.text() for n in report.notes] == [
            "not invited while a limit turns the member back: already in VIP 0 (at most 1 paid group each)"
        ]


def test_an_overflow_is_not_routed_where_a_limit_would_turn_it_back_but_leaving_the_full_group_counts(
    tmp_path,
):
    w2 = {"id": "w2", "name": "杭州·XX品牌福利社 2群", "family": "welfare", "capacity": 1}
    per_family = {"id": "one-welfare", "type": "limit", "per_family": 1}
    kinds = {"id": "one-general", "type": "limit", "max": {"general": 1}}
    other = {"id": "g9", "name": "Other general", "kind": "general"}
    # ann holds no other group: routed from w1 to w2 (she leaves w1 for it)
    with go.Engine(welfare_book(per_family, CAPACITY, capacity=1, groups=[w2]), entry_points=False) as engine:
        _joins(engine, "w1", ["bob"], T0)
        _joins(engine, "w1", ["ann"], T0 + timedelta(hours=1))
        [d] = engine.run(T0 + timedelta(days=1)).decisions
        assert (d.action, d.member, d.target_group) == ("route", "ann", "w2")
    # cai also holds another general group: w2 would break the kind limit, so she is removed
    with go.Engine(
        welfare_book(CAPACITY, kinds, capacity=1, groups=[w2, other]), entry_points=False
    ) as engine:
        _joins(engine, "w1", ["bob"], T0)
        _joins(engine, "g9", ["cai"], T0)
        engine.ingest([ev("j-cai-w1", "joined", "cai", "w1", T0 + timedelta(hours=1))])
        made = engine.run(T0 + timedelta(days=1)).decisions
        assert [(d.policy, d.action, d.member) for d in made] == [("capacity", "remove", "cai")]


def test_explain_works_for_a_member_of_a_group_created_at_run_time(tmp_path):
    with go.Engine(
        welfare_book(NO_ADS | {"groups": ["w1"]}), plugins=[Platform()], entry_points=False
    ) as engine:
        engine.run(T0)
        go.create_group(engine, "welfare", T0)
        engine.ingest([ev("j1", "joined", "ann", "chat-1", T0)])
        report = engine.explain("ann", "chat-1", "no-ads", T0 + timedelta(hours=1))
        assert [n.text("zh") for n in report.notes] == ["30d 内违规 0 次；再次违规：警告"]


def test_the_100th_and_101st_joins_of_a_cohort_at_one_second(tmp_path):
    with go.Engine(welfare_book({**CAPACITY, "overflow": "remove"}, groups=C7), entry_points=False) as engine:
        _joins(engine, "c7", [f"m{i:03d}" for i in range(1, 99)], T0)  # 98 members
        _joins(
            engine, "c7", ["m101", "m099", "m100"], T0 + timedelta(hours=1)
        )  # the 99th to 101st, one second
        [d] = engine.run(T0 + timedelta(days=1)).decisions
        assert (d.action, d.member) == ("remove", "m101")
        assert sum(ms.present for ms in engine.store.memberships(group="c7")) == 100


def test_two_joins_at_one_instant_come_out_the_same_when_the_second_arrives_after_a_run(tmp_path):
    # the join whose group id sorts last is the newer, whichever run sees which
    limit = welfare_book(TWO_GROUPS, groups=MORE_GROUPS)
    cap = welfare_book({**CAPACITY, "overflow": "remove"}, capacity=1)
    for book, first, second, over in (
        (limit, ev("j2", "joined", "ann", "a2", T0), ev("j1", "joined", "ann", "a1", T0), ("ann", "a2")),
        (cap, ev("jb", "joined", "bob", "w1", T0), ev("ja", "joined", "ann", "w1", T0), ("bob", "w1")),
    ):
        with go.Engine(book, entry_points=False) as engine:
            engine.ingest([first])
            assert engine.run(T0 + timedelta(minutes=1)).decisions == ()
            engine.ingest([second])
            [d] = engine.run(T0 + timedelta(minutes=2)).decisions
            assert (d.member, d.group, d.at) == (*over, T0)
            assert engine.membership(*over).status == "removed"
