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


def _run_as_a_user(example, cwd):
    """pytest on ``example`` with Hypothesis' default settings (every health check on,
    too_slow included), as a user runs it: not our conftest, not our profiles."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("HYPOTHESIS_PROFILE", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(example)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_example_passes_under_pytest(tmp_path):
    result = _run_as_a_user(EXAMPLE, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_the_membership_example_is_shown_verbatim_and_passes_under_pytest(tmp_path):
    example = DOCS / "examples" / "test_membership_limits.py"
    page = (DOCS / "testing.md").read_text(encoding="utf-8")
    assert example.read_text(encoding="utf-8") in re.findall(r"```python\n(.*?)```", page, flags=re.S)
    result = _run_as_a_user(example, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_example_passes_for_a_book_whose_groups_name_messengers(tmp_path):
    # a production book sends through the host's bots: the test engine stands in for them
    book = (DOCS.parent / "src" / "groupops" / "examples" / "community.yaml").read_text(encoding="utf-8")
    book = book.replace("kind: general, capacity: 100}", "kind: general, capacity: 100, messenger: tg}")
    book = book.replace("kind: paid}", "kind: paid, messenger: wecom}")
    assert book.count("messenger:") == 2
    (tmp_path / "rules.yaml").write_text(book, encoding="utf-8")
    code = EXAMPLE.read_text(encoding="utf-8")
    code = code.replace('go.example_path("community.yaml")', repr(str(tmp_path / "rules.yaml")))
    assert str(tmp_path) in code
    (tmp_path / "test_with_bots.py").write_text(code, encoding="utf-8")
    result = _run_as_a_user(tmp_path / "test_with_bots.py", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_the_page_installs_groupops_from_the_repository_not_an_index():
    # groupops is not published: "pip install 'groupops[testing]'" finds nothing (or
    # somebody else's package)
    page = (DOCS / "testing.md").read_text(encoding="utf-8")
    installs = [ln for ln in page.splitlines() if ln.lstrip("$ ").startswith("pip install")]
    assert installs
    for line in installs:
        assert re.search(r"pip install ['\"]?(/|\./|git\+|groupops\S* @ )", line), line
