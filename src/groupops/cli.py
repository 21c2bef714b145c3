"""The ``groupops`` command line: demo, check, schema, ingest, run, diff, explain, report.

This module is the edge of the library: it parses arguments, reads files, prints, and
turns errors into exit codes. It is the only place that may read the wall clock
(``--at`` defaults to now where a command has no better default).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import json
import re
import sys
import traceback
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from ._engine import Engine, parse_json_record
from ._errors import GroupOpsError, InputError, PluginError, Problem, RuleError
from ._messaging import terminal_safe
from ._model import (
    EARLIEST_TIME,
    LATEST_TIME,
    MAX_RECORD_SIZE,
    Decision,
    Group,
    Member,
    Membership,
)
from ._reports import ExplainReport, IngestReport, RunReport, membership_status_text, policy_type_text
from .plugins._store import Store
from .plugins._urls import sqlite_path
from .plugins.sqlite import SQLiteStore
from .rules._book import RuleBook, installed_kinds, load_rule_book, rule_book_schema

__all__ = ["main"]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USER = 2

EXIT_CODES = (
    "\b\nExit codes:\n"
    "  0  success (ingest: every good record was stored, even if some were rejected)\n"
    "  1  internal error: a bug in groupops or a plugin (--verbose shows the traceback);\n"
    "     run: a plugin failed on some decisions (named on stderr; the rest was done)\n"
    "  2  user error: bad arguments, an invalid rule book, an unreadable file, an unknown\n"
    "     member, group or policy, or (ingest) every record rejected"
)

F = TypeVar("F", bound=Callable[..., Any])

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
        "groups_need_rules": "--rules is needed to read groups from {db!r} (not a SQLite file)",
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
        "groups_need_rules": "从 {db!r} 读取群需要 --rules（它不是 SQLite 文件）",
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


# -- errors and common options -------------------------------------------------------


class UserError(Exception):
    """A mistake the user can fix, found by the command line itself: one line, exit 2."""


_USER_ERRORS: tuple[type[BaseException], ...] = (UserError, GroupOpsError, OSError, UnicodeDecodeError)


def _echo_err(text: str) -> None:
    click.echo(text, err=True)


class _Main(click.Group):
    """The command group; turns exceptions into one-line messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except click.ClickException as exc:
            if ctx.meta.get("groupops.json"):
                _json_error(exc.format_message(), exc.exit_code, [])
            raise
        except BrokenPipeError:
            with contextlib.suppress(OSError):
                sys.stdout.close()
            ctx.exit(EXIT_OK)
        except PluginError as exc:
            # a plugin that failed in a hook is a bug in that plugin, not the user's mistake
            self._fail(ctx, exc, EXIT_INTERNAL if exc.plugin is not None else EXIT_USER)
        except _USER_ERRORS as exc:
            self._fail(ctx, exc, EXIT_USER)
        except Exception as exc:
            self._fail(ctx, exc, EXIT_INTERNAL)

    @staticmethod
    def _fail(ctx: click.Context, exc: BaseException, code: int) -> None:
        locale = str(ctx.meta.get("groupops.locale", "en"))
        if ctx.meta.get("groupops.verbose"):
            traceback.print_exception(exc, file=sys.stderr)
        problems: Sequence[Problem] = ()
        if isinstance(exc, RuleError | InputError) and len(exc.problems) > 1:
            problems = exc.problems
            where = f"{exc.source}: " if exc.source else ""
            for p in problems:
                _echo_err(f"groupops: {_t(locale, 'error')}: {where}{p}")
            message = f"{where}{len(problems)} problems"
        else:
            message = _describe_error(exc)
            word = _t(locale, "error") if code == EXIT_USER else _t(locale, "internal")
            hint = (
                ""
                if code == EXIT_USER or ctx.meta.get("groupops.verbose")
                else f" ({_t(locale, 'verbose_hint')})"
            )
            _echo_err(f"groupops: {word}: {message}{hint}")
        if ctx.meta.get("groupops.json"):
            _json_error(message, code, problems)
        ctx.exit(code)


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or exc}: {exc.filename!r}"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text: {exc.reason} at byte {exc.start}"
    text = str(exc).replace("\n", " ").strip()
    if isinstance(exc, UserError | GroupOpsError | OSError):
        return text
    return f"{type(exc).__name__}: {text}"


def _json_error(message: str, code: int, problems: Sequence[Problem]) -> None:
    doc = {
        "ok": False,
        "exit_code": code,
        "error": message,
        "problems": [{"path": p.path, "message": p.message} for p in problems],
    }
    click.echo(json.dumps(doc, ensure_ascii=False))


def _remember(key: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        ctx.meta[key] = value
        return value

    return callback


def common(f: F) -> F:
    """--json, --locale and --verbose, on every command."""
    f = click.option(
        "--verbose",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_remember("groupops.verbose"),
        help="On an error, print the traceback too.",
    )(f)
    f = click.option(
        "--locale",
        type=click.Choice(["en", "zh"]),
        default="en",
        envvar="GROUPOPS_LOCALE",
        show_default=True,
        is_eager=True,
        callback=_remember("groupops.locale"),
        help="Language of the output (also from GROUPOPS_LOCALE).",
    )(f)
    f = click.option(
        "--json",
        "as_json",
        is_flag=True,
        is_eager=True,
        callback=_remember("groupops.json"),
        help="Print machine-readable JSON on stdout instead of text.",
    )(f)
    return f


def _command(group: click.Group, **kwargs: Any) -> Callable[[F], F]:
    def decorate(f: F) -> F:
        return group.command(epilog=EXIT_CODES, **kwargs)(common(f))  # type: ignore[return-value]

    return decorate


@click.group(cls=_Main, epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="groupops")
def main() -> None:
    """Run a community's operating rules: who is invited, warned, evicted, revived or
    promoted, and why.

    Every command takes --json (machine output), --locale en|zh and --verbose. Times
    (--at) are ISO 8601; one without an offset is read in the rule book's time zone.
    """


# -- shared helpers --------------------------------------------------------------------


def _json_text(doc: Any, **options: Any) -> str:
    """JSON that can always be written as UTF-8: a lone surrogate (only a rejected
    record can hold one, and only inside a string) is written as its JSON escape."""
    text = json.dumps(doc, ensure_ascii=False, default=_json_default, **options)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _emit_json(doc: Any) -> None:
    click.echo(_json_text(doc, indent=2))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _load_book(path: Path) -> RuleBook:
    return load_rule_book(path)


def _open_engine(
    book: RuleBook, db: str, *, must_exist: bool, locale: str, read_only: bool = False
) -> Engine:
    """An engine on the store ``db``. ``must_exist``: a SQLite file that is not there is
    a user error, never silently created. ``read_only``: a SQLite file is opened
    read-only (nothing written, no write lock; see SQLiteStore)."""
    path = sqlite_path(db)
    if path is None:
        return Engine(book, store=db)
    if must_exist and not Path(path).exists():
        raise UserError(_t(locale, "no_db", db=db))
    if read_only:
        return Engine(book, store=SQLiteStore(path, read_only=True))
    return Engine(book, store=db)


def _parse_at(value: str | None, tz: tzinfo) -> datetime:
    """``--at``: ISO 8601; naive times are read in ``tz``; absent means now (the CLI is
    the one place that reads the clock)."""
    if value is None:
        return datetime.now(UTC).astimezone(tz)
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time like 2026-11-20T08:00:00+08:00", param_hint="'--at'"
        ) from None
    if at.tzinfo is None or at.utcoffset() is None:
        at = at.replace(tzinfo=tz)
    if not EARLIEST_TIME <= at < LATEST_TIME:
        raise click.BadParameter(
            f"{value!r} is outside the supported range "
            f"{EARLIEST_TIME:%Y-%m-%d} to {LATEST_TIME:%Y-%m-%d} UTC",
            param_hint="'--at'",
        )
    return at.astimezone(tz)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - _width(text))
    return fill + text if right else text + fill


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, right: Iterable[int] = ()) -> str:
    """Rows as aligned text columns (CJK characters count double); the last column is
    left ragged."""
    rows = [list(r) for r in rows]
    numeric = set(right)
    widths = [_width(h) for h in headers]
    for r in rows:
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], _width(cell))
    last = len(headers) - 1

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            out.append(cell if i == last and i not in numeric else _pad(cell, widths[i], i in numeric))
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


def decision_reason(d: Decision, locale: str) -> str:
    """:meth:`Decision.reasons`, with the role move and a veto shown."""
    text = d.reasons(locale)
    if d.from_role and d.to_role:
        text = f"{d.from_role} → {d.to_role}: {text}"
    if d.status == "vetoed":
        text = f"[{_t(locale, 'vetoed')}: {d.veto_reason}] {text}"
    return text


def _who(member: str | None, names: Mapping[str, Member]) -> str:
    if member is None:
        return "-"
    m = names.get(member)
    return f"{m.name} ({member})" if m is not None and m.name else member


def decision_json(d: Decision, names: Mapping[str, Member], locale: str) -> dict[str, Any]:
    """A decision as ``run --json`` prints it: ``member`` and ``group`` are null for a
    decision about a group alone or a member alone; ``at`` is the moment it is about."""
    m = names.get(d.member) if d.member is not None else None
    return {
        "id": d.id,
        "at": d.at.isoformat(),
        "policy": d.policy,
        "action": d.action,
        "member": d.member,
        "name": m.name if m is not None else "",
        "group": d.group,
        "period": d.period,
        "reasons": decision_reason(d, locale),
        "from_role": d.from_role,
        "to_role": d.to_role,
        "status": d.status,
        "explanation": d.explanation.to_json() if d.explanation is not None else None,
    }


def _decision_rows(
    decisions: Iterable[Decision], names: Mapping[str, Member], locale: str, *, time_format: str
) -> list[list[str]]:
    return [
        [
            d.at.strftime(time_format),
            _action(locale, d.action),
            d.group or "-",
            _who(d.member, names),
            decision_reason(d, locale),
        ]
        for d in decisions
    ]


def _decision_table(
    decisions: Sequence[Decision], names: Mapping[str, Member], locale: str, *, time_format: str
) -> str:
    headers = [_t(locale, k) for k in ("when", "action", "group", "member", "reason")]
    return _table(headers, _decision_rows(decisions, names, locale, time_format=time_format))


def _counts_text(counts: Mapping[str, int], locale: str) -> str:
    if not counts:
        return _t(locale, "none")
    return ", ".join(f"{n} {_action(locale, a)}" for a, n in _ordered(counts))


def _ordered(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    rank = _action_rank()
    return sorted(counts.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


def _profiles(engine: Engine) -> dict[str, Member]:
    return {m.id: m for m in engine.store.members()}


# -- demo --------------------------------------------------------------------------------


_DEMO_HEADER = "# The rule book of `groupops demo`"


def _clear_demo_files(db: Path, rules: Path) -> None:
    """Remove the previous demo's files, refusing to touch anything else."""
    if db.suffix.lower() not in (".db", ".sqlite", ".sqlite3"):
        raise UserError(f"--db {str(db)!r}: the demo database needs a .db, .sqlite or .sqlite3 name")
    if db.exists():
        with db.open("rb") as f:
            head = f.read(16)
        if head and head != b"SQLite format 3\x00":
            raise UserError(f"{str(db)!r} exists and is not a SQLite database; not overwriting it")
    if rules.exists() and not rules.read_text(encoding="utf-8", errors="replace").startswith(_DEMO_HEADER):
        raise UserError(f"{str(rules)!r} exists and is not the demo's rule book; not overwriting it")
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        path.unlink(missing_ok=True)


@_command(main, short_help="Build and run a deterministic sample community (8 weeks).")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default="groupops-demo.db",
    show_default=True,
    help="SQLite file to build (a previous demo database there is replaced).",
)
def demo(db: Path, as_json: bool, locale: str) -> None:
    """Build a sample community in SQLite and run eight weeks of it, week by week.

    A welfare group, a golden-week flash group, a paid VIP group and a study-camp cohort;
    a few hundred members from several source channels; seeded, deterministic events
    from Monday 2026-09-07 (Asia/Shanghai). The engine runs every evening at 20:00 and
    the simulated members react to what it decided. Prints every invitation, notice,
    eviction, spare, revival and promotion with its reason, then a summary. The output
    is the same on every run. The rule book is written beside the database (same name,
    .yaml) so that the other commands can be tried on both.
    """
    from ._demo import DEMO_START, DemoWeek, demo_book, demo_explain_target, demo_rules_text, run_demo

    rules = db.with_suffix(".yaml")
    _clear_demo_files(db, rules)
    rules.write_text(demo_rules_text(), encoding="utf-8")
    book = demo_book()
    groups = [g.id for g in book.groups]
    if not as_json:
        click.echo(_t(locale, "demo_title", start=DEMO_START.date().isoformat(), tz=book.timezone))
        click.echo(_t(locale, "demo_files", db=db, rules=rules, policies=len(book.policies)))
        click.echo(_t(locale, "demo_groups"))
        listing = _table(["", "", ""], ([g.id, g.kind, g.name] for g in book.groups))
        click.echo("\n".join(f"  {line}" for line in listing.splitlines()[1:]))

    def show_week(week: DemoWeek, names: Mapping[str, Member]) -> None:
        if as_json:
            return
        click.echo("")
        last_day = week.end.date().fromordinal(week.end.date().toordinal() - 1)
        click.echo(
            _t(
                locale,
                "week",
                n=week.number,
                start=week.start.date().isoformat(),
                end=last_day.isoformat(),
                events=week.events,
                decisions=len(week.decisions),
            )
        )
        if not week.decisions:
            click.echo(_t(locale, "quiet_week"))
            return
        rows = _decision_rows(week.decisions, names, locale, time_format="%m-%d %H:%M")
        widths = [max(_width(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            cells = [*(_pad(c, widths[i]) for i, c in enumerate(r[:4])), r[4]]
            click.echo("  " + "  ".join(cells).rstrip())

    result = run_demo(db, on_week=show_week)
    names = result.members
    decisions = result.decisions
    by_group: dict[str, Counter[str]] = {}
    for d in decisions:
        by_group.setdefault(d.action, Counter())[d.group or "-"] += 1
    by_action = {a: sum(c.values()) for a, c in by_group.items()}
    if as_json:
        _emit_json(
            {
                "start": result.start.isoformat(),
                "end": result.end.isoformat(),
                "timezone": result.book.timezone,
                "revision": result.book.revision,
                "weeks": [
                    {
                        "week": w.number,
                        "start": w.start.isoformat(),
                        "end": w.end.isoformat(),
                        "events": w.events,
                        "messages": w.messages,
                        "decisions": [decision_json(d, names, locale) for d in w.decisions],
                    }
                    for w in result.weeks
                ],
                "summary": {
                    "members": len(result.members),
                    "events": result.events,
                    "decisions": len(decisions),
                    "messages": result.messages,
                    "by_action": dict(_ordered(by_action)),
                    "by_group": {
                        g: {a: c[g] for a, c in _ordered_counters(by_group) if c[g]}
                        for g in groups
                        if any(c[g] for c in by_group.values())
                    },
                },
            }
        )
        return
    click.echo("")
    click.echo(
        _t(
            locale,
            "summary",
            members=len(result.members),
            events=result.events,
            decisions=len(decisions),
            messages=result.messages,
        )
    )
    headers = [_t(locale, "action"), *groups, _t(locale, "total")]
    rows = [
        [_action(locale, a), *(str(c[g]) for g in groups), str(sum(c.values()))]
        for a, c in _ordered_counters(by_group)
    ]
    totals = [str(sum(c[g] for c in by_group.values())) for g in groups]
    rows.append([_t(locale, "total"), *totals, str(len(decisions))])
    click.echo(_table(headers, rows, right=range(1, len(headers))))
    click.echo("")
    click.echo(_t(locale, "next"))
    who, when = demo_explain_target(decisions, result.end, lambda d: decision_reason(d, "en"))
    for line in (
        f"groupops explain --db {db} --rules {rules} {who} --policy camp-comeback --at {when.isoformat()}",
        f"groupops run --db {db} --rules {rules} --at 2026-11-06T20:00+08:00 --dry-run",
        f"groupops report --db {db} --rules {rules} --out groupops-report.html",
    ):
        click.echo(f"  {line}")


def _ordered_counters(by_action: Mapping[str, Counter[str]]) -> list[tuple[str, Counter[str]]]:
    rank = _action_rank()
    return sorted(by_action.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


# -- check, schema ----------------------------------------------------------------------


def _plugin_problems(book: RuleBook) -> list[Problem]:
    """Problems only an engine finds: metrics or messengers no installed plugin provides."""
    try:
        Engine(book, store="memory:").close()
    except RuleError as exc:
        return list(exc.problems)
    return []


@_command(main, short_help="Validate a rule book; list every problem.")
@click.argument("rules", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check(rules: Path, as_json: bool, locale: str) -> None:
    """Validate the rule book RULES (YAML, JSON or TOML).

    Prints every problem, one per line, as 'path: message' (the path inside the book,
    like policies[1].when.any[0].within) and exits 2; prints a one-line summary and exits
    0 when the book is valid. Metrics and messengers the book names are checked against
    the installed plugins.
    """
    book: RuleBook | None = None
    try:
        book = _load_book(rules)
    except RuleError as exc:
        problems = list(exc.problems)
    else:
        problems = _plugin_problems(book)
    if as_json:
        _emit_json(
            {
                "ok": not problems,
                "file": str(rules),
                "problems": [{"path": p.path, "message": p.message} for p in problems],
                "revision": book.revision if book is not None and not problems else None,
                "groups": len(book.groups) if book is not None else None,
                "policies": len(book.policies) if book is not None else None,
            }
        )
    elif problems:
        for p in problems:
            click.echo(f"{p.path or rules}: {p.message}")
        _echo_err(_t(locale, "check_bad", file=rules, n=len(problems)))
    else:
        assert book is not None
        click.echo(
            _t(
                locale,
                "check_ok",
                file=rules,
                groups=len(book.groups),
                policies=len(book.policies),
                revision=book.revision,
            )
        )
    if problems:
        raise click.exceptions.Exit(EXIT_USER)


@_command(main, short_help="Print the rule book's JSON Schema.")
def schema(as_json: bool, locale: str) -> None:
    """Print the rule book's JSON Schema (for editors: yaml-language-server, VS Code).

    The output is JSON with or without --json.
    """
    click.echo(json.dumps(rule_book_schema(), ensure_ascii=False, indent=2))


# -- ingest ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    """One input record: where it came from, what it said, and what we made of it."""

    file: str
    line: int
    raw: Any
    record: dict[str, Any] | None
    problems: tuple[str, ...] = ()


_EVENT_FIELDS = ("id", "kind", "member", "group", "at", "value", "data")


def _physical_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The lines of a file as bytes, numbered from 1, without their line break; a line
    longer than MAX_RECORD_SIZE is cut there (the reader rejects it) and the rest of it
    skipped, so one huge line never sits in memory."""
    with path.open("rb") as f:
        number = 0
        while True:
            raw = f.readline(MAX_RECORD_SIZE + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_RECORD_SIZE and not raw.endswith(b"\n"):
                while (rest := f.readline(1 << 16)) and not rest.endswith(b"\n"):
                    pass
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            yield number, raw.rstrip(b"\r\n")


def _decoded_lines(path: Path) -> Iterator[tuple[int, str | None, _Line | None]]:
    """Each line as text, or a rejected :class:`_Line` saying why it is not (too long,
    not UTF-8): one bad line never costs the others."""
    for number, raw in _physical_lines(path):
        if len(raw) > MAX_RECORD_SIZE:
            problem = f"the line is longer than {MAX_RECORD_SIZE:,} bytes (the limit for one record)"
            shown = raw[:200].decode("utf-8", "replace")
            yield number, None, _Line(str(path), number, shown, None, (problem,))
            continue
        try:
            yield number, raw.decode("utf-8"), None
        except UnicodeDecodeError as exc:
            problem = f"not UTF-8 text: {exc.reason} at byte {exc.start + 1} of the line"
            shown = raw.decode("utf-8", "backslashreplace")
            yield number, None, _Line(str(path), number, shown, None, (problem,))


def _looks_like_json_lines(path: Path) -> bool:
    """True if the first line with text starts a JSON object, whatever the file's name."""
    for _, raw in _physical_lines(path):
        text = raw.strip()
        if text:
            return text.startswith(b"{")
    return False


def _read_records(path: Path) -> Iterator[_Line]:
    """Records of a JSON Lines or CSV file. The content decides: a file whose first
    line starts with ``{`` is JSON Lines even if it is named ``.csv``; otherwise a
    ``.csv`` file is CSV and any other JSON Lines."""
    if path.suffix.lower() == ".csv" and not _looks_like_json_lines(path):
        yield from _read_csv(path)
    else:
        yield from _read_jsonl(path)


def _read_jsonl(path: Path) -> Iterator[_Line]:
    for number, text, bad in _decoded_lines(path):
        if bad is not None:
            yield bad
            continue
        assert text is not None
        text = text.strip()
        if not text:
            continue
        try:
            data = parse_json_record(text)
        except InputError as exc:
            yield _Line(str(path), number, text, None, tuple(map(str, exc.problems)))
            continue
        if not isinstance(data, dict):
            problem = f"expected an event or member object, got {type(data).__name__}"
            yield _Line(str(path), number, data, None, (problem,))
            continue
        yield _Line(str(path), number, data, data)


def _split_labels(text: str) -> list[str]:
    sep = "|" if "|" in text else ";"
    return [x.strip() for x in text.split(sep) if x.strip()]


def _csv_row(text: str) -> list[str]:
    """One CSV record from one line (strict: an unclosed quote is an error, never a
    field that runs on into the next line)."""
    return next(csv.reader([text], strict=True), [])


def _read_csv(path: Path) -> Iterator[_Line]:
    header: list[str] | None = None
    no_header = ""  # why the header line is unusable: then every record is rejected
    for number, text, bad in _decoded_lines(path):
        if bad is None:
            assert text is not None
            if not text.strip():
                continue
            try:
                row = _csv_row(text)
            except csv.Error as exc:
                problem = f"not valid CSV: {exc} (a record is one line; a quoted field must close on it)"
                bad = _Line(str(path), number, text, None, (problem,))
        if header is None and not no_header:
            if bad is not None:
                no_header = f"the header (line {number}) is unusable: {'; '.join(bad.problems)}"
                yield bad
            else:
                header = [h.strip() for h in row]
            continue
        if bad is not None:
            yield bad
            continue
        if header is None:
            yield _Line(str(path), number, text, None, (no_header,))
            continue
        raw = dict(zip(header, row, strict=False))
        if len(row) != len(header):
            problem = f"has {len(row)} fields; the header has {len(header)} ({','.join(header)})"
            yield _Line(str(path), number, row, None, (problem,))
            continue
        record, problems = _csv_record(raw)
        yield _Line(str(path), number, raw, record if not problems else None, tuple(problems))


_JSON_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")


def _csv_record(raw: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """A CSV row as an event (it has a kind) or a member; empty cells are absent.

    CSV cells are all text, so the columns that are not are converted here, explicitly,
    before validation: ``value`` must be written as a number (``12``, ``-3.5``,
    ``1e3``); ``data`` and ``attributes`` are JSON objects; ``labels`` are separated by
    ``|`` or ``;``. Everything else (``at`` included) stays text."""
    record: dict[str, Any] = {k: v.strip() for k, v in raw.items() if k and v.strip() != ""}
    problems: list[str] = []
    is_event = "kind" in record
    if is_event and "value" in record:
        if _JSON_NUMBER.match(record["value"]):
            record["value"] = float(record["value"])
        else:
            problems.append(f"value: {record['value']!r} is not a number like 12 or 2.5")
    for key in ("data", "attributes"):
        if key in record:
            try:
                record[key] = parse_json_record(record[key])
            except InputError as exc:
                problems.extend(f"{key}: {p.message}: {record[key][:200]!r}" for p in exc.problems)
    if not is_event and "labels" in record:
        record["labels"] = _split_labels(record["labels"])
    return record, problems


def _rejects_path(files: Sequence[Path], rejects: Path | None) -> Path:
    return rejects if rejects is not None else files[0].with_name(files[0].name + ".rejects.jsonl")


def _count_lines(files: Sequence[Path]) -> int:
    total = 0
    for path in files:
        with path.open("rb") as f:
            total += sum(1 for _ in f)
    return total


_db_option = click.option(
    "--db",
    required=True,
    metavar="STORE",
    help="The store: a SQLite file (x.db), sqlite:///x.db, or a plugin's URL.",
)
_rules_option = click.option(
    "--rules",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The rule book (YAML, JSON or TOML).",
)


@_command(main, short_help="Store events and members from JSON Lines or CSV files.")
@_db_option
@click.option(
    "--rules",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A rule book (optional: its plugins and time zone are used if given).",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write rejected records [default: FIRST-FILE.rejects.jsonl].",
)
@click.option(
    "--batch", type=click.IntRange(1), default=1000, show_default=True, help="Records per transaction."
)
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def ingest(
    db: str,
    rules: Path | None,
    rejects: Path | None,
    batch: int,
    files: tuple[Path, ...],
    as_json: bool,
    locale: str,
) -> None:
    """Store events and member profiles from FILES: JSON Lines, or CSV (*.csv).

    \b
    A record with a "kind" is an event, any other a member profile:
      {"id": "e1", "kind": "checkin", "member": "m1", "group": "camp-7",
       "at": "2026-11-20T08:00:00+08:00", "value": 1, "data": {}}
      {"id": "m1", "name": "Wang Fang", "labels": ["A"], "attributes": {"city": "杭州"},
       "source": "sales", "referrer": "m2"}

    CSV files have a header row (id,kind,member,group,at,value,data for events;
    id,name,labels,attributes,source,referrer for members, or all of them with kind
    empty on member rows). Empty cells are absent; value must be a number; data and
    attributes are JSON; labels are separated by | or ;. A record is one line. A file
    whose first line starts with { is read as JSON Lines, whatever its name.

    Types are strict: value is a number, at an ISO 8601 time with an offset between
    1970 and 2200. A bad line (not UTF-8, not JSON, an unclosed CSV quote, over 1 MiB, a
    bad record) is set aside, with its file, line and reasons, in the rejects file, and
    the rest is stored: the exit code is 0 when everything good was stored. With --rules,
    an event naming a group the rule book does not know is a bad record; without it,
    the groups events name are listed (none can be checked). Re-ingesting
    an event id is a no-op. A progress bar is shown when stderr is a terminal.
    """
    book = _load_book(rules) if rules is not None else RuleBook(groups=(Group(id="_"),))
    rejects_path = _rejects_path(files, rejects)
    rejected: list[dict[str, Any]] = []
    report = IngestReport()
    show_bar = not as_json and sys.stderr.isatty()
    with contextlib.ExitStack() as stack:
        engine = stack.enter_context(Engine(book, store=db))
        bar = (
            stack.enter_context(
                click.progressbar(length=_count_lines(files), label=_t(locale, "ingesting"), file=sys.stderr)
            )
            if show_bar
            else None
        )
        pending: list[_Line] = []
        last_line: dict[str, int] = {}

        def flush() -> None:
            nonlocal report
            if not pending:
                return
            # with a book, an event naming a group it does not know is rejected like any
            # bad record; without one, such groups are listed in the report
            result = engine.ingest(
                [ln.record for ln in pending if ln.record is not None], check_groups=rules is not None
            )
            good = [ln for ln in pending if ln.record is not None]
            for r in result.rejected:
                ln = good[r.index]
                rejected.append(
                    {"file": ln.file, "line": ln.line, "record": ln.raw, "problems": list(r.problems)}
                )
            report = report.merge(result.model_copy(update={"rejected": ()}))
            if bar is not None:
                bar.update(sum(max(0, ln.line - last_line.get(ln.file, 0)) for ln in _last_per_file(pending)))
                for ln in _last_per_file(pending):
                    last_line[ln.file] = ln.line
            pending.clear()

        for path in files:
            for ln in _read_records(path):
                if ln.problems:
                    rejected.append(
                        {"file": ln.file, "line": ln.line, "record": ln.raw, "problems": list(ln.problems)}
                    )
                pending.append(ln)
                if len(pending) >= batch:
                    flush()
        flush()
    rejected.sort(key=lambda r: (files.index(Path(r["file"])) if Path(r["file"]) in files else 0, r["line"]))
    if rejected:
        with rejects_path.open("w", encoding="utf-8") as f:
            for r in rejected:
                f.write(_json_text(r) + "\n")
    stored = report.events + report.members
    all_rejected = bool(rejected) and stored == 0 and not report.duplicates
    if as_json:
        _emit_json(
            {
                "ok": not all_rejected,
                "files": [str(p) for p in files],
                "events": report.events,
                "members": report.members,
                "duplicates": len(report.duplicates),
                "rejected": len(rejected),
                "rejects_file": str(rejects_path) if rejected else None,
                "rejects": rejected,
                "unknown_groups": list(report.unknown_groups),
            }
        )
    else:
        dups = _t(locale, "ingest_dups", n=len(report.duplicates)) if report.duplicates else ""
        click.echo(
            _t(
                locale,
                "ingest_done",
                events=report.events,
                members=report.members,
                files=len(files),
                dups=dups,
            )
        )
        if rejected:
            for r in rejected[:5]:
                _echo_err(f"  {r['file']}:{r['line']}: {'; '.join(r['problems'])}")
            if len(rejected) > 5:
                _echo_err(_t(locale, "ingest_more", n=len(rejected) - 5))
            key = "ingest_all_rejected" if all_rejected else "ingest_rejected"
            click.echo(_t(locale, key, n=len(rejected), path=rejects_path))
        if report.unknown_groups:
            groups = ", ".join(report.unknown_groups)
            click.echo(_t(locale, "ingest_unknown_groups", n=len(report.unknown_groups), groups=groups))
    if all_rejected:
        raise click.exceptions.Exit(EXIT_USER)


def _last_per_file(lines: Sequence[_Line]) -> list[_Line]:
    last: dict[str, _Line] = {}
    for ln in lines:
        last[ln.file] = ln
    return list(last.values())


# -- run ---------------------------------------------------------------------------------


_AT_HELP = "The time to run at, ISO 8601 [default: now]. Without an offset: the rule book's time zone."


@_command(main, short_help="Make the decisions due, record them, deliver messages.")
@_db_option
@_rules_option
@click.option("--at", "at_text", metavar="ISO-TIME", help=_AT_HELP)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Decide and print, but record and deliver nothing (the database is opened read-only).",
)
def run(db: str, rules: Path, at_text: str | None, dry_run: bool, as_json: bool, locale: str) -> None:
    """Make every decision due at --at, record it, deliver its messages, and print a
    table of the decisions with their reasons.

    Every trigger since the last run (scheduled times, events) is caught up in time order.
    Messages go through the plugins the rule book's groups name (the built-in console
    messenger writes them to stderr here, so stdout stays a clean table or JSON).
    --dry-run previews a period: nothing is recorded or delivered.
    """
    book = _load_book(rules)
    at = _parse_at(at_text, book.tz)
    with _open_engine(book, db, must_exist=True, locale=locale, read_only=dry_run) as engine:
        report = engine.run(at, dry_run=dry_run)
        delivery = None
        if not dry_run:
            # the console messenger prints to stdout; keep stdout for the table / JSON
            with contextlib.redirect_stdout(sys.stderr):
                delivery = engine.deliver(at)
        names = _profiles(engine)
    counts = report.by_action()
    if as_json:
        _emit_json(
            {
                "at": report.at.isoformat(),
                "dry_run": dry_run,
                "revision": report.revision,
                "counts": dict(_ordered(counts)),
                "decisions": [decision_json(d, names, locale) for d in report.decisions],
                "delivery": None
                if delivery is None
                else {
                    "delivered": len(delivery.delivered),
                    "retrying": len(delivery.retrying),
                    "held": len(delivery.held),
                    "dead": len(delivery.dead),
                },
                "failures": [f.model_dump() for f in report.failures],
            }
        )
        _exit_on_failures(report, locale)
        return
    shown_at = report.at.strftime("%Y-%m-%d %H:%M %Z")
    if report.decisions:
        click.echo(_decision_table(report.decisions, names, locale, time_format="%Y-%m-%d %H:%M"))
        click.echo("")
    if dry_run:
        click.echo(_t(locale, "run_dry", at=shown_at, n=len(report.decisions)))
    elif not report.decisions:
        click.echo(_t(locale, "run_none", at=shown_at))
    else:
        click.echo(
            _t(locale, "run_done", at=shown_at, n=len(report.decisions), counts=_counts_text(counts, locale))
        )
    if delivery is not None and (delivery.delivered or delivery.retrying or delivery.held or delivery.dead):
        click.echo(
            _t(
                locale,
                "delivery",
                delivered=len(delivery.delivered),
                retrying=len(delivery.retrying),
                held=len(delivery.held),
                dead=len(delivery.dead),
            )
        )
    _exit_on_failures(report, locale)


def _exit_on_failures(report: RunReport, locale: str) -> None:
    """Name on stderr each plugin that failed during the run, and exit 1 if any did:
    everything else was recorded and delivered; the next run asks those plugins again."""
    for failure in report.failures:
        _echo_err(f"groupops: {_t(locale, 'internal')}: {terminal_safe(str(failure))}")
    if report.failures:
        click.get_current_context().exit(EXIT_INTERNAL)


# -- diff --------------------------------------------------------------------------------


def _preview(book: RuleBook, db: str, at: datetime, locale: str) -> list[Decision]:
    with _open_engine(book, db, must_exist=True, locale=locale, read_only=True) as engine:
        return list(engine.run(at, dry_run=True).decisions)


def _key(d: Decision) -> tuple[str, str | None, str | None]:
    return (d.action, d.member, d.group)


@_command(main, short_help="Compare the decisions of two rule books on the same data.")
@_db_option
@click.option("--at", "at_text", metavar="ISO-TIME", help=_AT_HELP)
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def diff(db: str, at_text: str | None, old: Path, new: Path, as_json: bool, locale: str) -> None:
    """Before a rule change goes live: who would be invited, noticed, evicted, spared,
    revived, promoted or demoted under NEW and not under OLD, and the reverse.

    Both books are run at the same --at against the same data, as dry runs: nothing is
    recorded. Decisions are matched by (action, member, group), so renamed policies
    still match. Prints both directions with reasons and counts.
    """
    old_book, new_book = _load_book(old), _load_book(new)
    at = _parse_at(at_text, new_book.tz)
    before = _preview(old_book, db, at, locale)
    after = _preview(new_book, db, at, locale)
    old_keys, new_keys = {_key(d) for d in before}, {_key(d) for d in after}
    only_new = [d for d in after if _key(d) not in old_keys]
    only_old = [d for d in before if _key(d) not in new_keys]
    same = len(old_keys & new_keys)
    with _open_engine(new_book, db, must_exist=True, locale=locale, read_only=True) as engine:
        names = _profiles(engine)
    new_counts = dict(_ordered(Counter(d.action for d in only_new)))
    old_counts = dict(_ordered(Counter(d.action for d in only_old)))
    if as_json:
        _emit_json(
            {
                "at": at.isoformat(),
                "old": str(old),
                "new": str(new),
                "only_new": [decision_json(d, names, locale) for d in only_new],
                "only_old": [decision_json(d, names, locale) for d in only_old],
                "counts": {"only_new": new_counts, "only_old": old_counts, "same": same},
            }
        )
        return
    for key, book_path, decisions, counts in (
        ("diff_only_new", new, only_new, new_counts),
        ("diff_only_old", old, only_old, old_counts),
    ):
        click.echo(_t(locale, key, book=book_path, n=len(decisions), counts=_counts_text(counts, locale)))
        if decisions:
            table = _decision_table(decisions, names, locale, time_format="%Y-%m-%d %H:%M")
            click.echo("\n".join("  " + line for line in table.splitlines()))
        click.echo("")
    click.echo(_t(locale, "diff_same", n=same))


# -- explain -----------------------------------------------------------------------------


def _explain_targets(
    engine: Engine, member: str, group: str | None, policy: str | None
) -> list[tuple[str, str]]:
    """The (group, policy) pairs to explain for a member."""
    book = engine.book
    memberships = [ms.group for ms in engine.store.memberships(member=member)]
    if group is not None:
        book.group(group)
    if policy is not None:
        p = book.policy(policy)
        groups = [group] if group is not None else [g for g in p.group_ids() if g in memberships]
        return [(g, p.id) for g in (groups or list(p.group_ids()[:1]))]
    pairs: list[tuple[str, str]] = []
    for g in [group] if group is not None else memberships:
        for p in book.policies:
            if g in p.group_ids():
                pairs.append((g, p.id))
    return pairs


def _membership_line(ms: Membership | None, locale: str, tz: tzinfo) -> str:
    if ms is None:
        return _t(locale, "explain_no_ms")
    status = membership_status_text(ms.status, locale)
    if ms.evicted_at is not None and ms.status == "evicted":
        status += " " + ms.evicted_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    joined = ms.joined_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return _t(locale, "explain_ms", role=ms.role, status=status, joined=joined)


def _render_explain(r: ExplainReport, who: str, ms: Membership | None, locale: str, tz: tzinfo) -> str:
    lines = [
        _t(
            locale,
            "explain_head",
            member=who,
            group=r.group,
            policy=r.policy,
            type=policy_type_text(r.policy_type, locale),
            at=r.at.isoformat(),
        ),
        "  " + _membership_line(ms, locale, tz),
    ]
    colon = "：" if locale == "zh" else ": "
    for s in r.sections:
        lines.append(f"  {s.title_text(locale)}{colon.rstrip()}")
        lines.append(s.explanation.render(locale, indent="  ").replace("\n", "\n    ").join(["    ", ""]))
    lines.extend(f"  {_t(locale, 'note')}{colon}{n.text(locale)}" for n in r.notes)
    return "\n".join(lines)


@_command(main, short_help="Show one member's requirement table, met or not.")
@_db_option
@_rules_option
@click.option("--group", help="Only this group [default: every group the member is in].")
@click.option("--policy", help="Only this policy [default: every policy of those groups].")
@click.option("--at", "at_text", metavar="ISO-TIME", help=_AT_HELP)
@click.argument("member")
def explain(
    db: str,
    rules: Path,
    group: str | None,
    policy: str | None,
    at_text: str | None,
    member: str,
    as_json: bool,
    locale: str,
) -> None:
    """The requirement table for MEMBER: for each policy of each group they are in,
    every requirement, the observed value, and ✓ met or ✗ not.
    """
    book = _load_book(rules)
    at = _parse_at(at_text, book.tz)
    with _open_engine(book, db, must_exist=True, locale=locale, read_only=True) as engine:
        targets = _explain_targets(engine, member, group, policy)
        if not targets:
            if engine.store.get_member(member) is None and not engine.store.memberships(member=member):
                raise UserError(f"unknown member {member!r}")
            raise UserError(
                f"no policy in {str(rules)!r} covers a group that {member!r} is in; pass --policy"
            )
        reports = [(g, engine.explain(member, g, p, at)) for g, p in targets]
        memberships = {g: engine.store.get_membership(member, g) for g, _ in targets}
        names = _profiles(engine)
    if as_json:
        _emit_json(
            [
                {
                    **r.model_dump(mode="json"),
                    "notes": [{**n.model_dump(mode="json"), "text": n.text(locale)} for n in r.notes],
                    "sections": [
                        {
                            "kind": s.kind,
                            "title": s.title_text(locale),
                            "explanation": s.explanation.to_json(),
                            "text": s.explanation.render(locale),
                        }
                        for s in r.sections
                    ],
                    "membership": ms.model_dump(mode="json") if (ms := memberships[g]) is not None else None,
                }
                for g, r in reports
            ]
        )
        return
    who = _who(member, names)
    click.echo("\n\n".join(_render_explain(r, who, memberships[g], locale, book.tz) for g, r in reports))


# -- groups ------------------------------------------------------------------------------


class _Discard(Exception):
    """Raised to roll back a transaction whose writes were only to look at."""


def _group_rows(store: Store, tz: tzinfo | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for g in store.groups():
        present = sum(1 for ms in store.memberships(group=g.id) if ms.present)
        end = g.term.end(tz) if g.term is not None else None
        ends_at = g.ends_at
        if tz is not None:  # shown in the book's zone; else in the offset each was written with
            end = end.astimezone(tz) if end is not None else None
            ends_at = ends_at.astimezone(tz) if ends_at is not None else None
        rows.append(
            {
                "id": g.id,
                "name": g.name,
                "kind": g.kind,
                "family": g.family,
                "status": g.status,
                "present": present,
                "capacity": g.capacity,
                "term_end": end,
                "ends_at": ends_at,
            }
        )
    return rows


@_command(main, short_help="List the groups in the store with their state.")
@_db_option
@click.option(
    "--rules",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The rule book: its groups are shown as the next run will seed them (nothing is "
    "written), term ends in its time zone.",
)
def groups(db: str, rules: Path | None, as_json: bool, locale: str) -> None:
    """Every group the store keeps (seeded from the rule book, or created at run time):
    id, name, kind, family, status (open, closed, dissolved), present members /
    capacity, and when its term ends. The database is opened read-only.
    """
    from ._groups import seed_groups

    book = _load_book(rules) if rules is not None else None
    path = sqlite_path(db)
    if path is not None and not Path(path).exists():
        raise UserError(_t(locale, "no_db", db=db))
    store: Store
    if book is not None:
        store = _open_engine(book, db, must_exist=True, locale=locale, read_only=True).store
    elif path is not None:
        store = SQLiteStore(path, read_only=True)
    else:
        raise UserError(_t(locale, "groups_need_rules", db=db))
    rows: list[dict[str, Any]] = []
    try:
        with contextlib.suppress(_Discard), store.transaction():
            if book is not None:
                # what the next run would seed, rolled back: never written (a SQLite file
                # is open read-only anyway; a plugin's store may not be)
                seed_groups(store, book, _parse_at(None, book.tz))
            rows = _group_rows(store, book.tz if book is not None else None)
            raise _Discard
    finally:
        store.close()
    if as_json:
        _emit_json(rows)
        return
    if not rows:
        click.echo(_t(locale, "groups_none", db=db))
        return

    def members(r: Mapping[str, Any]) -> str:
        return f"{r['present']}/{r['capacity']}" if r["capacity"] is not None else str(r["present"])

    def when(r: Mapping[str, Any]) -> str:
        end = r["term_end"] or r["ends_at"]
        return end.strftime("%Y-%m-%d %H:%M") if end is not None else ""

    columns = ("id", "name", "kind", "family", "status", "members", "term_end")
    headers = [_t(locale, f"col_{c}") for c in columns]
    body = [
        [r["id"], r["name"], r["kind"], r["family"] or "", _t(locale, r["status"]), members(r), when(r)]
        for r in rows
    ]
    click.echo(_table(headers, [[terminal_safe(c) for c in row] for row in body], right=[5]))


# -- report ------------------------------------------------------------------------------


def _parse_mix(value: str) -> dict[str, float]:
    from ._report import ROLE_BUCKETS

    parts = [p.strip().rstrip("%") for p in value.split(",")]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) != len(ROLE_BUCKETS) or any(not 0 <= n < float("inf") for n in numbers):
        raise click.BadParameter(
            f"{value!r}: give {len(ROLE_BUCKETS)} percentages for {', '.join(ROLE_BUCKETS)}, "
            "like 4,6,8,10,72",
            param_hint="'--target-mix'",
        )
    if abs(sum(numbers) - 100.0) > 0.01:
        raise click.BadParameter(
            f"{value!r} sums to {sum(numbers):g} %, not 100 %: give the shares of one group, "
            "like 4,6,8,10,72",
            param_hint="'--target-mix'",
        )
    return dict(zip(ROLE_BUCKETS, numbers, strict=True))


@_command(main, short_help="Write a self-contained HTML report with charts.")
@_db_option
@_rules_option
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The HTML file to write."
)
@click.option(
    "--at",
    "at_text",
    metavar="ISO-TIME",
    help="The report's 'now' [default: the latest event or run in the database].",
)
@click.option(
    "--target-mix",
    default="4,6,8,10,72",
    show_default=True,
    help="Target role mix in percent, summing to 100: guests, lecturers, KOLs, active, ordinary.",
)
@click.option("--title", default=None, help="The report's title.")
def report(
    db: str,
    rules: Path,
    out: Path,
    at_text: str | None,
    target_mix: str,
    title: str | None,
    as_json: bool,
    locale: str,
) -> None:
    """Write one self-contained HTML report (inline SVG charts, no scripts, nothing
    fetched): acquisition → activation → retention → conversion per source channel, role
    composition of each group against a target mix, and notices / evictions / revivals
    per week, each chart with its numbers beside it.
    """
    from ._report import collect, render_html, report_json

    book = _load_book(rules)
    mix = _parse_mix(target_mix)
    at = _parse_at(at_text, book.tz) if at_text is not None else None
    with _open_engine(book, db, must_exist=True, locale=locale, read_only=True) as engine:
        data = collect(engine.store, book, at=at, target_mix=mix, title=title)
    out.write_text(render_html(data, locale=locale), encoding="utf-8")
    if as_json:
        _emit_json({"out": str(out), **report_json(data)})
        return
    click.echo(
        _t(
            locale,
            "report_done",
            out=out,
            charts=data.chart_count,
            members=data.members,
            periods=len(data.periods),
            at=data.at.strftime("%Y-%m-%d %H:%M"),
        )
    )
