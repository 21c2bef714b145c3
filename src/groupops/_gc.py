"""The cyclic garbage collector paused around bulk work (a run, reading histories).

A run allocates millions of small objects that live until it ends (histories, decisions,
explanations, messages). CPython's collector is triggered by allocations alone, and each
full collection walks every live object: on 10,000 members a run spent about a third of
its CPU in seven of them, and freed nothing that a collection after the run does not
(measured in ``docs/benchmarks.md``). So bulk work pauses automatic collection and puts
it back as it was; the garbage it leaves is collected by the next automatic collection.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Automatic garbage collection off inside the block, then as it was. Nested blocks
    (and a host that runs with it off) leave it off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
