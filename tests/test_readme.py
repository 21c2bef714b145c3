"""The README's example runs as shown, and its set-up commands are the ones CI runs."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_example_prints_what_its_comment_says(tmp_path):
    (code,) = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    promised = re.search(r"# (notice m1 .*)", code).group(1)
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True
    )
    lines = proc.stdout.splitlines()
    assert lines[0] == promised
    assert lines[1].startswith("[notice] camp-7 → m1: ")  # the built-in console messenger delivered it
    assert (tmp_path / "community.db").is_file()


def test_ci_runs_the_readme_test_command_after_installing_what_the_readme_installs():
    (setup,) = re.findall(r"## Set-up.*?```sh\n(.*?)```", README, flags=re.S)
    install, test = setup.strip().splitlines()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme_extras = set(re.search(r"-e '\.\[([a-z,]+)\]'", install).group(1).split(","))
    ci_extras = set(re.search(r"-e '\.\[([a-z,]+)\]'", ci).group(1).split(","))
    assert readme_extras <= ci_extras  # CI installs what the README does, and durable-rules
    assert "durable" in ci_extras and "durable" not in readme_extras  # the README's needs no compiler
    assert install.endswith("groupops demo")
    assert test.removeprefix(".venv/bin/python -m ") in ci.replace(".venv/bin/python -m ", "")
