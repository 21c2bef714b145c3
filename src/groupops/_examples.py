"""The example rule books shipped inside the package."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["example_path"]


def example_path(name: str = "community.yaml") -> Path:
    """The path of an example rule book shipped with groupops (``community.yaml``)."""
    path = Path(str(files("groupops").joinpath("examples", name)))
    if not path.is_file():
        known = sorted(p.name for p in path.parent.glob("*.yaml"))
        raise FileNotFoundError(f"no example named {name!r} (examples: {', '.join(known)})")
    return path
