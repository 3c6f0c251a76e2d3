"""What handing one event to this process's screens costs the Redis manager, before its frame is written.

    python bench/relay_emit.py [--events 2000] [--rounds 5]

With several processes every event goes through the manager's `_handle_emit` once in each process whose
screens are in its room: in the process that made it (python-socketio's emit looked for bytes in it once
already) and in each process that heard it from Redis (JSON: no bytes). python-socketio's own
`_handle_emit` builds the packet with `binary=None`, so the packet walks the whole event again looking for
bytes; Hall's passes what the sender found. Both are timed here, alternately (A B A B …), on a typical
call event for a room with one screen (its write is counted, not sent: no Engine.IO session), and the
medians of µs per event and their ratio are printed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hall.outage import OutageLog  # noqa: E402
from hall.realtime_redis import HallRedisManager  # noqa: E402

ROOM = "hall:demo:public"
#: A call event as a lobby display gets it (hall/realtime.py), its size and nesting.
EVENT = {"hall": "demo", "seq": 4123, "public_prev": 4120, "kind": "called", "at": "2026-12-01T03:00:00+00:00",
         "counter": 2, "zone": "main", "ticket": {"number": "A001", "service": "A", "counter": 2, "status": "called",
                                                  "issued_at": "2026-12-01T02:59:00+00:00", "estimated_wait_s": 120,
                                                  "name": None, "data": {}},
         "counters": [{"number": number, "state": "open", "ticket": None} for number in range(1, 6)]}


def handler(manager: HallRedisManager, own: bool):
    """The manager's `_handle_emit` (Hall's, or python-socketio's own) for one event heard from Redis."""
    if own:
        return lambda message: HallRedisManager._handle_emit(manager, message)
    return lambda message: socketio.PubSubManager._handle_emit(manager, message)


def timed(handle, messages: list[dict]) -> float:
    started = time.perf_counter()
    for message in messages:
        handle(message)
    return 1e6 * (time.perf_counter() - started) / len(messages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    manager = HallRedisManager("redis://127.0.0.1:1/0", OutageLog("redis", quiet_s=0))  # never connects here
    server = socketio.Server(client_manager=manager, async_mode="threading")
    written: list[str] = []
    server._send_eio_packet = lambda eio_sid, pkt: written.append(pkt.data)
    manager.enter_room(manager.connect("screen", "/"), "/", ROOM)
    message = {"method": "emit", "event": "hall_event", "data": [EVENT], "binary": False, "namespace": "/",
               "room": ROOM, "skip_sid": None, "callback": None, "host_id": "another process"}
    variants = {"python-socketio's _handle_emit": handler(manager, own=False), "Hall's _handle_emit": handler(manager, own=True)}
    us: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(args.rounds):
        for name, handle in variants.items():
            messages = [manager.json.loads(manager.json.dumps(message)) for _ in range(args.events)]
            us[name].append(timed(handle, messages))
            print(f"  round {round_ + 1} {name:32} {us[name][-1]:7.1f} us/event", flush=True)
    assert len(set(written)) == 1, "both build the same packet"
    medians = {name: statistics.median(of) for name, of in us.items()}
    for name, median in medians.items():
        print(f"MEDIAN {name:32} {median:7.1f} us/event", flush=True)
    old, new = medians.values()
    print(f"RESULT Hall's / python-socketio's: {new / old:.2f}x ({old:.1f} -> {new:.1f} us per event handed to"
          f" this process's screens)", flush=True)


if __name__ == "__main__":
    main()
