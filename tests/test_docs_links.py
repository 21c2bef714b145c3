"""Every file the docs cite is in the repository: relative links, and paths in backticks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_PATH = re.compile(r"`([\w./-]+/[\w.-]+\.(?:py|md|yaml|yml|toml|json|sh|png|html))`")


def _cited(page: Path) -> list[tuple[str, list[Path]]]:
    text = page.read_text(encoding="utf-8")
    out: list[tuple[str, list[Path]]] = []
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a URL or an anchor on the page
        out.append((target, [page.parent / target.split("#")[0]]))
    for path in _PATH.findall(text):
        # a path is written from the repository root, the package, or the page itself
        out.append(
            (path, [ROOT / path, ROOT / "src" / path, ROOT / "src" / "groupops" / path, page.parent / path])
        )
    return out


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_file_a_page_cites_exists(page):
    missing = [cited for cited, places in _cited(page) if not any(p.exists() for p in places)]
    assert missing == [], f"{page.name} cites files that are not in the repository: {missing}"
