"""Python's garbage collector during a run: young collections only, the full ones after it.

A run holds millions of container objects at once (records, pairs, tasks and their details).
CPython starts a full collection whenever a quarter more objects have survived since the last
one, and each full collection walks every live object, so on a large run they cost more the
larger it gets: 13 s of 95 s of CPU at 300,000 records. Whatever a run makes is freed by
reference counting as it goes; the cycles a full collection would find are left for one at
the end of the run, so a process that runs many flows (a deployment's worker) still frees
them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# How many young collections before a full one: more than a run makes, so none starts by itself.
NO_FULL_COLLECTIONS = 2**31 - 1


@contextmanager
def young_collections_only() -> Iterator[None]:
    """Within the block, the collector's first two generations run as usual and the full
    collection not at all; leaving it restores the thresholds and collects once."""
    young, middle, full = gc.get_threshold()
    gc.set_threshold(young, middle, NO_FULL_COLLECTIONS)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, full)
        gc.collect()
