"""Call-to-display latency: a counter calls through the API, a lobby display connected over
Socket.IO (websocket) receives the call; prints percentiles.

    python bench/call_latency.py --database sqlite --database postgres [--calls 300]
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import requests
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.servers import flask_command, served  # noqa: E402
from hall.reports.stats import percentile  # noqa: E402


def measure(base: str, token: str, calls: int) -> list[float]:
    """Milliseconds from sending call-next to the display receiving the `called` event, per call."""
    staff = {"Authorization": f"Bearer {token}"}
    session = requests.Session()
    received: dict[str, float] = {}
    arrived = threading.Condition()
    display = socketio.Client(reconnection=False)

    @display.on("hall_event")
    def on_event(event):
        if event["kind"] == "called":
            with arrived:
                received[event["ticket"]["number"]] = time.perf_counter()
                arrived.notify_all()

    display.connect(base, auth={"hall": "demo"}, transports=["websocket"], wait_timeout=10)
    session.post(f"{base}/api/v1/halls/demo/counters/1/open", headers=staff).raise_for_status()
    latencies = []
    for _ in range(calls):
        session.post(f"{base}/api/v1/halls/demo/tickets", json={"service": "A"}).raise_for_status()
        sent = time.perf_counter()
        called = session.post(f"{base}/api/v1/halls/demo/counters/1/call-next", headers=staff)
        called.raise_for_status()
        number = called.json()["number"]
        with arrived:
            if not arrived.wait_for(lambda: number in received, timeout=5):
                raise RuntimeError(f"the display never got {number}")
        latencies.append(1000 * (received[number] - sent))
        session.post(f"{base}/api/v1/halls/demo/counters/1/finish", headers=staff).raise_for_status()
    display.disconnect()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres"], action="append", required=True)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    for kind in args.database:
        with served(kind) as server:
            token = flask_command(server.env["HALL_DATABASE_URL"], "hall", "token", "create", "supervisor").strip()
            measure(server.url, token, 20)  # warm-up
            latencies = measure(server.url, token, args.calls)
            print(f"{kind:9} {len(latencies)} calls: call → display  p50 {percentile(latencies, 50):6.1f} ms"
                  f"  p90 {percentile(latencies, 90):6.1f} ms  p99 {percentile(latencies, 99):6.1f} ms"
                  f"  max {max(latencies):6.1f} ms")


if __name__ == "__main__":
    main()
