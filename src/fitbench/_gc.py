"""Pause Python's cyclic garbage collector around bulk work that builds millions of acyclic objects.

Building the IR and the per-layer results of a 10^6-node graph creates tens of millions of small objects
(tuples, dicts, dataclasses) and no reference cycles; each of the collector's passes over them is pure
overhead (about half the CPU time of profiling such a graph). Reference counting still frees everything;
the collector is resumed (if it was running) when the block ends, nested blocks included; the objects the block
left alive (and any young objects from before it) join the oldest generation, as after a full collection that
found them alive, instead of being scanned by the next young collection.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if not gc.get_freeze_count():
                # Hand the block's survivors straight to the oldest generation (freeze + unfreeze splices the
                # lists, scanning nothing): otherwise the first collection after enabling traverses every one of
                # them (~0.04 us per object, ~1 s at 10^6 nodes). Skipped when the process froze objects itself.
                gc.freeze()
                gc.unfreeze()
            gc.enable()
