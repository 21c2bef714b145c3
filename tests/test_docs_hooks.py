"""docs/hooks.md: every hook is documented, every example runs, every hook is tested."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

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
    # the set-up, wrappers refused, one per hook, messenger checks, store contract
    assert len(blocks) == 4 + len(HOOKS)
    for block in blocks:
        # compiled as a user's own file would be, without this module's __future__ imports
        exec(compile(block, str(DOC), "exec", dont_inherit=True), namespace)


def test_the_store_contract_example_is_what_our_store_tests_run():
    [block] = [b for b in _python_blocks() if "StoreContract" in b]
    imports, classes = block.split("\n\n\n", 1)
    ours = (TESTS / "test_store_contract.py").read_text(encoding="utf-8")
    assert imports in ours and classes in ours


def _generator() -> ModuleType:
    path = TESTS.parent / "scripts" / "hooks_reference.py"
    spec = importlib.util.spec_from_file_location("hooks_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_part_is_generated_from_the_hookspecs():
    # the page is what scripts/hooks_reference.py writes: run it after editing a docstring
    gen = _generator()
    page = DOC.read_text(encoding="utf-8")
    assert gen.update(page) == page, "docs/hooks.md is stale: run .venv/bin/python scripts/hooks_reference.py"
    assert sorted(gen.hook_names()) == HOOKS
    for hook in HOOKS:
        assert page.count(gen.reference(hook)) == 1, hook


def test_the_reference_shows_each_spec_as_pluggy_calls_it():
    gen = _generator()
    # before: the page and the spec disagreed on which store URLs the built-ins answer
    assert gen.signature("groupops_open_store") == (
        "groupops_open_store(url: str, book: RuleBook) -> Store | None   (firstresult)"
    )
    assert gen.signature("groupops_observe_decision") == (
        "groupops_observe_decision(decision: Decision, engine: EngineView) -> None"
    )
    block = gen.reference("groupops_open_store")
    assert "paths ending in `.db`, `.sqlite` or `.sqlite3`" in block
    assert "- `url`: what the host passed as `store=` (the CLI's `--db`)." in block
    assert not re.search(r"(?<!`)``(?!`)", block)  # reST literals became Markdown ones
    assert ":class:" not in block and ":param" not in block


def test_a_hook_without_a_section_is_an_error_naming_it():
    gen = _generator()
    page = DOC.read_text(encoding="utf-8").replace("## groupops_veto_action\n", "## veto\n")
    with pytest.raises(ValueError, match="no section '## groupops_veto_action'"):
        gen.update(page)


def test_a_changed_docstring_changes_the_page(monkeypatch):
    gen = _generator()
    page = DOC.read_text(encoding="utf-8")
    spec = hookspecs.groupops_observe_decision
    assert "the other observers still run," in spec.__doc__
    monkeypatch.setattr(spec, "__doc__", spec.__doc__.replace("still run,", "keep going,"))
    updated = gen.update(page)
    words = " ".join(updated.split())
    assert "the other observers keep going," in words and "still run," not in words
    assert gen.update(updated) == updated  # rewriting a written page changes nothing
