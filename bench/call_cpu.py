"""CPU per counter action in one process (call-next, recall, start, finish): the engine call alone and the
whole HTTP request.

    python bench/call_cpu.py                                   # this checkout, SQLite
    python bench/call_cpu.py --database postgres               # a throw-away PostgreSQL
    python bench/call_cpu.py --against /tmp/before --rounds 4  # this checkout and another, alternating

One database with the demo hall (this checkout's schema); each round is a fresh process of a checkout
(A B A B ...): it issues tickets of service A, then times counter 1's call-next, recall, start and finish,
each alone, `--calls` times through the engine (`queue.call_next` ... in an app context) and as many times
through the API (Flask's test client, a staff bearer token). CPU time (`time.process_time`), so a busy
machine skews it less than wall time. Prints each round's medians, then the median of each checkout's
rounds and the ratio this checkout / the other.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: A visit at the counter: (figure's name, API path, engine function's name in `hall.queue`), in order.
ACTIONS = (("call", "call-next", "call_next"), ("recall", "recall", "recall"), ("start", "start", "start"),
           ("finish", "finish", "finish"))
FIGURES = tuple(f"{way}_{name}_ms" for way in ("engine", "http") for name, _path, _function in ACTIONS)


def measure(url: str, calls: int) -> dict[str, float]:
    """One checkout's figures (run in a child process whose `hall` is that checkout's)."""
    from hall import create_app, queue
    from hall.auth import create_api_token
    from hall.extensions import db
    from hall.models import Hall, Staff
    from sqlalchemy import select

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": True})
    with app.app_context():
        hall_id = db.session.scalar(select(Hall.id).where(Hall.slug == "demo"))
        staff = db.session.scalar(select(Staff).where(Staff.login == "staff1"))
        headers = {"Authorization": f"Bearer {create_api_token(staff)}"}
        staff_id = staff.id
        queue.open_counter(hall_id, 1, staff_id=staff_id)
        db.session.commit()
        for _ in range(2 * calls + 2):
            queue.issue_ticket(hall_id, "A")
        db.session.remove()
    client = app.test_client()

    def engine(action) -> float:
        with app.app_context():
            started = time.process_time()
            assert action(hall_id, 1, staff_id=staff_id) is not None
            spent = time.process_time() - started
            db.session.remove()
        return spent

    def http(path: str) -> float:
        started = time.process_time()
        assert client.post(f"/api/v1/halls/demo/counters/1/{path}", headers=headers).status_code == 200
        return time.process_time() - started

    ways = {"engine": lambda _path, function: engine(getattr(queue, function)),
            "http": lambda path, _function: http(path)}
    for act in ways.values():  # warm-up
        for _name, path, function in ACTIONS:
            act(path, function)
    spent: dict[str, list[float]] = {name: [] for name in FIGURES}
    for _ in range(calls):
        for way, act in ways.items():
            for name, path, function in ACTIONS:
                spent[f"{way}_{name}_ms"].append(act(path, function))
    return {name: statistics.median(values) * 1000 for name, values in spent.items()}


def run_round(checkout: Path, url: str, calls: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([sys.executable, __file__, "--child", url, "--calls", str(calls)], cwd=checkout, env=env,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--against", type=Path, help="another checkout, run alternately with this one")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per checkout")
    parser.add_argument("--calls", type=int, default=200, help="visits (call-next, recall, start, finish) per round and path")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.calls)))
        return
    sys.path.insert(0, str(ROOT))
    from bench.servers import database

    checkouts = {"this": ROOT, **({"other": args.against.resolve()} if args.against else {})}
    seen: dict[str, list[dict[str, float]]] = {name: [] for name in checkouts}
    with database(args.database) as url:
        for round_number in range(args.rounds):
            for name, checkout in checkouts.items():
                figures = run_round(checkout, url, args.calls)
                seen[name].append(figures)
                print(f"round {round_number + 1} {name:5} " + "  ".join(f"{k} {v:.3f}" for k, v in figures.items()),
                      flush=True)
    medians = {name: {k: statistics.median(r[k] for r in rounds) for k in FIGURES} for name, rounds in seen.items()}
    for name, figures in medians.items():
        print(f"{args.database} median {name:5} (CPU ms) " + "  ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    if args.against:
        print(f"{args.database} ratio this/other " + "  ".join(
            f"{k} {medians['this'][k] / medians['other'][k]:.2f}x" for k in FIGURES))


if __name__ == "__main__":
    main()
