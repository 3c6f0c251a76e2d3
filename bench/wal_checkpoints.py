"""SQLite's WAL checkpoints and the requests beside them: how long an issue, and the event loop, are held.

    python bench/wal_checkpoints.py [--seconds 10] [--rounds 3] [--before OTHER_CHECKOUT]

One gevent process as a server's (monkey-patched), a fresh SQLite file with the demo hall, --issuers
greenlets issuing tickets back to back through Flask's test client (the loop goes round between two
requests, as a server's does between network reads), and a 1-ms ticker greenlet whose lateness is how
long the loop was held. Prints per run: issues/s, the issue's wall time p50 / p99 / max, issues over
5 ms, the loop's longest holds (p99.9 / max) and the log's longest length in frames. With --before, that
checkout's Hall runs in the same rounds, alternated (A B A B), and medians are compared.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(seconds: float, issuers: int) -> dict:
    """In this process (gevent-patched first): the figures of one run of the current PYTHONPATH's Hall."""
    from gevent import monkey

    monkey.patch_all()
    import tempfile
    import time

    import gevent
    from flask_migrate import upgrade

    from hall import create_app
    from hall.demo import create_demo_hall
    from hall.extensions import db

    folder = tempfile.mkdtemp()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/hall.db", "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        create_demo_hall("demo")
        db.session.commit()
    client = app.test_client()
    log = f"{folder}/hall.db-wal"
    issues: list[float] = []
    holds: list[float] = []
    longest_log = [0]
    stop = time.monotonic() + seconds

    def issuer() -> None:
        while time.monotonic() < stop:
            started = time.perf_counter()
            assert client.post("/api/v1/halls/demo/tickets", json={"service": "A"}).status_code == 201
            issues.append((time.perf_counter() - started) * 1000)
            gevent.sleep(0)

    def ticker() -> None:
        while time.monotonic() < stop:
            started = time.perf_counter()
            gevent.sleep(0.001)
            holds.append((time.perf_counter() - started) * 1000 - 1)

    def log_watch() -> None:
        while time.monotonic() < stop:
            try:
                size = os.stat(log).st_size
            except FileNotFoundError:
                size = 0
            longest_log[0] = max(longest_log[0], max(size - 32, 0) // (4096 + 24))
            gevent.sleep(0.01)

    started = time.monotonic()
    gevent.joinall([gevent.spawn(issuer) for _ in range(issuers)] + [gevent.spawn(ticker), gevent.spawn(log_watch)])
    elapsed = time.monotonic() - started
    issues.sort()
    holds.sort()
    return {
        "rate": len(issues) / elapsed,
        "p50": issues[len(issues) // 2], "p99": issues[int(len(issues) * 0.99)], "max": issues[-1],
        "over_5ms": sum(1 for ms in issues if ms > 5),
        "hold_p999": holds[int(len(holds) * 0.999)], "hold_max": holds[-1],
        "log_frames": longest_log[0],
    }


def run(root: Path, seconds: float, issuers: int) -> dict:
    """One run of `root`'s Hall in a fresh process."""
    out = subprocess.run([sys.executable, __file__, "--one", "--seconds", str(seconds), "--issuers", str(issuers)],
                         cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def line(figures: dict) -> str:
    return (f"{figures['rate']:6.1f}/s, issue p50 {figures['p50']:5.2f} p99 {figures['p99']:6.2f} max {figures['max']:6.1f} ms,"
            f" {figures['over_5ms']:4.0f} over 5 ms | loop held p99.9 {figures['hold_p999']:5.1f} max {figures['hold_max']:5.1f} ms"
            f" | log ≤ {figures['log_frames']:5.0f} frames")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--issuers", type=int, default=4, help="greenlets issuing back to back")
    parser.add_argument("--before", type=Path, help="another checkout's Hall, alternated in the same rounds")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.seconds, args.issuers)))
        return
    contenders = [("now", ROOT)] + ([("before", args.before.resolve())] if args.before else [])
    results: dict[str, list[dict]] = {name: [] for name, _ in contenders}
    for n in range(args.rounds):
        for name, root in contenders:
            figures = run(root, args.seconds, args.issuers)
            results[name].append(figures)
            print(f"round {n + 1} {name:6} {line(figures)}", flush=True)
    medians = {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]} for name, runs in results.items()}
    for name, figures in medians.items():
        print(f"MEDIAN {name:6} {line(figures)}", flush=True)
    if args.before:
        now, before = medians["now"], medians["before"]
        print(f"now / before: rate {now['rate'] / before['rate']:.2f}x, issue p99 {now['p99'] / before['p99']:.2f}x,"
              f" max {now['max'] / before['max']:.2f}x, loop held max {now['hold_max'] / before['hold_max']:.2f}x", flush=True)


if __name__ == "__main__":
    main()
