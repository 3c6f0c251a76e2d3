"""CPU per HTTP issue with and without the request-path cuts, alternating in one process.

    python bench/request_overhead.py

The cuts (hall/route_limiter.py, hall/auth.py's session interface) are switched off by putting the
library's own methods back, batch by batch (off, on, off, on, ...), so both variants share the
process, the database and the machine's load. Prints the median CPU per issue of each and the
difference. bench/issue_cpu.py gives the whole request and the engine's part of it.
"""
from __future__ import annotations

import statistics
import time
from contextlib import contextmanager

from flask.sessions import SecureCookieSessionInterface

from hall.auth import BearerAwareSessionInterface
from hall.route_limiter import RouteLimiter
from issue_cpu import demo_app  # bench/ is on the path when run as a script

BATCH, ROUNDS = 200, 9


@contextmanager
def library_behaviour():
    """Flask-Limiter's full before-request check, Flask's signer built per request and its cookie save."""
    saved = (RouteLimiter._only_route_limits, BearerAwareSessionInterface.get_signing_serializer,
             BearerAwareSessionInterface.save_session)

    def save_session(self, app, session, response):
        return SecureCookieSessionInterface.save_session(self, app, session, response)

    RouteLimiter._only_route_limits = lambda self: False  # the hook is bound at init_app: every check runs
    BearerAwareSessionInterface.get_signing_serializer = SecureCookieSessionInterface.get_signing_serializer
    BearerAwareSessionInterface.save_session = save_session
    try:
        yield
    finally:
        (RouteLimiter._only_route_limits, BearerAwareSessionInterface.get_signing_serializer,
         BearerAwareSessionInterface.save_session) = saved


def main() -> None:
    client = demo_app().test_client()

    def batch_ms() -> float:
        started = time.process_time()
        for _ in range(BATCH):
            assert client.post("/api/v1/halls/demo/tickets", json={"service": "A"}).status_code == 201
        return (time.process_time() - started) / BATCH * 1000

    batch_ms()  # the line, the day and what the process keeps exist
    off, on = [], []
    for _ in range(ROUNDS):
        with library_behaviour():
            off.append(batch_ms())
        on.append(batch_ms())
    before, after = statistics.median(off), statistics.median(on)
    saved = statistics.median(b - a for b, a in zip(off, on))  # each pair ran back to back
    print(f"HTTP issue, service A: without the cuts {before:.2f} ms CPU, with them {after:.2f} ms ({after / before:.2f}x);"
          f" median of the paired differences {saved:.2f} ms; {ROUNDS} alternating batches of {BATCH}")


if __name__ == "__main__":
    main()
