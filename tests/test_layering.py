"""The engine, the stores, the CLI and the rule book's checks name no policy kind and no kind's action: kinds
are plugins (issue 11). The check reads each module's tokens, not its text: a string
literal equal to a registered kind's name or action (``"evict"``), or a name bound to
a kind's model or function (``Eviction``, ``eviction_check``), is a hit; words in
docstrings and comments are prose, not code, and are not."""

import io
import tokenize
from pathlib import Path

import pytest

import groupops
from groupops.rules.kinds import BUILTIN_KINDS, admission, eviction, ladder, revival, welcome

SRC = Path(groupops.__file__).parent
GENERIC = [
    SRC / "_engine.py",
    *sorted((SRC / "engine").glob("*.py")),
    *sorted((SRC / "cli").glob("*.py")),
    SRC / "plugins" / "_store.py",
    SRC / "plugins" / "memory.py",
    SRC / "plugins" / "sqlite.py",
    SRC / "plugins" / "_manager.py",
    SRC / "plugins" / "builtin.py",
    SRC / "rules" / "_book.py",  # each kind checks its own references (Kind.book_problems)
]

# "limit" names a kind and is also SQL's LIMIT, a parameter of the store's queries;
# "deadline" names a kind and is also the {deadline} placeholder of every message;
# "capacity" and "term" name kinds and are also fields of every group
KIND_WORDS = {k.name for k in BUILTIN_KINDS} | {a.name for k in BUILTIN_KINDS for a in k.actions}
KIND_WORDS -= {"limit", "deadline", "capacity", "term"}
KIND_NAMES = {
    name
    for module in (admission, eviction, ladder, revival, welcome)
    for name in module.__all__
    if name != "KIND"
}


def _hits(path: Path) -> list[str]:
    hits = []
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    for tok in tokens:
        if tok.type == tokenize.STRING:
            text = tok.string.lstrip("rbfuRBFU").strip("'\"")
            if text in KIND_WORDS:
                hits.append(f"{path.name}:{tok.start[0]}: string {tok.string}")
        elif tok.type == tokenize.NAME and tok.string in KIND_NAMES:
            hits.append(f"{path.name}:{tok.start[0]}: name {tok.string}")
    return hits


# the rule book's checks read a group's "welcome" text (a field of every group and
# family), not the welcome kind
FIELD_WORDS = {"_book.py": {"welcome"}}


@pytest.mark.parametrize("path", GENERIC, ids=lambda p: p.name)
def test_generic_modules_name_no_kind_and_no_kind_action(path):
    fields = FIELD_WORDS.get(path.name, set())
    assert [h for h in _hits(path) if h.split(" ", 2)[-1].strip("'\"") not in fields] == []


def test_the_check_finds_a_kind_name_where_there_is_one():
    # the kinds' own modules are where the names live: the check must see them there
    assert _hits(SRC / "rules" / "kinds" / "eviction.py")
    assert KIND_WORDS >= {"eviction", "evict", "notice", "welcome", "invite"}


# Layers (issue 17): the domain inputs (_model: Member, Group, Membership, Event, ...)
# and the time primitives under them depend on nothing above; a Decision, which carries
# an evaluated explanation, sits above the rules in _decision.
ABOVE_THE_MODEL = (
    "groupops.rules",
    "groupops.engine",
    "groupops.plugins",
    "groupops.cli",
    "groupops._decision",
)


def _imports(module: str) -> set[str]:
    """The groupops modules ``module`` imports, at the top or inside a function or a
    ``TYPE_CHECKING`` block: every import statement counts."""
    import ast

    path = SRC.joinpath(*module.split(".")[1:])
    is_package = path.is_dir()
    path = path / "__init__.py" if is_package else path.with_suffix(".py")
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = (
                f"{base}.{node.module}" if node.level and node.module else base if node.level else node.module
            )
            found.add(target)
            # `from . import x` imports the module x when there is one
            found |= {f"{target}.{a.name}" for a in node.names if _exists(f"{target}.{a.name}")}
    return {m for m in found if m == "groupops" or m.startswith("groupops.")}


def _exists(module: str) -> bool:
    path = SRC.joinpath(*module.split(".")[1:])
    return path.is_dir() or path.with_suffix(".py").is_file()


def _closure(module: str) -> set[str]:
    seen: set[str] = set()
    todo = [module]
    while todo:
        for dep in _imports(todo.pop()) - seen:
            seen.add(dep)
            if _exists(dep):
                todo.append(dep)
    return seen


@pytest.mark.parametrize("module", ["groupops._model", "groupops._time"])
def test_the_domain_model_imports_nothing_above_it(module):
    above = sorted(m for m in _closure(module) if m.startswith(ABOVE_THE_MODEL))
    assert above == [], f"{module} depends on {above}"


def test_the_layer_check_sees_an_import_from_above():
    # a decision carries an explanation: _decision depends on the rules, as it should
    assert "groupops.rules._explain" in _closure("groupops._decision")
    assert "groupops._decision" in _closure("groupops.rules.kinds.eviction")


def test_the_domain_model_imports_alone_in_a_fresh_interpreter():
    # the layering holds at run time too: importing _model first (groupops' own
    # __init__ aside) loads no rules, engine, plugins or cli module
    import subprocess
    import sys

    code = (
        "import importlib.util, sys, types\n"
        f"pkg = types.ModuleType('groupops'); pkg.__path__ = [{str(SRC)!r}]\n"
        "sys.modules['groupops'] = pkg\n"
        "import groupops._model\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('groupops'))))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    assert "groupops._model" in loaded
    assert [m for m in loaded if m.startswith(ABOVE_THE_MODEL)] == []
