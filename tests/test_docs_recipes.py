"""docs/recipes/*.md: every python block of a recipe runs, in order, in one namespace,
in an empty directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

RECIPES = sorted((Path(__file__).parent.parent / "docs" / "recipes").glob("*.md"))


def test_there_are_recipes():
    assert [p.name for p in RECIPES] == ["segments-and-campaigns.md"]


@pytest.mark.parametrize("page", RECIPES, ids=lambda p: p.name)
def test_recipe_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 5
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(page), "exec"), namespace)
