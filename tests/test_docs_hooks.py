"""docs/hooks.md: every hook is documented, every example runs, every hook is tested."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from groupops.plugins import hookspecs

DOC = Path(__file__).parent.parent / "docs" / "hooks.md"
TESTS = Path(__file__).parent

HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("groupops_"))


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_there_are_hooks():
    assert "groupops_veto_action" in HOOKS


@pytest.mark.parametrize("hook", HOOKS)
def test_plugin_hooks_are_documented(hook):
    text = DOC.read_text(encoding="utf-8")
    assert f"## {hook}\n" in text, f"{hook} has no section in docs/hooks.md"
    assert re.search(rf"```\n{hook}\(", text), f"{hook} has no signature in docs/hooks.md"


@pytest.mark.parametrize("hook", HOOKS)
def test_plugin_hooks_have_tests(hook):
    # a test named after the hook, outside this file (the docs examples count too)
    pattern = re.compile(rf"def test_hook_{hook.removeprefix('groupops_')}(_|\()")
    found = [p for p in TESTS.glob("test_*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    assert found, f"no test_hook_{hook.removeprefix('groupops_')} test for {hook}"


def test_hooks_md_examples_run():
    namespace: dict[str, object] = {}
    blocks = _python_blocks()
    assert len(blocks) == 3 + len(HOOKS)  # the set-up, one per hook, messenger checks, store contract
    for block in blocks:
        # compiled as a user's own file would be, without this module's __future__ imports
        exec(compile(block, str(DOC), "exec", dont_inherit=True), namespace)


def test_the_store_contract_example_is_what_our_store_tests_run():
    [block] = [b for b in _python_blocks() if "StoreContract" in b]
    imports, classes = block.split("\n\n\n", 1)
    ours = (TESTS / "test_store_contract.py").read_text(encoding="utf-8")
    assert imports in ours and classes in ours
