"""``groupops report``: one self-contained HTML report with charts and their numbers."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import _db_option, _emit_json, _load_book, _open_engine, _parse_at, _rules_option, command
from ._labels import _t


def _parse_mix(value: str) -> dict[str, float]:
    from .._report import ROLE_BUCKETS

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


@command(short_help="Write a self-contained HTML report with charts.")
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
    from .._report import collect, report_json
    from .._report_html import render_html

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
