"""What the public screens' waiting counts cost: the read behind each `hall_waiting`, and the messages a screen gets.

    python bench/waiting_counts.py [--waiting 0 --waiting 20000] [--rounds 5] [--seconds 10] [--issues-per-s 10]
        [--screens 10] [--before OTHER_CHECKOUT] [--skip-read] [--skip-messages]

The checkout before (default /tmp/waitcount-before):
    git archive 8e34a42 | tar -x -C /tmp/waitcount-before; ln -sfn "$PWD/.venv" /tmp/waitcount-before/.venv

1. The read (in this process, on SQLite and on PostgreSQL, a fresh demo hall with --waiting tickets
   waiting today; 0 and 20 000 unless said): a `hall_waiting` message's read (the hall, then the
   waiting counts per service) with the counts as a grouped COUNT over the day's waiting tickets (how
   `hall_waiting` and the snapshot read them up to 8e34a42) against this checkout's `waiting_message`
   (the lines' running counts), alternating, --rounds rounds of many reads each. Prints the median ms
   per read (with its commit) and the ratio, and checks both give the same message.
2. The messages (`hall serve --workers 2` + Redis on SQLite, this checkout and --before's, both kept
   running, rounds alternating): --screens public screens (half on each process, websocket) while
   kiosks issue --issues-per-s tickets a second alternately on the two processes for --seconds. Prints
   `hall_waiting` messages per screen and second (medians over the rounds), and whether every screen
   ended on the server's counts and how long after the last issue it got them.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
import socketio
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fanout import HALL, redis_server, staff_headers  # noqa: E402
from bench.issue_rate import fill_waiting  # noqa: E402
from bench.servers import database  # noqa: E402
from tests.live import ROOT, LiveServer  # noqa: E402


# --- 1. the read ------------------------------------------------------------------------------------------

def grouped_message(slug: str) -> dict[str, Any]:
    """`hall_waiting` as read up to 8e34a42: the hall, then a COUNT over the day's waiting tickets."""
    from hall.queue.lookup import hall_by_slug

    hall = hall_by_slug(slug)
    return {"hall": slug, "seq": hall.event_seq, "public_seq": hall.public_seq, "services": grouped_count(hall)}


def grouped_count(hall) -> list[dict[str, Any]]:
    from hall.extensions import db
    from hall.models import Service, Ticket
    from hall.queue.rules import today

    counts = dict(db.session.execute(
        sa.select(Ticket.service_id, sa.func.count()).where(Ticket.hall_id == hall.id, Ticket.status == "waiting",
                                                            Ticket.business_day == today(hall))
        .group_by(Ticket.service_id)).all())
    services = db.session.scalars(sa.select(Service).where(Service.hall_id == hall.id, Service.active.is_(True))
                                  .order_by(Service.kiosk_order)).all()
    return [{"service": s.prefix, "name_zh": s.name_zh, "name_en": s.name_en, "waiting": counts.get(s.id, 0)}
            for s in services]


def ms_per_read(read: Callable[[], Any], seconds: float = 1.0) -> float:
    """Median ms of repeated reads (each in its own transaction, as the push does) for about `seconds`."""
    from hall.extensions import db

    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 5:
        started = time.perf_counter()
        read()
        db.session.commit()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def read_cost(kind: str, waiting: int, rounds: int) -> None:
    from hall import create_app
    from hall.extensions import db
    from hall.realtime_waiting import waiting_message

    with database(kind) as url:
        if waiting:
            fill_waiting(url, "demo", waiting)
        os.environ["HALL_DATABASE_URL"] = url
        app = create_app()
        with app.app_context():
            after = waiting_message("demo")
            same = grouped_message("demo") == after
            total = sum(s["waiting"] for s in after["services"])
            figures: dict[str, list[float]] = {"grouped": [], "running": []}
            for _ in range(rounds):
                figures["grouped"].append(ms_per_read(lambda: grouped_message("demo")))
                figures["running"].append(ms_per_read(lambda: waiting_message("demo")))
            db.session.remove()
            db.engine.dispose()
    grouped, running = (statistics.median(figures[k]) for k in ("grouped", "running"))
    print(f"READ {kind:8s} {total} waiting: grouped count {grouped:.3f} ms, running counts {running:.3f} ms "
          f"(after/before {running / grouped:.3f}x), same message: {same}", flush=True)


# --- 2. the messages ------------------------------------------------------------------------------------

class Screen:
    """A public screen (websocket) counting the `hall_waiting` messages it hears."""

    def __init__(self, url: str) -> None:
        self.messages: list[tuple[float, dict]] = []
        self.client = socketio.Client(reconnection=False)
        self.client.on("hall_waiting", lambda body: self.messages.append((time.monotonic(), body)))
        self.client.connect(url, auth={"hall": "demo"}, transports=["websocket"], wait_timeout=10)


@contextlib.contextmanager
def two_processes(root: Path) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """`hall serve --workers 2` of the checkout `root` with its own Redis, on a fresh SQLite demo hall."""
    with database("sqlite", root) as url, redis_server() as redis_url:
        server = LiveServer(url, root=root, PYTHONPATH=str(root), HALL_REDIS_URL=redis_url, HALL_SERVER_WORKERS="2",
                            HALL_VOICE_ENABLED="false").start(timeout=180)
        try:
            yield server, staff_headers(url, root)
        finally:
            server.stop()


def counts(message: dict) -> dict[str, int]:
    return {s["service"]: s["waiting"] for s in message["services"]}


def waiting_now(url: str) -> dict[str, int]:
    services = requests.get(f"{url}{HALL}/queue", timeout=10).json()["services"]
    return {s["service"]: s["waiting"] for s in services}


def message_round(server: LiveServer, headers: dict[str, str], screens: int, seconds: float,
                  issues_per_s: float) -> dict[str, float]:
    """Screens on both processes while kiosks issue on both in turn; messages per screen and second."""
    connected = [Screen(server.urls[n % 2]) for n in range(screens)]
    try:
        time.sleep(1.5)  # what an earlier round left on its way
        for screen in connected:
            screen.messages.clear()
        urls, session = itertools.cycle(server.urls), requests.Session()
        started = time.monotonic()
        for n in itertools.count():
            at = started + n / issues_per_s
            if at >= started + seconds:
                break
            time.sleep(max(0.0, at - time.monotonic()))
            session.post(f"{next(urls)}{HALL}/tickets", json={"service": "A", "channel": "staff"}, headers=headers,
                         timeout=10).raise_for_status()
        last_issue = time.monotonic()
        time.sleep(3.5)  # the last messages, and a lost turn's check
        final = waiting_now(server.url)
        rates, shown_after, right = [], [], 0
        for screen in connected:
            rates.append(sum(t < started + seconds for t, _ in screen.messages) / seconds)
            shown = [(t, counts(body) == final) for t, body in screen.messages]
            if shown and shown[-1][1]:  # it ends on the server's counts: since when
                right += 1
                shown_after.append(next(t for t, same in shown if same) - last_issue)
        return {"per_screen_s": statistics.median(rates), "max_per_screen_s": max(rates), "right": right,
                "shown_after_s": max(shown_after) if shown_after else float("nan")}
    finally:
        for screen in connected:
            screen.client.disconnect()


def messages(args) -> None:
    trees = {"before": args.before, "after": ROOT}
    with contextlib.ExitStack() as stack:
        running = {name: stack.enter_context(two_processes(root)) for name, root in trees.items()}
        results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for round_number in range(args.rounds):
            for name in trees:
                result = message_round(*running[name], args.screens, args.seconds, args.issues_per_s)
                results[name].append(result)
                print(f"  round {round_number + 1} {name}: {result}", flush=True)
    summary = {name: {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
               for name, rounds in results.items()}
    for name, figures in summary.items():
        print(f"MESSAGES {name:6s} 2 processes + Redis, {args.issues_per_s:g} issues/s on both in turn, "
              f"{args.screens} screens: {figures['per_screen_s']:.2f} hall_waiting per screen and second "
              f"(most {figures['max_per_screen_s']:.2f}); screens on the final counts {figures['right']:.0f}/"
              f"{args.screens}, {figures['shown_after_s']:.2f} s after the last issue", flush=True)
    before, after = summary["before"]["per_screen_s"], summary["after"]["per_screen_s"]
    print(f"MESSAGES after/before {after / before:.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waiting", type=int, action="append", help="tickets waiting (repeatable; 0 and 20000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--issues-per-s", type=float, default=10)
    parser.add_argument("--screens", type=int, default=10)
    parser.add_argument("--before", type=Path, default=Path("/tmp/waitcount-before"),
                        help="a checkout of the code before (default: /tmp/waitcount-before, from 8e34a42)")
    parser.add_argument("--skip-read", action="store_true")
    parser.add_argument("--skip-messages", action="store_true")
    args = parser.parse_args()
    if not args.skip_read:
        for kind in ("sqlite", "postgres"):
            for waiting in args.waiting or (0, 20000):
                read_cost(kind, waiting, args.rounds)
    if not args.skip_messages:
        messages(args)


if __name__ == "__main__":
    main()
