"""Every recipe in docs/recipes/ runs: its ```python blocks in order, in one namespace, in
a scratch directory (so the files it writes land nowhere near the repository)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

RECIPES = sorted((Path(__file__).resolve().parents[1] / "docs" / "recipes").glob("*.md"))
_PYTHON = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


@pytest.mark.parametrize("page", RECIPES, ids=lambda p: p.name)
def test_recipe_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = page.read_text(encoding="utf-8")
    blocks = _PYTHON.findall(text)
    assert blocks, f"{page.name} has no python block"
    namespace: dict[str, object] = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{page.name}[{i}]", "exec"), namespace)


def test_there_is_a_recipe_for_the_points_mall_and_the_star_vote() -> None:
    assert any(p.name == "points-mall-and-star-vote.md" for p in RECIPES)
