"""Waiting first come, first served: the places of `hall.fifo` (a hall's turns and its places at
PostgreSQL's row lock).

Real threads. A newcomer that asks the moment a place is given back must queue behind those
already waiting (a plain lock lets it take the place first: the waits' tail)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from hall.fifo import FifoPlaces


def _queue_one_by_one(count: int, waiting: Callable[[], int], work: Callable[[int], None]) -> list[threading.Thread]:
    """Start `count` threads running `work(i)`, each once the one before it waits (`waiting()` went up)."""
    threads = []
    for i in range(count):
        before = waiting()
        threads.append(threading.Thread(target=work, args=(i,)))
        threads[-1].start()
        deadline = time.monotonic() + 10
        while waiting() == before:
            assert time.monotonic() < deadline, f"thread {i} never waited"
            time.sleep(0.001)
    return threads


def test_places_go_to_waiters_in_the_order_they_asked_and_a_newcomer_queues_behind_them():
    places, served = FifoPlaces(), []
    assert places.acquire()

    def wait_and_take(i: int) -> None:
        assert places.acquire(timeout=10)
        served.append(i)
        places.release()

    threads = _queue_one_by_one(6, places.waiting, wait_and_take)
    places.release()
    assert places.acquire(timeout=10)  # asked at once, while the first waiter is still waking up
    served.append("newcomer")
    places.release()
    for thread in threads:
        thread.join()
    assert served == [0, 1, 2, 3, 4, 5, "newcomer"]


def test_several_places_are_taken_at_once_and_the_next_asker_waits():
    places = FifoPlaces(2)
    assert places.acquire(timeout=0) and places.acquire(timeout=0)
    assert not places.acquire(timeout=0.01)
    places.release()
    assert places.acquire(timeout=0)


def test_a_wait_that_runs_out_leaves_the_queue_and_loses_no_place():
    places = FifoPlaces()
    assert places.acquire()
    started = time.monotonic()
    assert not places.acquire(timeout=0.05)
    assert time.monotonic() - started >= 0.05
    assert places.waiting() == 0
    places.release()
    assert places.acquire(timeout=0)


def test_a_reentrant_holder_goes_on_and_gives_the_place_on_at_its_last_release():
    places, served = FifoPlaces(reentrant=True), []
    assert places.acquire()
    thread = _queue_one_by_one(1, places.waiting, lambda _i: (places.acquire(timeout=10), served.append("other")))[0]
    assert places.acquire(timeout=0)  # the holder again, past the waiter
    places.release()
    time.sleep(0.02)
    assert served == []
    places.release()
    thread.join()
    assert served == ["other"]
