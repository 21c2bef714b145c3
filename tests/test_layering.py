"""The engine, the stores and the CLI name no policy kind and no kind's action: kinds
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


@pytest.mark.parametrize("path", GENERIC, ids=lambda p: p.name)
def test_generic_modules_name_no_kind_and_no_kind_action(path):
    assert _hits(path) == []


def test_the_check_finds_a_kind_name_where_there_is_one():
    # the kinds' own modules are where the names live: the check must see them there
    assert _hits(SRC / "rules" / "kinds" / "eviction.py")
    assert KIND_WORDS >= {"eviction", "evict", "notice", "welcome", "invite"}
