"""The ``groupops`` command line: demo, check, schema, ingest, run, diff, explain, groups,
route, report, points, referrals.

This package is the edge of the library: it parses arguments, reads files, prints, and
turns errors into exit codes. It is the only place that may read the wall clock
(``--at`` defaults to now where a command has no better default).

Layout: one module per command (or family of commands: ``_check`` has check and schema);
``_common`` holds what they share (exit codes, the common options, JSON output, opening
the book and the store, decision tables); ``_labels`` the en/zh words; ``_records`` the
JSON Lines / CSV readers of ``ingest``.

Adding a command costs one module and one line here: write ``_mycommand.py`` with a
function decorated ``@command(short_help=...)`` from ``._common`` (it gets --json,
--locale, --verbose and the exit codes in its help; errors it raises become exit codes),
then add ``main.add_command(_mycommand.mycommand)`` below. ``--help`` lists commands
alphabetically, so the order of the lines does not matter.
"""

from __future__ import annotations

import click

from .. import __version__
from . import (
    _campaign,
    _check,
    _demo,
    _diff,
    _explain,
    _groups,
    _ingest,
    _ledger,
    _referrals,
    _report,
    _route,
    _run,
    _standing,
)
from ._common import EXIT_CODES, _Main

__all__ = ["main"]


@click.group(cls=_Main, epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="groupops")
def main() -> None:
    """Run a community's operating rules: who is invited, warned, evicted, revived or
    promoted, and why.

    Every command takes --json (machine output), --locale en|zh and --verbose. Times
    (--at) are ISO 8601; one without an offset is read in the rule book's time zone.
    """


# the commands: one line each (see the module docstring)
main.add_command(_campaign.campaign)
main.add_command(_check.check)
main.add_command(_check.schema)
main.add_command(_demo.demo)
main.add_command(_diff.diff)
main.add_command(_explain.explain)
main.add_command(_groups.groups)
main.add_command(_ingest.ingest)
main.add_command(_report.report)
main.add_command(_route.route)
main.add_command(_run.run)
main.add_command(_ledger.points)
main.add_command(_referrals.referrals)
main.add_command(_standing.standing)
