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
"""
from __future__ import annotations

import gc
from typing import Any

#: Seconds between full collections of a server process: one pause of the loop each (tens to a
#: few hundred ms with thousands of screens connected) instead of one every few seconds.
FULL_COLLECTION_S = 120.0
#: Collections of the middle generation before an automatic full one: never, in practice.
NEVER = 1 << 30


def collect_old_objects_on_schedule(every_s: float = FULL_COLLECTION_S) -> Any:
    """Freeze what the loaded app holds and collect the oldest generation every `every_s` only
    (in a gevent server process, after the app is loaded); the greenlet that collects."""
    import gevent

    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, NEVER)

    def full_collections() -> None:
        while True:
            gevent.sleep(every_s)
            gc.collect()

    return gevent.spawn(full_collections)
