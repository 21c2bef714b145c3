"""docs/engine.md: every python example runs, in order, in an empty directory."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).parent.parent / "docs" / "engine.md"


def test_engine_md_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 6
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert (tmp_path / "camp.db").is_file()


def test_every_engine_parameter_is_documented():
    import inspect

    import groupops as go

    documented = set(re.findall(r":param (\w+):", go.Engine.__doc__ or ""))
    assert set(inspect.signature(go.Engine).parameters) == documented
