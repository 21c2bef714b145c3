"""``groupops demo``: build a sample community in SQLite and narrate eight weeks of it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import click

from .._model import Member
from ._common import (
    UserError,
    _decision_rows,
    _emit_json,
    _ordered,
    _ordered_counters,
    _pad,
    _table,
    _width,
    command,
    decision_json,
    decision_reason,
)
from ._labels import _action, _t

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


@command(short_help="Build and run a deterministic sample community (8 weeks).")
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
    from .._demo import DEMO_START, DemoWeek, demo_book, demo_explain_target, demo_rules_text, run_demo

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
