"""Garbage collection of a server process: the app frozen, the oldest generation on a schedule."""
from __future__ import annotations

import gc
import time
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
    collector = collect_old_objects_on_schedule(every_s=0.2, quiet_s=0.05)
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
    gevent.sleep(0.4)
    assert gone() is None, "the scheduled full collection freed it"


def full_collections_during(seconds: float, busy: bool) -> list[float]:
    """When (time.monotonic()) full collections ran while the loop was kept busy (or idle) for `seconds`."""
    import gevent

    done: list[float] = []

    def note(phase: str, info: dict) -> None:
        if phase == "stop" and info["generation"] == 2:
            done.append(time.monotonic())

    gc.callbacks.append(note)
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if busy:  # requests one after the other: 9 ms of work, then a turn for the others
                turn_ends = time.monotonic() + 0.009
                while time.monotonic() < turn_ends:
                    sum(range(1000))
            gevent.sleep(0.001 if busy else 0.01)
    finally:
        gc.callbacks.remove(note)
    return done


def test_a_due_full_collection_waits_for_a_quiet_moment_but_not_for_ever():
    thresholds = gc.get_threshold()
    # the test's busy loop may get little of a core on a loaded machine: busy is any real work here
    collector = collect_old_objects_on_schedule(every_s=0.1, quiet_s=0.05, longest_wait_s=1.0, quiet_share=0.05)
    try:
        started = time.monotonic()
        under_load = full_collections_during(1.5, busy=True)
        assert under_load, "a loop that is never quiet still gets its full collection"
        assert min(under_load) - started >= 1.1, "once due, it waited for a quiet moment as long as it may"
        quiet_from = time.monotonic()
        when_quiet = full_collections_during(0.5, busy=False)
        assert when_quiet and min(when_quiet) - quiet_from < 0.4, "the next one, due under load, ran once it was quiet"
    finally:
        collector.kill()
        gc.unfreeze()
        gc.set_threshold(*thresholds)
