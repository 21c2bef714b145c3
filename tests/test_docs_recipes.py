"""Every ```python block of each recipe in docs/recipes/ runs, in order, in one namespace
per recipe, so the recipes cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "docs" / "recipes").glob("*.md"))
_BLOCK = re.compile(r"^```python[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.S | re.M)


def test_there_are_recipes():
    assert [p.name for p in RECIPES] >= ["dead-group.md"]


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipe_runs(path, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    text = path.read_text(encoding="utf-8")
    namespace: dict = {}
    blocks = list(_BLOCK.finditer(text))
    assert blocks, f"{path.name} has no python example"
    for m in blocks:
        line = text.count("\n", 0, m.start("body")) + 1
        exec(compile(m.group("body"), f"{path.name}:{line}", "exec"), namespace)
