"""Places handed out first come, first served, to threads or gevent greenlets alike.

A lock or semaphore of the standard library (and gevent's, which replaces them in a server process)
lets whoever asks at the moment it is free take it, ahead of those already waiting: under gevent a
release only schedules the first waiter's wake-up, and every greenlet that runs before it and asks
finds the place free. With a steady stream of newcomers a waiter is passed over again and again,
and the waits spread from none to many times the median (the p99 of a hall's issues). Here a
newcomer queues behind the waiters, and a release hands the place to the first of them directly.
"""
from __future__ import annotations

import threading
from collections import deque


class FifoPlaces:
    """`places` places, taken in the order asked for. With `reentrant`, a thread (a greenlet under
    gevent) that holds one and asks again goes on at once, and gives it back at its last release."""

    def __init__(self, places: int = 1, *, reentrant: bool = False) -> None:
        self._free = places
        self._waiting: deque[threading.Lock] = deque()
        self._mutex = threading.Lock()
        self._reentrant = reentrant
        self._held: dict[int, int] = {}  # holder's ident -> nested acquisitions (reentrant only)

    def acquire(self, timeout: float | None = None) -> bool:
        """Take a place, waiting behind those who asked before; False if none came within `timeout` s."""
        me = threading.get_ident()
        with self._mutex:
            if self._reentrant and me in self._held:
                self._held[me] += 1
                return True
            if self._free and not self._waiting:
                self._free -= 1
                return self._took(me)
            baton = threading.Lock()
            baton.acquire()
            self._waiting.append(baton)
        got = baton.acquire(timeout=-1 if timeout is None else timeout)
        with self._mutex:
            if got:
                return self._took(me)
            try:
                self._waiting.remove(baton)
            except ValueError:  # handed a place just as the wait ran out: it is ours
                return self._took(me)
        return False

    def _took(self, me: int) -> bool:
        if self._reentrant:
            self._held[me] = 1
        return True

    def release(self) -> None:
        """Give the place back: to the longest waiter if there is one."""
        with self._mutex:
            if self._reentrant:
                me = threading.get_ident()
                self._held[me] -= 1
                if self._held[me]:
                    return
                del self._held[me]
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._free += 1

    def waiting(self) -> int:
        """How many wait for a place now."""
        return len(self._waiting)
