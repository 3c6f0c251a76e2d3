"""Garbage collection of a server process: the app frozen, the oldest generation on a schedule."""
from __future__ import annotations

import gc
import weakref

import pytest

from hall.server.collector import NEVER, collect_old_objects_on_schedule


class Node:
    """One half of a reference cycle: freed only by the cycle collector."""

    def __init__(self) -> None:
        self.other: Node | None = None


def old_cycle() -> weakref.ref:
    """A reference cycle, already garbage, moved to the oldest generation."""
    first, second = Node(), Node()
    first.other, second.other = second, first
    gone = weakref.ref(first)
    gc.disable()  # it must reach the oldest generation alive: collections while still referenced
    try:
        gc.collect(1)
    finally:
        gc.enable()
    del first, second
    return gone


@pytest.fixture
def scheduled():
    """The server process's collection set up here; the test process's own afterwards."""
    thresholds = gc.get_threshold()
    collector = collect_old_objects_on_schedule(every_s=0.2)
    yield collector
    collector.kill()
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_old_garbage_waits_for_the_scheduled_full_collection_and_the_app_is_frozen(scheduled):
    import gevent

    assert gc.get_freeze_count() > 1000, "what the process held when the app was loaded is frozen"
    assert gc.get_threshold()[2] == NEVER, "no full collection in the middle of a request"
    gone = old_cycle()
    for _ in range(50):  # young collections meanwhile leave the old cycle alone
        [Node() for _ in range(2000)]
    assert gone() is not None
    gevent.sleep(0.3)
    assert gone() is None, "the scheduled full collection freed it"
