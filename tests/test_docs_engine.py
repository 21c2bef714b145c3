"""docs/engine.md: every python example runs, in order, in an empty directory."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import warnings
from pathlib import Path

DOC = Path(__file__).parent.parent / "docs" / "engine.md"
HAS_DUCKDB = all(importlib.util.find_spec(m) is not None for m in ("duckdb", "sqlglot", "pyarrow"))
NO_DUCKDB = "the duckdb extra is not installed: pip install 'groupops[duckdb]'"
HAS_SPARK = all(importlib.util.find_spec(m) is not None for m in ("pyspark", "sqlglot")) and (
    shutil.which("java") is not None or "JAVA_HOME" in os.environ
)
NO_SPARK = "the spark extra or a Java runtime is missing: pip install 'groupops[spark]'"


def test_engine_md_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 6
    namespace: dict[str, object] = {}
    for block in blocks:
        if block.startswith("# needs the duckdb extra") and not HAS_DUCKDB:
            warnings.warn(f"a DuckDB example of {DOC.name} not run: {NO_DUCKDB}", stacklevel=1)
            continue
        if block.startswith("# needs the spark extra") and not HAS_SPARK:
            warnings.warn(f"a Spark example of {DOC.name} not run: {NO_SPARK}", stacklevel=1)
            continue
        exec(compile(block, str(DOC), "exec"), namespace)
    assert (tmp_path / "camp.db").is_file()


def test_every_engine_parameter_is_documented():
    import inspect

    import groupops as go

    documented = set(re.findall(r":param (\w+):", go.Engine.__doc__ or ""))
    assert set(inspect.signature(go.Engine).parameters) == documented
