"""Every recipe in docs/recipes/ runs: its ```python blocks in order in one namespace, in
an empty directory where each block preceded by ``<!-- file: NAME -->`` was written to NAME."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

RECIPES = sorted((Path(__file__).parent.parent / "docs" / "recipes").glob("*.md"))
_FENCE = re.compile(r"(?:<!-- file: (?P<file>.+?) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_recipe_runs(recipe: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    ran = 0
    for m in _FENCE.finditer(recipe.read_text(encoding="utf-8")):
        if m.group("file"):
            (tmp_path / m.group("file")).write_text(m.group("body"), encoding="utf-8")
        elif m.group("lang") == "python":
            line = recipe.read_text(encoding="utf-8").count("\n", 0, m.start("body")) + 1
            exec(compile(m.group("body"), f"{recipe.name}:{line}", "exec"), namespace)
            ran += 1
    assert ran, f"{recipe.name} has no python block"


def test_there_is_a_recipe_for_a_welfare_family_on_wecom() -> None:
    assert "welfare-family-wecom.md" in [p.name for p in RECIPES]


def test_there_is_a_recipe_for_the_points_mall_and_the_star_vote() -> None:
    assert "points-mall-and-star-vote.md" in [p.name for p in RECIPES]


def test_there_is_a_recipe_for_segments_and_campaigns() -> None:
    assert "segments-and-campaigns.md" in [p.name for p in RECIPES]
