"""What every command shares: exit codes, the error-to-exit-code group, the common
options (--json, --locale, --verbose, --db, --rules, --at), JSON output, opening the rule
book and the store, and the text tables of decisions."""

from __future__ import annotations

import contextlib
import json
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar

import click
import wcwidth

from .._decision import Decision
from .._engine import Engine
from .._errors import GroupOpsError, InputError, PluginError, Problem, RuleError
from .._i18n import locales
from .._model import EARLIEST_TIME, LATEST_TIME, Member
from ..plugins._urls import sqlite_path
from ..plugins.sqlite import SQLiteStore
from ..rules._book import RuleBook, load_rule_book
from ._labels import _action, _action_rank, _t

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
        type=click.Choice(list(locales())),
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


def command(**kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """A command with the common options and the exit codes in its help; register it
    on the group in ``groupops.cli`` (one line)."""

    def decorate(f: Callable[..., Any]) -> click.Command:
        make: Callable[[Callable[..., Any]], click.Command] = click.command(epilog=EXIT_CODES, **kwargs)
        return make(common(f))

    return decorate


# -- shared helpers --------------------------------------------------------------------


def _json_text(doc: Any, **options: Any) -> str:
    """JSON that can always be written as UTF-8: a lone surrogate (only a rejected
    record can hold one, and only inside a string) is written as its JSON escape."""
    text = json.dumps(doc, ensure_ascii=False, default=_json_default, **options)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _emit_json(doc: Any) -> None:
    click.echo(_json_text(doc, indent=2))


def _listed_plainly(rows: Sequence[Any], as_json: bool, none: str) -> bool:
    """For a command that lists rows: print them as JSON (``--json``), or ``none`` when
    there are none; False when the caller still has to draw them as a table."""
    if as_json:
        _emit_json(rows)
        return True
    if not rows:
        click.echo(none)
        return True
    return False


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _read_only_sqlite(db: str, locale: str) -> SQLiteStore:
    """The SQLite file ``--db`` names, opened read-only, for the running command, which
    reads only a SQLite file: :class:`UserError` for another store's URL or a file that
    is not there."""
    path = sqlite_path(db)
    if path is None:
        command = click.get_current_context().info_name
        raise UserError(f"--db {db!r}: {command} reads a SQLite file")
    if not Path(path).exists():
        raise UserError(_t(locale, "no_db", db=db))
    return SQLiteStore(path, read_only=True)


def _load_book(path: Path) -> RuleBook:
    return load_rule_book(path)


def _open_engine(
    book: RuleBook, db: str, *, must_exist: bool, locale: str, read_only: bool = False, facts: str = "store"
) -> Engine:
    """An engine on the store ``db``. ``must_exist``: a SQLite file that is not there is
    a user error, never silently created. ``read_only``: a SQLite file is opened
    read-only (nothing written, no write lock; see SQLiteStore). ``facts``: as
    :class:`~groupops.Engine` takes it."""
    path = sqlite_path(db)
    if path is None:
        return Engine(book, store=db, facts=facts)
    if must_exist and not Path(path).exists():
        raise UserError(_t(locale, "no_db", db=db))
    if read_only:
        return Engine(book, store=SQLiteStore(path, read_only=True), facts=facts)
    return Engine(book, store=db, facts=facts)


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
    """How many terminal columns ``text`` takes: CJK and emoji two, combining marks and
    joiners none, an emoji sequence joined by ZWJ as one emoji (wcwidth); a character a
    terminal does not print (a control) counts as none."""
    width = wcwidth.wcswidth(text)
    return width if width >= 0 else sum(max(0, wcwidth.wcwidth(c)) for c in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - _width(text))
    return fill + text if right else text + fill


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, right: Iterable[int] = ()) -> str:
    """Rows as aligned text columns, measured as a terminal draws them (:func:`_width`);
    the last column is left ragged."""
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
    if d.rank is not None:  # a vote's winner
        text = f"#{d.rank} {text}".rstrip()
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
        "rank": d.rank,
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


def _ordered_counters(by_action: Mapping[str, Counter[str]]) -> list[tuple[str, Counter[str]]]:
    rank = _action_rank()
    return sorted(by_action.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


_db_option = click.option(
    "--db",
    required=True,
    metavar="STORE",
    help="The store: a SQLite file (x.db), sqlite:///x.db, or a plugin's URL.",
)
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
"""An existing file (not a folder), as a Path: what the commands read rule books and
input files from."""
_rules_option = click.option("--rules", required=True, type=_FILE, help="The rule book (YAML, JSON or TOML).")


def _optional_rules_option(help: str) -> Callable[[F], F]:
    """``--rules`` for a command that reads a rule book only when given one (``help``
    says what the command takes from it)."""
    return click.option("--rules", type=_FILE, help=help)


_AT_HELP = "The time to run at, ISO 8601 [default: now]. Without an offset: the rule book's time zone."
_at_option = click.option("--at", "at_text", metavar="ISO-TIME", help=_AT_HELP)
