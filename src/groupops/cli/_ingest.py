"""``groupops ingest``: store events and members from JSON Lines or CSV files, setting
bad records aside in a rejects file."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from .._engine import Engine
from .._model import Group
from .._records import InputRecord, read_records
from .._reports import IngestReport
from ..rules._book import RuleBook
from ._common import (
    _FILE,
    EXIT_USER,
    _db_option,
    _echo_err,
    _emit_json,
    _json_text,
    _load_book,
    _optional_rules_option,
    command,
)
from ._labels import _t


def _rejects_path(files: Sequence[Path], rejects: Path | None) -> Path:
    return rejects if rejects is not None else files[0].with_name(files[0].name + ".rejects.jsonl")


def _count_lines(files: Sequence[Path]) -> int:
    total = 0
    for path in files:
        with path.open("rb") as f:
            total += sum(1 for _ in f)
    return total


@command(short_help="Store events and members from JSON Lines or CSV files.")
@_db_option
@_optional_rules_option("A rule book (optional: its plugins and time zone are used if given).")
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write rejected records [default: FIRST-FILE.rejects.jsonl].",
)
@click.option(
    "--batch", type=click.IntRange(1), default=1000, show_default=True, help="Records per transaction."
)
@click.argument("files", nargs=-1, required=True, type=_FILE)
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
        pending: list[InputRecord] = []
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
            for ln in read_records(path):
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


def _last_per_file(lines: Sequence[InputRecord]) -> list[InputRecord]:
    last: dict[str, InputRecord] = {}
    for ln in lines:
        last[ln.file] = ln
    return list(last.values())
