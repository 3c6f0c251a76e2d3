"""CPU per counter action in one process (call-next, recall, start, finish; with `--visit moves` transfer, call
by number, no-show and reinstate): the engine call alone and the whole HTTP request.

    python bench/call_cpu.py                                   # this checkout, SQLite
    python bench/call_cpu.py --database postgres               # a throw-away PostgreSQL
    python bench/call_cpu.py --against /tmp/before --rounds 4  # this checkout and another, alternating
    python bench/call_cpu.py --visit moves --against /tmp/before  # transfer, call by number, reinstate

One database with the demo hall (this checkout's schema); each round is a fresh process of a checkout
(A B A B ...): it issues tickets of service A, then times counter 1's call-next, recall, start and finish,
each alone, `--calls` times through the engine (`queue.call_next` ... in an app context) and as many times
through the API (Flask's test client, a staff bearer token), and the whole visit's. CPU time (`time.process_time`,
or with `--clock thread` the timing thread's alone), so a busy machine skews it less than wall time. Prints each round's medians, then the median of each checkout's
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


def _at_counter(path: str, function: str) -> tuple:
    """A body-less action of counter 1: its API path and its engine call."""
    return (lambda _number: (f"counters/1/{path}", None),
            lambda queue, hall_id, _number, staff_id: getattr(queue, function)(hall_id, 1, staff_id=staff_id))


_CALL_NUMBER = (lambda number: ("counters/1/call", {"number": number}),
                lambda queue, hall_id, number, staff_id: queue.call_ticket(hall_id, 1, number, staff_id=staff_id))
#: Visits at counter 1, each a run of (figure's name, API request of the visit's ticket number, engine call);
#: the first step, call-next, gives the visit its ticket. `counter`: the usual visit; `moves`: a transfer (to
#: counter 2's line), the ticket called back by its number, a no-show, its reinstating, called by number again.
VISITS = {
    "counter": (("call", *_at_counter("call-next", "call_next")), ("recall", *_at_counter("recall", "recall")),
                ("start", *_at_counter("start", "start")), ("finish", *_at_counter("finish", "finish"))),
    "moves": (("call", *_at_counter("call-next", "call_next")),
              ("transfer", lambda _number: ("counters/1/transfer", {"service": "A", "counter": 2}),
               lambda queue, hall_id, _number, staff_id: queue.transfer(hall_id, 1, service="A", counter=2,
                                                                        staff_id=staff_id)),
              ("call_number", *_CALL_NUMBER), ("no_show", *_at_counter("no-show", "no_show")),
              ("reinstate", lambda number: (f"tickets/{number}/reinstate", None),
               lambda queue, hall_id, number, staff_id: queue.reinstate(hall_id, number, staff_id=staff_id)),
              ("call_number", *_CALL_NUMBER), ("finish", *_at_counter("finish", "finish"))),
}


def figures_of(visit: str) -> tuple[str, ...]:
    """Each action's figure, and the whole visit's (what a change that moves work from one action to the next,
    or to a background thread running meanwhile, leaves as it is), per way."""
    names = [*dict.fromkeys(name for name, _request, _call in VISITS[visit]), "visit"]
    return tuple(f"{way}_{name}_ms" for way in ("engine", "http") for name in names)


#: `process`: the whole process's CPU (a background thread's work meanwhile too: the picture read again after a
#: call, the log's checkpoints); `thread`: the timing thread's alone.
CLOCKS = {"process": time.process_time, "thread": time.thread_time}


def measure(url: str, calls: int, visit: str, clock: str) -> dict[str, float]:
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
    client, cpu = app.test_client(), CLOCKS[clock]

    def engine(call, number: str | None) -> tuple[float, str | None]:
        with app.app_context():
            started = cpu()
            event = call(queue, hall_id, number, staff_id)
            spent = cpu() - started
            db.session.remove()
        assert event is not None
        return spent, event["ticket"]["number"]

    def http(request, number: str | None) -> tuple[float, str | None]:
        path, body = request(number)
        started = cpu()
        response = client.post(f"/api/v1/halls/demo/{path}", headers=headers, json=body)
        spent = cpu() - started
        assert response.status_code == 200, response.get_data(as_text=True)
        return spent, response.get_json()["number"]

    def one_visit(way: str) -> list[tuple[str, float]]:
        number, spent = None, []
        for name, request, call in VISITS[visit]:
            seconds, number = engine(call, number) if way == "engine" else http(request, number)
            spent.append((f"{way}_{name}_ms", seconds))
        return spent

    for way in ("engine", "http"):  # warm-up
        one_visit(way)
    spent: dict[str, list[float]] = {name: [] for name in figures_of(visit)}
    for _ in range(calls):
        for way in ("engine", "http"):
            visited = one_visit(way)
            for name, seconds in visited:
                spent[name].append(seconds)
            spent[f"{way}_visit_ms"].append(sum(seconds for _name, seconds in visited))
    return {name: statistics.median(values) * 1000 for name, values in spent.items()}


def run_round(checkout: Path, url: str, calls: int, visit: str, clock: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([sys.executable, __file__, "--child", url, "--calls", str(calls), "--visit", visit,
                          "--clock", clock],
                         cwd=checkout, env=env,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--against", type=Path, help="another checkout, run alternately with this one")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per checkout")
    parser.add_argument("--calls", type=int, default=200, help="visits per round and path")
    parser.add_argument("--visit", choices=sorted(VISITS), default="counter",
                        help="counter: call-next, recall, start, finish; moves: call-next, transfer, call by number, "
                             "no-show, reinstate, call by number, finish")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="process",
                        help="process: the whole process's CPU (default); thread: the timing thread's alone")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.calls, args.visit, args.clock)))
        return
    sys.path.insert(0, str(ROOT))
    from bench.servers import database

    checkouts = {"this": ROOT, **({"other": args.against.resolve()} if args.against else {})}
    seen: dict[str, list[dict[str, float]]] = {name: [] for name in checkouts}
    with database(args.database) as url:
        for round_number in range(args.rounds):
            for name, checkout in checkouts.items():
                figures = run_round(checkout, url, args.calls, args.visit, args.clock)
                seen[name].append(figures)
                print(f"round {round_number + 1} {name:5} " + "  ".join(f"{k} {v:.3f}" for k, v in figures.items()),
                      flush=True)
    figures = figures_of(args.visit)
    medians = {name: {k: statistics.median(r[k] for r in rounds) for k in figures} for name, rounds in seen.items()}
    for name, figures in medians.items():
        print(f"{args.database} median {name:5} (CPU ms) " + "  ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    if args.against:
        print(f"{args.database} ratio this/other " + "  ".join(
            f"{k} {medians['this'][k] / medians['other'][k]:.2f}x" for k in figures))


if __name__ == "__main__":
    main()
