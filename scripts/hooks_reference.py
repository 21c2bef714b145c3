"""Write the reference part of docs/hooks.md from the hook specifications.

Each hook's section in docs/hooks.md starts with a block generated from
``groupops.plugins.hookspecs``: the signature (with ``(firstresult)`` where the spec has
it) and the docstring, reST markup turned into Markdown. The examples and guides after
the block are written by hand. The docstring is the one source: edit it, then run

    .venv/bin/python scripts/hooks_reference.py          # rewrites docs/hooks.md
    .venv/bin/python scripts/hooks_reference.py --check  # exit 1 if the page is stale

``tests/test_docs_hooks.py`` fails when the page is not what this script writes.
"""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
from pathlib import Path

from groupops.plugins import hookspecs

PAGE = Path(__file__).resolve().parent.parent / "docs" / "hooks.md"
START = "<!-- reference: generated from the hookspec by scripts/hooks_reference.py; edit the docstring -->"
END = "<!-- end of reference -->"
WIDTH = 88


def hook_names() -> list[str]:
    """Every hook specification, in the order the module defines them."""
    return [
        name
        for name, value in vars(hookspecs).items()
        if name.startswith("groupops_") and inspect.isfunction(value)
    ]


def signature(name: str) -> str:
    """``name(arg: type, ...) -> type``, and ``(firstresult)`` where the spec says so."""
    spec = getattr(hookspecs, name)
    sig = inspect.signature(spec)  # annotations are strings here (postponed evaluation)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    text = f"{name}({params}) -> {sig.return_annotation}"
    options = getattr(spec, f"{hookspecs.PROJECT}_spec", {})
    return f"{text}   (firstresult)" if options.get("firstresult") else text


def _inline(text: str) -> str:
    """reST inline markup as Markdown: roles, literals, links."""
    text = re.sub(r":\w+:`~[\w.]*?\.(\w+)`", r"`\1`", text)  # :class:`~groupops.Engine`
    text = re.sub(r":\w+:`([^`]+)`", r"`\1`", text)  # :class:`groupops.Engine`
    text = re.sub(r"`([^`<]+?) <([^>]+)>`_", r"[\1](\2)", text)  # `text <url>`_
    return text.replace("``", "`")


def _fill(text: str, *, first: str = "", rest: str = "") -> str:
    """Wrapped at WIDTH, never inside a `code span`."""
    words = " ".join(text.split())
    keep = re.sub(r"`[^`]*`", lambda m: m.group(0).replace(" ", "\0"), words)
    filled = textwrap.fill(
        keep,
        width=WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return filled.replace("\0", " ")


def _paragraphs(doc: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", inspect.cleandoc(doc)) if p.strip()]


def reference(name: str) -> str:
    """The generated block of one hook: signature, then the docstring as Markdown."""
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    out = ["```", signature(name), "```", ""]
    fields: list[str] = []
    for paragraph in _paragraphs(doc):
        if paragraph.lstrip().startswith(":"):
            # the field list: ":param x: ..." items, each possibly over several lines
            for item in re.split(r"\n(?=:)", paragraph.strip()):
                m = re.match(r":(?:param (\w+)|(returns)):\s*(.*)", item, re.S)
                if m is None:
                    raise ValueError(f"{name}: cannot read the docstring field {item!r}")
                label = "returns" if m.group(2) else f"`{m.group(1)}`"
                fields.append(_fill(_inline(m.group(3)), first=f"- {label}: ", rest="  "))
            continue
        out += [_fill(_inline(paragraph)), ""]
    if fields:
        out += [*fields, ""]
    return "\n".join([START, *out, END])


def update(page: str) -> str:
    """``page`` with each hook's generated block written (or rewritten) right under
    its ``## name`` heading. A hook without a section is an error: write the heading."""
    for name in hook_names():
        heading = f"## {name}\n\n"
        at = page.find(heading)
        if at < 0:
            raise ValueError(f"docs/hooks.md has no section '## {name}': add one for the generated reference")
        body = at + len(heading)
        if page.startswith(START, body):
            end = page.index(END, body) + len(END)
            page = page[:body] + reference(name) + page[end:]
        else:
            page = page[:body] + reference(name) + "\n\n" + page[body:]
    return page


def main(argv: list[str]) -> int:
    current = PAGE.read_text(encoding="utf-8")
    wanted = update(current)
    if "--check" in argv:
        if wanted != current:
            print("docs/hooks.md is stale: run scripts/hooks_reference.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
