"""docs/testing.md's example is docs/examples/test_my_rule_book.py, shown verbatim, and it
passes when pytest runs it as a user would."""

import os
import re
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
EXAMPLE = DOCS / "examples" / "test_my_rule_book.py"


def test_the_page_shows_the_example_file_verbatim():
    page = (DOCS / "testing.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    assert EXAMPLE.read_text(encoding="utf-8") in blocks


def test_the_example_is_ten_lines_of_test():
    code = [
        line
        for line in EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith(("from ", "import "))
    ]
    first_test = code[: code.index("@given(histories(book=BOOK))", 1)]
    assert len(first_test) <= 10


def test_the_example_passes_under_pytest(tmp_path):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("HYPOTHESIS_PROFILE", None)  # the user's defaults, not our profiles
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
