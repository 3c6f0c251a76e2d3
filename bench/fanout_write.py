"""The fan-out's own cost: one hall event written to N screens on real sockets, in one process.

    python bench/fanout_write.py [--screens 1000 --screens 2000] [--polling 0.1] [--rounds 30]
        [--burst 1] [--profile] [--root OTHER_CHECKOUT]

No HTTP server and no screens' process: N Engine.IO sessions are upgraded to the server's
LiveWebSocket over loopback TCP connections (tests/socket_screens.py), a share of them
(--polling) stays on long-polling, all in one hall's public room of a Socket.IO server with the
server process's client manager. Each round emits --burst call events to the room as a request
does (hall.realtime.push_event), waits until the event loop is idle, then reads every screen's
socket (outside the timing) and checks it got each event once, in order. Prints per N, medians
over the rounds: the fan-out's CPU time and wall time, CPU per screen, and the longest time one
greenlet held the loop meanwhile (what a request arriving during the fan-out waits at most), in
wall time and in CPU time (the wall time of a busy machine includes waits for a core).
--profile adds a cProfile of the rounds (by own time). --root imports another checkout's hall.
"""
from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--screens", type=int, action="append")
    parser.add_argument("--polling", type=float, default=0.1, help="share of screens on long-polling")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--burst", type=int, default=1, help="events emitted together per round")
    parser.add_argument("--unix", action="store_true", help="Unix socketpairs instead of loopback TCP")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose hall package is measured")
    return parser.parse_args()


ARGS = parse_args()
sys.path.insert(0, str(ARGS.root))

import gevent  # noqa: E402
import greenlet  # noqa: E402
import socketio  # noqa: E402

from hall.server.fanout import FanOutManager  # noqa: E402

# this checkout's screens, whichever checkout's hall is measured
_spec = importlib.util.spec_from_file_location("socket_screens", ROOT / "tests" / "socket_screens.py")
socket_screens = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(socket_screens)
PollingScreen, WebSocketScreen, live_engineio = (socket_screens.PollingScreen, socket_screens.WebSocketScreen,
                                                 socket_screens.live_engineio)

ROOM = "hall:demo:public"


def call_event(seq: int) -> dict:
    """A public `called` event of the size the demo hall sends (~450 bytes of JSON)."""
    return {"seq": seq, "public_prev": seq - 1, "hall": "demo", "kind": "called", "at": "2026-11-30T17:00:00+00:00",
            "ticket": {"number": f"A{seq:03d}", "service": "A", "service_name": "Pensions and benefits",
                       "status": "called", "priority": "normal", "issued_at": "2026-11-30T16:40:00+00:00",
                       "called_at": "2026-11-30T17:00:00+00:00", "recalls": 0, "counter": 3},
            "counter": {"number": 3, "name": "Counter 3", "label": "3", "services": ["A", "B"], "open": True},
            "service": {"code": "A", "name": "Pensions and benefits", "waiting": 42}}


class LongestHold:
    """Greenlet switch tracer: the longest time one greenlet other than the hub ran without switching,
    in wall time and in CPU time of the loop's thread (which a busy machine does not stretch)."""

    def __init__(self) -> None:
        self.hub = gevent.get_hub()
        self.reset()

    def __call__(self, event: str, args: tuple) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        origin = args[0]
        if origin is not self.hub:
            self.longest = max(self.longest, now - self.since)
            self.longest_cpu = max(self.longest_cpu, cpu - self.since_cpu)
        self.since, self.since_cpu = now, cpu

    def reset(self) -> None:
        self.longest, self.longest_cpu = 0.0, 0.0
        self.since, self.since_cpu = time.perf_counter(), time.thread_time()


def fan_out_round(server: socketio.Server, seqs: range, hold: LongestHold) -> tuple[float, float, float, float]:
    """Emit the events as requests do and let the loop run until idle: (CPU s, wall s, longest hold s,
    its CPU s)."""
    hold.reset()
    cpu, wall = time.process_time(), time.perf_counter()
    for seq in seqs:
        server.emit("hall_event", call_event(seq), to=ROOM)
    let_run = getattr(server.manager, "let_fan_out_run", None)
    if let_run:
        let_run()
    gevent.idle()
    return time.process_time() - cpu, time.perf_counter() - wall, hold.longest, hold.longest_cpu


def check(websockets: list[WebSocketScreen], polling: list[PollingScreen], seqs: range) -> None:
    """Every screen got every event of the round once and in order."""
    wanted = [f'"seq":{seq},' for seq in seqs]
    for screen in websockets:
        text = screen.drain().decode(errors="replace")
        found = [text.find(seq) for seq in wanted]
        if -1 in found or found != sorted(found) or any(text.count(seq) != 1 for seq in wanted):
            raise AssertionError(f"websocket screen {screen.eio_sid} got {text[:200]!r}")
    for screen in polling:
        data = [pkt.data for pkt in screen.poll()]
        got = [json.loads(item[1:])[1]["seq"] for item in data if item.startswith("2[\"hall_event\"")]
        if got != list(seqs):
            raise AssertionError(f"polling screen {screen.eio_sid} got {got}")


def measure(screens: int) -> dict:
    server = socketio.Server(async_mode="gevent", client_manager=FanOutManager())
    live_engineio(server.eio)
    polling_count = round(screens * ARGS.polling)
    websockets = [WebSocketScreen(server, f"w{index}", (ROOM,), tcp=not ARGS.unix)
                  for index in range(screens - polling_count)]
    polling = [PollingScreen(server, f"p{index}", (ROOM,)) for index in range(polling_count)]
    for screen in websockets:
        screen.drain()  # the handshake answer
    gevent.idle()
    hold, profile = LongestHold(), cProfile.Profile() if ARGS.profile else None
    greenlet.settrace(hold)
    rounds, seq = [], 1
    try:
        for index in range(ARGS.rounds + 2):
            seqs = range(seq, seq + ARGS.burst)
            seq += ARGS.burst
            if profile and index >= 2:
                profile.enable()
            measured = fan_out_round(server, seqs, hold)
            if profile:
                profile.disable()
            check(websockets, polling, seqs)
            if index >= 2:  # the first rounds warm the caches
                rounds.append(measured)
    finally:
        greenlet.settrace(None)
        for screen in websockets:
            screen.close()
    cpu, wall, longest, longest_cpu = (statistics.median(values) for values in zip(*rounds))
    if profile:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(18)
        print(out.getvalue())
    return {"screens": screens, "polling": polling_count, "cpu_ms": 1e3 * cpu, "wall_ms": 1e3 * wall,
            "us_per_screen": 1e6 * cpu / screens, "longest_hold_ms": 1e3 * longest,
            "longest_hold_cpu_ms": 1e3 * longest_cpu}


def main() -> None:
    print(f"hall from {ARGS.root}, {ARGS.rounds} rounds of {ARGS.burst} event(s), "
          f"{'Unix socketpairs' if ARGS.unix else 'loopback TCP'}", flush=True)
    for screens in ARGS.screens or [1000, 2000]:
        result = measure(screens)
        print(f"{result['screens']:>5} screens ({result['polling']} polling): fan-out CPU {result['cpu_ms']:.1f} ms "
              f"({result['us_per_screen']:.1f} µs per screen), wall {result['wall_ms']:.1f} ms, longest hold of the "
              f"loop {result['longest_hold_ms']:.1f} ms ({result['longest_hold_cpu_ms']:.1f} ms of CPU) (medians)", flush=True)


if __name__ == "__main__":
    main()
