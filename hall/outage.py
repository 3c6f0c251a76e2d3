"""Outages of a part the server depends on (the database, Redis), told once each.

During an outage every request meets the same failure; logging each one (with its
traceback) buries the log. An `OutageLog` writes one line when a part goes away and
one when it is back, however many requests, rounds or retries meet it in between.
"""
from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("hall.outage")

#: By default a success this soon after a failure does not end an outage: on SQLite reads
#: keep working while another process holds the write lock, and writers keep failing.
QUIET_S = 1.0


class OutageLog:
    """The state of one part (up, or down since when) and the two log lines of each outage."""

    def __init__(self, part: str, quiet_s: float = QUIET_S) -> None:
        self.part = part
        self.quiet_s = quiet_s
        self._lock = threading.Lock()
        self._since: float | None = None
        self._last_failure = 0.0
        self.outages = 0

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException | str) -> bool:
        """The part failed a request: the first failure of an outage is logged (True), the rest are counted."""
        now = time.monotonic()
        with self._lock:
            self._last_failure = now
            if self._since is not None:
                return False
            self._since = now
            self.outages += 1
        log.error("%s unavailable: %s", self.part, _first_line(exc))
        return True

    def succeeded(self) -> bool:
        """The part answered: ends the outage (True) once no failure came for `quiet_s`."""
        if self._since is None:  # the common case, without the lock
            return False
        now = time.monotonic()
        with self._lock:
            if self._since is None or now - self._last_failure < self.quiet_s:
                return False
            lasted, self._since = now - self._since, None
        log.warning("%s available again after %.1f s", self.part, lasted)
        return True


def _first_line(exc: BaseException | str) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:300]
