"""Runs docs/cli.md: every ```console block's commands, in order, in one empty directory.

Conventions in the page:

- ``<!-- file: NAME -->`` right before a fenced block: the block is written to NAME.
- ``<!-- derive: NEW from OLD -->`` right before a ```diff block: NEW is OLD with each hunk
  (``-`` lines, then ``+`` lines) replaced; each ``-`` hunk must occur exactly once.
- In a ```console block, ``$ groupops ...`` is a command (run by the shell, with the
  installed script first on PATH); it must exit 0, or N when the line ends with
  ``# exits N``. The lines after it are output: each must appear, in order, among the
  lines the command printed (in stdout or in stderr, runs of spaces compared as one);
  ``…`` stands for lines left out.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

DOC = Path(__file__).parent.parent / "docs" / "cli.md"
BIN = Path(sys.executable).parent
HAS_DUCKDB = all(importlib.util.find_spec(m) is not None for m in ("duckdb", "sqlglot", "pyarrow"))
NO_DUCKDB = "the duckdb extra is not installed: pip install 'groupops[duckdb]'"

_FENCE = re.compile(r"(?:<!-- (file|derive): (.+?) -->\n)?```(\w*)\n(.*?)```", re.S)


@dataclass
class Command:
    line: str
    exit_code: int
    expected: list[str] = field(default_factory=list)


def _commands(block: str) -> list[Command]:
    out: list[Command] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            text = line[2:]
            code = 0
            m = re.search(r"\s+# exits (\d+)$", text)
            if m:
                text, code = text[: m.start()], int(m.group(1))
            out.append(Command(text, code))
        elif out:
            out[-1].expected.append(line)
    return out


def _norm(line: str) -> str:
    return " ".join(line.split())


def _check_output(cmd: Command, stdout: str, stderr: str) -> None:
    """Each expected line appears in stdout or stderr, in order within its stream (a
    terminal interleaves the two as they are written)."""
    streams = [[_norm(ln) for ln in text.splitlines()] for text in (stdout, stderr)]
    cursors = [0, 0]
    for want in (_norm(x) for x in cmd.expected):
        if not want or want == "…":
            continue
        for i, lines in enumerate(streams):
            if want in lines[cursors[i] :]:
                cursors[i] = lines.index(want, cursors[i]) + 1
                break
        else:
            raise AssertionError(
                f"{cmd.line!r} did not print (in order):\n  {want}\n\nstdout:\n{stdout}\nstderr:\n{stderr}"
            )


def _derive(spec: str, diff: str, cwd: Path) -> None:
    m = re.fullmatch(r"(\S+) from (\S+)", spec.strip())
    assert m, spec
    new, old = m.groups()
    text = (cwd / old).read_text(encoding="utf-8")
    hunks: list[tuple[list[str], list[str]]] = []
    for line in diff.splitlines():
        sign, body = line[:1], line[1:]
        if sign == "-":
            if not hunks or hunks[-1][1]:
                hunks.append(([], []))
            hunks[-1][0].append(body)
        elif sign == "+":
            hunks[-1][1].append(body)
    for minus, plus in hunks:
        before, after = "\n".join(minus) + "\n", "\n".join(plus) + "\n"
        assert text.count(before) == 1, f"{old} does not hold exactly one:\n{before}"
        text = text.replace(before, after)
    (cwd / new).write_text(text, encoding="utf-8")


def test_every_example_in_docs_cli_md_runs(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "GROUPOPS_LOCALE"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUTF8"] = "1"
    ran = 0
    for m in _FENCE.finditer(DOC.read_text(encoding="utf-8")):
        directive, target, lang, body = m.groups()
        if directive == "file":
            (tmp_path / target).write_text(body, encoding="utf-8")
        elif directive == "derive":
            _derive(target, body, tmp_path)
        elif lang == "console":
            for cmd in _commands(body):
                assert cmd.line.startswith("groupops "), cmd.line
                if "--engine duckdb" in cmd.line and not HAS_DUCKDB:
                    warnings.warn(f"not run: {cmd.line!r}: {NO_DUCKDB}", stacklevel=1)
                    continue
                proc = subprocess.run(
                    ["bash", "-c", cmd.line],
                    cwd=tmp_path,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert proc.returncode == cmd.exit_code, (cmd.line, proc.returncode, proc.stderr[-2000:])
                assert "Traceback" not in proc.stderr, (cmd.line, proc.stderr)
                _check_output(cmd, proc.stdout, proc.stderr)
                ran += 1
    assert ran >= 10
    assert (tmp_path / "report.html").read_text(encoding="utf-8").count("<svg") == 6
    assert (tmp_path / "rulebook.schema.json").stat().st_size > 1000


def test_docs_cli_md_shows_the_report_screenshot():
    text = DOC.read_text(encoding="utf-8")
    assert "](report.png)" in text
    png = DOC.parent / "report.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_docs_cli_md_covers_every_command():
    from groupops.cli import main

    text = DOC.read_text(encoding="utf-8")
    for name in main.list_commands(None):  # type: ignore[arg-type]
        assert f"## groupops {name}" in text, name
    for code in ("| 0 |", "| 1 |", "| 2 |"):
        assert code in text
