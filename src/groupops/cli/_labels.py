"""The command line's own words in English and Chinese, and the labels of actions
(a kind declares its actions' labels; the CLI adds the operator ``task``)."""

from __future__ import annotations

from typing import Any

from ..rules._book import installed_kinds

# -- words -------------------------------------------------------------------------

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "task": "task",
        "when": "when",
        "action": "action",
        "member": "member",
        "group": "group",
        "policy": "policy",
        "reason": "reason",
        "total": "total",
        "error": "error",
        "internal": "internal error",
        "verbose_hint": "run again with --verbose for the traceback",
        "vetoed": "vetoed",
        "demo_title": "groupops demo: eight weeks of a brand's community from {start} ({tz})",
        "demo_groups": "Groups:",
        "demo_files": "Database {db}; rule book {rules} ({policies} policies)",
        "week": "Week {n} · {start} – {end} · {events} events · {decisions} decisions",
        "quiet_week": "  (nothing was decided)",
        "summary": "Summary · {members} members · {events} events · {decisions} decisions · {messages} "
        "messages delivered",
        "next": "Try next (the demo wrote its rule book beside the database):",
        "check_ok": "{file}: ok: {groups} groups, {policies} policies (revision {revision})",
        "check_bad": "{file}: {n} problem(s)",
        "ingest_done": "Stored {events} events and {members} members from {files} file(s){dups}.",
        "ingest_dups": " ({n} duplicate events skipped)",
        "ingest_rejected": "{n} record(s) rejected and set aside in {path}; the rest was stored.",
        "ingest_all_rejected": "Nothing stored: all {n} record(s) were rejected (see {path}).",
        "ingest_more": "  … and {n} more",
        "ingest_unknown_groups": (
            "Events name {n} group(s) no rule book was given to check: {groups} "
            "(pass --rules to reject events naming a group the book does not know)."
        ),
        "ingesting": "Ingesting",
        "run_none": "Nothing due at {at}.",
        "run_dry": "Dry run at {at}: {n} decision(s) would be made; nothing was recorded or delivered.",
        "run_done": "{n} decision(s) at {at}: {counts}.",
        "delivery": "Messages: {delivered} delivered, {retrying} retrying, {held} held, {dead} dead.",
        "diff_only_new": "Only under {book} ({n}): {counts}",
        "diff_only_old": "Only under {book} ({n}): {counts}",
        "diff_same": "Under both: {n} decision(s). Nothing was recorded.",
        "none": "none",
        "explain_head": "{member} in {group} · {policy} ({type}) · at {at}",
        "explain_ms": "role {role}, {status}, joined {joined}",
        "explain_no_ms": "not a member of this group",
        "note": "note",
        "report_done": "Wrote {out}: {charts} charts; {members} members, {periods} periods, as of {at}.",
        "no_db": "no database at {db!r}: create one with 'groupops ingest --db {db} FILE' or 'groupops demo'",
        "col_id": "id",
        "col_name": "name",
        "col_kind": "kind",
        "col_family": "family",
        "col_status": "status",
        "col_members": "members",
        "col_term_end": "term ends",
        "open": "open",
        "closed": "closed",
        "dissolved": "dissolved",
        "groups_none": "No groups in {db}: a run seeds them from the rule book (or pass --rules).",
        "route_to": "{member} → {group} ({name})",
        "groups_need_rules": "--rules is needed to read groups from {db!r} (not a SQLite file)",
        "col_generation": "generation",
        "col_size": "members",
        "col_referrers": "referred others",
        "col_conversion": "conversion",
        "col_planned": "plan m·2^g",
        "referrals_none": "No referrals in {db}: no member names a referrer and no referral "
        "event names a referee.",
        "referrals_summary": "seeds m = {seeds}; depth n = {depth}; S = m·2ⁿ = {planned}; "
        "members in the tree: {members} (the plan's whole tree: {planned_members})",
        "col_member": "member",
        "col_balance": "balance",
        "col_entries": "entries",
        "col_at": "at",
        "col_change": "amount",
        "col_entry_kind": "entry",
        "col_cause": "cause",
        "col_policy": "policy",
        "ledger_none": "No points entries in {db}.",
        "ledger_member_none": "No points entries for {member!r} in {db}.",
        "ledger_balance": "balance of {member}: {balance}",
        "earn": "earned",
        "redeem_entry": "redeemed",
    },
    "zh": {
        "task": "任务",
        "when": "时间",
        "action": "动作",
        "member": "成员",
        "group": "群",
        "policy": "规则",
        "reason": "原因",
        "total": "合计",
        "error": "错误",
        "internal": "内部错误",
        "verbose_hint": "加 --verbose 重新运行可查看调用栈",
        "vetoed": "已否决",
        "demo_title": "groupops 演示：某品牌社群八周运营，自 {start} 起（{tz}）",
        "demo_groups": "群：",
        "demo_files": "数据库 {db}；规则 {rules}（{policies} 条规则）",
        "week": "第 {n} 周 · {start} – {end} · {events} 条事件 · {decisions} 项决定",
        "quiet_week": "  （本周没有决定）",
        "summary": "汇总 · {members} 位成员 · {events} 条事件 · {decisions} 项决定 · "
        "已发送 {messages} 条消息",
        "next": "接下来可以试试（演示已把规则写在数据库旁边）：",
        "check_ok": "{file}：通过：{groups} 个群，{policies} 条规则（版本 {revision}）",
        "check_bad": "{file}：{n} 个问题",
        "ingest_done": "已保存 {events} 条事件和 {members} 位成员，来自 {files} 个文件{dups}。",
        "ingest_dups": "（跳过 {n} 条重复事件）",
        "ingest_rejected": "{n} 条记录被拒收，已另存到 {path}；其余已保存。",
        "ingest_all_rejected": "没有保存任何记录：全部 {n} 条都被拒收（见 {path}）。",
        "ingest_more": "  …… 另有 {n} 条",
        "ingest_unknown_groups": (
            "事件提到 {n} 个未经规则核对的群：{groups}（加 --rules 可拒收规则里没有的群的事件）。"
        ),
        "ingesting": "导入中",
        "run_none": "{at} 没有到期的决定。",
        "run_dry": "预演 {at}：将做出 {n} 项决定；没有记录，也没有发送。",
        "run_done": "{at} 做出 {n} 项决定：{counts}。",
        "delivery": "消息：已发送 {delivered}，重试中 {retrying}，暂缓 {held}，失败 {dead}。",
        "diff_only_new": "仅在 {book} 下（{n}）：{counts}",
        "diff_only_old": "仅在 {book} 下（{n}）：{counts}",
        "diff_same": "两者相同：{n} 项决定。没有记录任何内容。",
        "none": "无",
        "explain_head": "{member} 在 {group} · 规则 {policy}（{type}）· 时间 {at}",
        "explain_ms": "角色 {role}，状态 {status}，入群 {joined}",
        "explain_no_ms": "不是该群成员",
        "note": "说明",
        "report_done": "已写入 {out}：{charts} 张图；{members} 位成员，{periods} 个周期，截至 {at}。",
        "no_db": "{db!r} 处没有数据库：先用 'groupops ingest --db {db} FILE' 或 'groupops demo' 创建",
        "col_id": "编号",
        "col_name": "群名",
        "col_kind": "类型",
        "col_family": "系列",
        "col_status": "状态",
        "col_members": "成员",
        "col_term_end": "期满",
        "open": "开放",
        "closed": "已关闭",
        "dissolved": "已解散",
        "groups_none": "{db} 中还没有群：运行一次会按规则登记（或加 --rules）。",
        "route_to": "{member} → {group}（{name}）",
        "groups_need_rules": "从 {db!r} 读取群需要 --rules（它不是 SQLite 文件）",
        "col_generation": "代",
        "col_size": "人数",
        "col_referrers": "继续推荐",
        "col_conversion": "转化率",
        "col_planned": "计划 m·2^g",
        "referrals_none": "{db} 中没有推荐关系：没有成员填写推荐人，也没有推荐事件。",
        "referrals_summary": "种子 m = {seeds}；深度 n = {depth}；S = m·2ⁿ = {planned}；"
        "裂变树人数：{members}（计划整棵树：{planned_members}）",
        "col_member": "成员",
        "col_balance": "余额",
        "col_entries": "笔数",
        "col_at": "时间",
        "col_change": "积分",
        "col_entry_kind": "类型",
        "col_cause": "来源",
        "col_policy": "规则",
        "ledger_none": "{db} 中没有积分记录。",
        "ledger_member_none": "{db} 中没有 {member!r} 的积分记录。",
        "ledger_balance": "{member} 的余额：{balance}",
        "earn": "获得",
        "redeem_entry": "兑换",
    },
}


def _t(locale: str, key: str, **values: Any) -> str:
    text = _WORDS.get(locale, _WORDS["en"]).get(key) or _WORDS["en"][key]
    return text.format(**values) if values else text


def _action(locale: str, action: str) -> str:
    """An action's label: the one its kind declares, else the CLI's own (``task``)."""
    spec = installed_kinds().action(action)
    if spec is not None:
        return spec.label(locale)
    return _WORDS.get(locale, _WORDS["en"]).get(action, action)


def _action_rank() -> dict[str, int]:
    """Actions in the order their kinds registered them, the operator task last."""
    return {a: i for i, a in enumerate([*installed_kinds().action_names(), "task"])}
