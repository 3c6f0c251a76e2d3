"""Tickets issued per second over HTTP.

    python bench/issue_rate.py                       # against http://127.0.0.1:5000 (make run)
    python bench/issue_rate.py --database sqlite     # starts its own server on a fresh SQLite
    python bench/issue_rate.py --database postgres   # … on a throw-away PostgreSQL
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.servers import served  # noqa: E402
from hall.reports.stats import percentile  # noqa: E402


def issue(base: str, hall: str, count: int, clients: int) -> dict[str, float]:
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        session = requests.Session()
        for i in range(count // clients):
            started = time.perf_counter()
            response = session.post(f"{base}/api/v1/halls/{hall}/tickets", json={"service": "ABC"[(n + i) % 3]})
            elapsed = time.perf_counter() - started
            with lock:
                (latencies if response.status_code == 201 else failures).append(
                    elapsed if response.status_code == 201 else response.status_code)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"issued": len(latencies), "failed": len(failures), "seconds": wall,
            "per_second": len(latencies) / wall, "p50_ms": 1000 * percentile(latencies, 50),
            "p95_ms": 1000 * percentile(latencies, 95)}


def report(label: str, figures: dict[str, float]) -> None:
    print(f"{label:28} {figures['issued']:6.0f} issued, {figures['failed']:3.0f} failed in {figures['seconds']:6.2f} s"
          f" = {figures['per_second']:7.1f} tickets/s   latency p50 {figures['p50_ms']:6.1f} ms"
          f"  p95 {figures['p95_ms']:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:5000")
    parser.add_argument("--hall", default="demo")
    parser.add_argument("--database", choices=["sqlite", "postgres"], action="append",
                        help="start a server on a fresh database of this kind (repeatable)")
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    if not args.database:
        report(args.url, issue(args.url, args.hall, args.tickets, args.clients))
        return
    for kind in args.database:
        with served(kind) as server:
            issue(server.url, args.hall, 100, 4)  # warm-up
            report(f"{kind} ({args.clients} clients)", issue(server.url, args.hall, args.tickets, args.clients))


if __name__ == "__main__":
    main()
