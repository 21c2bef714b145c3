"""What the engine hands back: ingest, run, delivery and explain reports."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ._decision import Decision
from .rules._explain import Explanation

__all__ = [
    "CampaignReport",
    "DeliveryReport",
    "ExplainReport",
    "IngestReport",
    "Note",
    "PluginFailure",
    "Rejected",
    "RunReport",
    "Section",
    "StandingItem",
    "StandingReport",
    "Waiting",
]


class _Report(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)


class Rejected(_Report):
    """A record set aside, with why: ``index`` is its position in the batch (0-based)."""

    index: int
    record: Any
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"record {self.index}: " + "; ".join(self.problems)


class IngestReport(_Report):
    """What ``ingest`` did with a batch: accepted, duplicate and rejected records.

    ``unknown_groups`` are the groups stored events name that the rule book does not
    know (sorted; only ever filled by ``ingest(..., check_groups=False)``, since events
    naming them are otherwise rejected).
    """

    events: int = 0
    members: int = 0
    duplicates: tuple[str, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    unknown_groups: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing was rejected."""
        return not self.rejected

    def merge(self, other: IngestReport) -> IngestReport:
        """The report of two batches together (rejected indexes are kept as given)."""
        return IngestReport(
            events=self.events + other.events,
            members=self.members + other.members,
            duplicates=self.duplicates + other.duplicates,
            rejected=self.rejected + other.rejected,
            unknown_groups=tuple(sorted({*self.unknown_groups, *other.unknown_groups})),
        )


class PluginFailure(_Report):
    """A plugin that failed during a run: which plugin, in which hook, about what.

    A failing veto hook or metric affects only the member it was asked about: nothing
    is recorded for that member under that policy in this run, and the next run asks
    again. A failing observer is reported here too (``decision`` is the decision it was
    told about); the others are still told.
    """

    plugin: str
    hook: str
    error: str
    policy: str | None = None
    member: str | None = None
    group: str | None = None
    decision: str | None = None

    def __str__(self) -> str:
        about = ", ".join(
            f"{name} {value!r}"
            for name, value in (("policy", self.policy), ("member", self.member), ("group", self.group))
            if value is not None
        )
        return (
            f"plugin {self.plugin!r} failed in {self.hook}"
            + (f" ({about})" if about else "")
            + (f": {self.error}")
        )


class RunReport(_Report):
    """The decisions a run made, in the order it made them, and the plugins that failed
    (``failures``): the decisions those were asked about are retried by the next run."""

    at: AwareDatetime
    decisions: tuple[Decision, ...] = ()
    dry_run: bool = False
    revision: str = ""
    failures: tuple[PluginFailure, ...] = ()

    def by_action(self) -> dict[str, int]:
        """How many decisions of each action."""
        out: dict[str, int] = {}
        for d in self.decisions:
            out[d.action] = out.get(d.action, 0) + 1
        return out


class DeliveryReport(_Report):
    """What a delivery pass did, by idempotency key."""

    delivered: tuple[str, ...] = ()
    retrying: tuple[str, ...] = ()
    held: tuple[str, ...] = ()
    dead: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()


class CampaignReport(_Report):
    """How a ``campaign`` stands: the ``size`` of its segment at ``start``, how many of
    those ``reached`` the goal at ``at`` (its ``end``, or earlier while it runs:
    ``finished`` says which), the ``rate`` (None for an empty segment), the ``target``
    and whether it is ``met`` (None for an empty segment); the members, by id."""

    policy: str
    start: AwareDatetime
    end: AwareDatetime
    at: AwareDatetime
    finished: bool
    size: int
    reached: int
    rate: float | None
    target: float
    met: bool | None
    members: tuple[str, ...] = ()
    reached_members: tuple[str, ...] = ()

    def render(self, locale: str = "en") -> str:
        """A few lines an operator reads (en or zh)."""
        rate = "-" if self.rate is None else f"{self.rate:.1%}"
        target = f"{self.target:.1%}"
        if locale == "zh":
            met = {True: "已达成", False: "未达成", None: "无成员，无法判断"}[self.met]
            state = "已结束" if self.finished else "进行中"
            return (
                f"活动 {self.policy}（{state}，{self.start.isoformat()} 至 {self.end.isoformat()}）\n"
                f"  开始时人群：{self.size} 人\n  达成目标：{self.reached} 人\n"
                f"  转化率：{rate}（目标 {target}）：{met}"
            )
        met = {True: "met", False: "not met", None: "no members: nothing to judge"}[self.met]
        state = "finished" if self.finished else "running"
        return (
            f"campaign {self.policy} ({state}, {self.start.isoformat()} to {self.end.isoformat()})\n"
            f"  segment at start: {self.size}\n  reached the goal: {self.reached}\n"
            f"  rate: {rate} (target {target}): {met}"
        )


class Waiting(_Report):
    """Messages the outbox still has to deliver, of one messenger, action and status
    (``pending`` or ``held``): how many, when the first and the last of them are due
    (``next_at``), and the last reason one was held or failed (a quota or rate used up)."""

    messenger: str
    action: str
    status: Literal["pending", "held"]
    count: int
    first_at: AwareDatetime
    last_at: AwareDatetime
    reason: str | None = None


# section titles and notes, by kind: {name} placeholders are filled from ``values``
_TITLES: dict[str, dict[str, str]] = {
    "en": {
        "stay": "to stay",
        "exempt": "exempt if",
        "come_back": "to come back",
        "invited": "to be invited to {group}",
        "promote": "to become {role}",
        "keep": "to stay {role}",
        "by_deadline": "to meet by {deadline}",
        "rewarded": "to be rewarded",
        "duty": "to meet the {role} duty this period",
        "handoff": "to be handed to {to}",
    },
    "zh": {
        "stay": "留下的条件",
        "exempt": "豁免条件",
        "come_back": "复活条件",
        "invited": "受邀加入 {group} 的条件",
        "promote": "晋升为 {role} 的条件",
        "keep": "保持 {role} 的条件",
        "by_deadline": "需在 {deadline} 前满足",
        "rewarded": "获得奖励的条件",
        "duty": "本期完成 {role} 职责的条件",
        "handoff": "移交给 {to} 的条件",
    },
}
_NOTES: dict[str, dict[str, str]] = {
    "en": {
        "grace": "inside the grace period for this period",
        "period": "period ends {end}; notices at {notice_at}",
        "off_ladder": "role {role!r} is not on this ladder",
        "locked": "the role is locked",
        "window": "revival window closes {deadline}",
        "revivals": "revivals used: {used} of {max}",
        "welcome": "welcomes members within {within} of joining; nothing to meet",
        "top": "{role} is the top rung of this ladder: there is no higher role to be promoted to; "
        "the role is kept while the condition above holds",
        "top_unguarded": "{role} is the top rung of this ladder: there is no higher role to be "
        "promoted to, and no keep condition, so no rule demotes it",
        "no_history": "no membership history reaches back to {at}: shown with the current membership",
        "offences": "offences within {window}: {count}; the next one means {next}",
        "limit": "over a limit: {reason}",
        "within_limits": "within the group limits",
        "refused": "not invited while a limit turns the member back: {reason}",
        "points": "points balance: {balance}",
        "rewarded": "rewarded already on {at}: a reward is paid once per member",
        "duty": "duty periods met in a row: {met}; missed in a row: {missed}",
        "tier": "label now: {label}",
        "tier_since": "{label} since {at}",
        "handed_off": "handed to {to} at {at}",
        "tier_top": "{label} is the highest label",
    },
    "zh": {
        "grace": "本期仍在新人保护期内",
        "period": "本期 {end} 结束；{notice_at} 发出预告",
        "off_ladder": "角色 {role} 不在此阶梯上",
        "locked": "角色已锁定",
        "window": "复活窗口于 {deadline} 关闭",
        "revivals": "已复活 {used} 次，上限 {max} 次",
        "welcome": "入群 {within} 内欢迎；无需满足条件",
        "top": "{role} 是此阶梯的最高一级：没有更高的角色可晋升；满足上面的条件即保持该角色",
        "top_unguarded": "{role} 是此阶梯的最高一级：没有更高的角色可晋升，也没有保持条件，不会被规则降级",
        "no_history": "没有 {at} 时的成员状态记录：按当前成员状态显示",
        "offences": "{window} 内违规 {count} 次；再次违规：{next_zh}",
        "limit": "超出限额：{reason}",
        "within_limits": "未超出群数量限制",
        "refused": "受限额约束，暂不邀请：{reason}",
        "points": "积分余额：{balance}",
        "rewarded": "已于 {at} 获得奖励：每位成员只奖励一次",
        "duty": "连续达标 {met} 期；连续未达标 {missed} 期",
        "tier": "当前标签：{label}",
        "tier_since": "自 {at} 起为 {label}",
        "handed_off": "已于 {at} 移交给 {to}",
        "tier_top": "{label} 已是最高等级",
    },
}
_POLICY_TYPES: dict[str, dict[str, str]] = {
    "en": {},  # the type names themselves
    "zh": {
        "admission": "邀请",
        "eviction": "淘汰",
        "revival": "复活",
        "ladder": "阶梯",
        "welcome": "欢迎",
        "violation": "违规",
        "limit": "限额",
        "deadline": "限期",
        "capacity": "容量",
        "term": "期限",
        "points": "积分",
        "referral_reward": "推荐奖励",
        "vote": "投票",
        "duty": "值守",
        "invite": "批量邀请",
        "broadcast": "群发",
        "tier": "等级",
        "campaign": "活动",
        "handoff": "移交销售",
    },
}
_MEMBERSHIP_STATUSES: dict[str, dict[str, str]] = {
    "en": {},
    "zh": {
        "active": "在群",
        "notified": "已预告",
        "evicted": "已移出",
        "left": "已退群",
        "removed": "已移除",
    },
}


def policy_type_text(policy_type: str, locale: str = "en") -> str:
    """A policy type as a reader of ``locale`` says it (``revival`` → ``复活``)."""
    return _POLICY_TYPES.get(locale, {}).get(policy_type, policy_type)


def membership_status_text(status: str, locale: str = "en") -> str:
    """A membership status as a reader of ``locale`` says it (``evicted`` → ``已移出``)."""
    return _MEMBERSHIP_STATUSES.get(locale, {}).get(status, status)


def _words(table: dict[str, dict[str, str]], locale: str, kind: str, values: dict[str, str]) -> str:
    text = table.get(locale, table["en"]).get(kind) or table["en"][kind]
    return text.format(**values)


class Section(_Report):
    """One part of an explain report: a titled requirement tree.

    ``kind`` is one of ``stay``, ``exempt``, ``come_back``, ``invited``, ``promote``,
    ``keep``, ``by_deadline``, ``rewarded``, ``duty``; ``values`` fill its title (the group
    or role it names)."""

    kind: str
    explanation: Explanation
    values: dict[str, str] = Field(default_factory=dict)

    @property
    def title(self) -> str:
        """The title in English (``to stay``, ``to become core``...)."""
        return self.title_text("en")

    def title_text(self, locale: str = "en") -> str:
        """The title in ``locale`` (en or zh)."""
        return _words(_TITLES, locale, self.kind, self.values)


class Note(_Report):
    """A fact beside the requirement table (grace, the period's end, the revival window).

    ``kind`` is one of ``grace``, ``period``, ``off_ladder``, ``locked``, ``window``,
    ``revivals``, ``welcome``, ``offences``, ``limit``, ``within_limits``, ``refused``, ``top`` (the
    role is a ladder's top rung and a keep
    condition guards it), ``top_unguarded`` (top rung, nothing demotes it) or
    ``no_history`` (the store keeps no membership history that far back, so the current
    membership was used), ``points`` (the member's balance), ``rewarded`` (a referral
    reward already paid) or ``duty`` (duty periods met and missed in a row); ``values``
    fill its text."""

    kind: str
    values: dict[str, str] = Field(default_factory=dict)

    def text(self, locale: str = "en") -> str:
        """The note in ``locale`` (en or zh)."""
        return _words(_NOTES, locale, self.kind, self.values)

    def __str__(self) -> str:
        return self.text()


class ExplainReport(_Report):
    """The requirement table an operator sees for one member under one policy."""

    member: str
    group: str
    policy: str
    policy_type: str
    at: AwareDatetime
    sections: tuple[Section, ...] = ()
    notes: tuple[Note, ...] = Field(default=())

    def header(self, locale: str = "en") -> str:
        """The first line: who, where, under which policy, when."""
        kind = policy_type_text(self.policy_type, locale)
        at = self.at.isoformat()
        if locale == "zh":
            return f"{self.member} 在 {self.group} —— 规则 {self.policy}（{kind}），时间 {at}"
        return f"{self.member} in {self.group} — {self.policy} ({kind}) at {at}"

    def render(self, locale: str = "en") -> str:
        """Plain text: a header, each section's tree with ✓/✗, then notes."""
        colon = "：" if locale == "zh" else ": "
        lines = [self.header(locale)]
        for s in self.sections:
            lines.append(f"{s.title_text(locale)}{colon.rstrip()}")
            lines.append(s.explanation.render(locale, indent="  "))
        note = "说明" if locale == "zh" else "note"
        lines.extend(f"{note}{colon}{n.text(locale)}" for n in self.notes)
        return "\n".join(lines)

    def to_json(self) -> str:
        """The report as JSON text."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False)


class StandingItem(_Report):
    """Where a member stands under one policy (in one group, or member-wide when
    ``group`` is None): what they meet and miss (``sections``) and the facts beside them
    (``notes``), as :meth:`Engine.explain` words them."""

    policy: str
    policy_type: str
    group: str | None = None
    sections: tuple[Section, ...] = ()
    notes: tuple[Note, ...] = ()


class StandingReport(_Report):
    """A member's standing at ``at``: every policy that concerns them, with what they meet
    and what they miss — progress toward the next tier, rung or paid group, and how far
    they are from a notice (see :meth:`Engine.standing`)."""

    member: str
    name: str = ""
    at: AwareDatetime
    items: tuple[StandingItem, ...] = ()

    def render(self, locale: str = "en") -> str:
        """The standing as the member reads it (en or zh): each policy, each requirement
        ✓ met or ✗ not, and the notes."""
        who = self.name or self.member
        zh = locale == "zh"
        when = self.at.isoformat()
        lines = [f"{who} 的当前进度（{when}）：" if zh else f"Where {who} stands at {when}:"]
        if not self.items:
            lines.append("  没有与您相关的规则。" if zh else "  No rule concerns you yet.")
        colon = "：" if zh else ":"
        for item in self.items:
            kind = policy_type_text(item.policy_type, locale)
            where = f"（{item.group}）" if zh and item.group else f" in {item.group}" if item.group else ""
            head = f"{item.policy}（{kind}）" if zh else f"{item.policy} ({kind})"
            lines.append(f"  {head}{where}{colon}")
            for n in item.notes:
                lines.append(f"    {n.text(locale)}")
            for section in item.sections:
                lines.append(f"    {section.title_text(locale)}{colon}")
                tree = section.explanation.render(locale, indent="  ")
                lines.append("      " + tree.replace("\n", "\n      "))
        return "\n".join(lines)
