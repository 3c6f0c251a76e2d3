"""Garbage collection in a server process without long pauses in the middle of requests.

CPython's cycle collector looks, in its oldest generation, at every object the process holds:
the app's (~180 000 after start-up) and every live connection's (~200 per screen). Beside 1 000
screens such a full collection held the whole event loop for 0.3-0.7 s on a busy 2-core machine,
and under 16 API clients one came every ~13 s (whenever a quarter more objects had grown old):
every request in flight waited for it, which was most of the issue and call p99 (bench/RESULTS.md).
Here, once the app is loaded:
- what it holds then is frozen (`gc.freeze`): it lives as long as the process and is never
  looked at again;
- the young generations are collected as before (a few ms each);
- the oldest one only every FULL_COLLECTION_S, from a background greenlet, instead of whenever
  enough objects grew old. Cyclic garbage that grew old waits for it (a few thousand objects a
  collection under the benchmark's load); what has no cycle is freed at once as always.
- and then at a quiet moment: a full collection still holds the loop (~60 ms beside 1 000
  screens, ~120 ms beside 2 000), and every request that arrives meanwhile waits for it, so it
  waits until the loop was busy less than QUIET_SHARE of QUIET_S (a hall between two tickets),
  for at most LONGEST_WAIT_S (a hall that is never quiet gets it on time, as before).
"""
from __future__ import annotations

import gc
import time
from typing import Any

#: Seconds between full collections of a server process: one pause of the loop each (tens to a
#: few hundred ms with thousands of screens connected) instead of one every few seconds.
FULL_COLLECTION_S = 120.0
#: Collections of the middle generation before an automatic full one: never, in practice.
NEVER = 1 << 30
#: A quiet moment: the loop used less than QUIET_SHARE of a core over the last QUIET_S seconds.
QUIET_S = 0.5
QUIET_SHARE = 0.2
#: Seconds a due full collection waits for a quiet moment at most.
LONGEST_WAIT_S = 60.0


def collect_old_objects_on_schedule(every_s: float = FULL_COLLECTION_S, quiet_s: float = QUIET_S,
                                    longest_wait_s: float = LONGEST_WAIT_S, quiet_share: float = QUIET_SHARE) -> Any:
    """Freeze what the loaded app holds and collect the oldest generation every `every_s` only,
    at the first quiet moment after it is due (in a gevent server process, after the app is
    loaded); the greenlet that collects."""
    import gevent

    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, NEVER)

    def full_collections() -> None:
        while True:
            gevent.sleep(every_s)
            wait_for_quiet(quiet_s, quiet_share, time.monotonic() + longest_wait_s)
            gc.collect()

    return gevent.spawn(full_collections)


def wait_for_quiet(quiet_s: float, quiet_share: float, deadline: float) -> None:
    """Return once the loop's thread used less than `quiet_share` of a core over the last `quiet_s`
    seconds, or at `deadline` (time.monotonic())."""
    import gevent

    while time.monotonic() < deadline:
        busy_before = time.thread_time()  # every greenlet of the loop runs in this thread
        gevent.sleep(min(quiet_s, max(0.0, deadline - time.monotonic())))
        if time.thread_time() - busy_before < quiet_share * quiet_s:
            return
