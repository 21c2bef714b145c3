"""How a public namespace (``groupops``, ``groupops.rules``, ``groupops.testing``) claims
its names: as httpx does, each public class and function says it lives at its public
path, so reprs, docs, pickles and error messages name ``groupops.Member``, not
``groupops._model.Member``."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping


def publish(namespace: Mapping[str, object], names: Iterable[str], module: str) -> None:
    """Set ``__module__`` of every class and function among ``names`` in ``namespace``
    to ``module``. Constants and type aliases (``Condition``) keep theirs."""
    for name in names:
        obj = namespace[name]
        if isinstance(obj, type) or inspect.isfunction(obj):
            obj.__module__ = module
