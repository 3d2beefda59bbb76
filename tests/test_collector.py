"""The run's garbage collection (flows/collector.py): no full collection inside, one after."""

from __future__ import annotations

import gc
import weakref

from flows.collector import NO_FULL_COLLECTIONS, young_collections_only


class _Node:
    def __init__(self) -> None:
        self.partner: _Node | None = None


def test_no_full_collection_within_a_run_and_the_thresholds_come_back() -> None:
    before = gc.get_threshold()
    full_collections = gc.get_stats()[2]["collections"]
    with young_collections_only():
        assert gc.get_threshold() == (before[0], before[1], NO_FULL_COLLECTIONS)
        for _ in range(200_000):  # enough young collections to start several full ones
            node = _Node()
            node.partner = _Node()
            node.partner.partner = node
        assert gc.get_stats()[2]["collections"] == full_collections
    assert gc.get_threshold() == before


def test_cycles_made_within_a_run_are_freed_when_it_ends() -> None:
    with young_collections_only():
        node = _Node()
        node.partner = node
        alive = weakref.ref(node)
        gc.collect(1)  # survives the young collections: now in the oldest generation
        del node
        for _ in range(200_000):
            _Node()
        assert alive() is not None  # only a full collection finds it
    assert alive() is None
