"""CPU per issued ticket in one process: the whole HTTP request and the engine call alone.

    python bench/issue_cpu.py                      # this checkout
    python bench/issue_cpu.py --database postgres  # on a throw-away PostgreSQL (the one-call issue)
    cd <other checkout> && PYTHONPATH=. python <this checkout>/bench/issue_cpu.py   # another one

A fresh SQLite file (or PostgreSQL database) with the demo hall; the request goes through Flask's test client with the rate
limiter on, the engine call is `queue.issue_ticket` in an app context; a kiosk tap is the kiosk page's
own route (the ticket, its QR code and print job). Prints the median of 5 batches
of 200 for service A and for the real-name service C. CPU time, so a busy machine skews it less than
wall time; compare checkouts one after the other on the same machine.
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable

from flask import Flask
from flask_migrate import upgrade

from hall import create_app, queue
from hall.demo import create_demo_hall
from hall.extensions import db
from hall.queue.realname import simulated_id_number
from tests.pg import PostgresServer

BATCH, BATCHES = 200, 5


def demo_app(url: str) -> Flask:
    """The app on a fresh database at `url` holding the demo hall, with the rate limiter on."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": True})
    with app.app_context():
        upgrade()
        create_demo_hall("demo")
        db.session.commit()
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    if parser.parse_args().database == "sqlite":
        measure(demo_app(f"sqlite:///{tempfile.mkdtemp()}/cpu.db"))
        return
    server = PostgresServer()
    try:
        measure(demo_app(server.start()))
    finally:
        server.stop()


def measure(app: Flask) -> None:
    client = app.test_client()
    visitors = itertools.count()

    def id_number(service: str) -> str | None:
        return simulated_id_number(next(visitors)) if service == "C" else None

    def over_http(service: str) -> None:
        body = {"service": service, **({"id_number": id_number(service)} if service == "C" else {})}
        assert client.post("/api/v1/halls/demo/tickets", json=body).status_code == 201

    def kiosk_tap(service: str) -> None:
        """The kiosk page's route: the ticket, its status link's QR code and its print job."""
        body = {"service": service, "idempotency_key": f"bench-tap-{next(visitors):012d}",
                **({"id_number": id_number(service)} if service == "C" else {})}
        assert client.post("/api/v1/halls/demo/kiosk/tickets", json=body).status_code == 201

    def engine_alone(service: str) -> None:
        with app.app_context():
            queue.issue_ticket("demo", service, id_number=id_number(service))
            db.session.remove()

    def per_ticket_ms(issue: Callable[[str], None], service: str) -> float:
        issue(service)  # the line, the day and what the process keeps exist
        batches = []
        for _ in range(BATCHES):
            started = time.process_time()
            for _ in range(BATCH):
                issue(service)
            batches.append((time.process_time() - started) / BATCH * 1000)
        return statistics.median(batches)

    for service in ("A", "C"):
        whole, engine = per_ticket_ms(over_http, service), per_ticket_ms(engine_alone, service)
        print(f"service {service}: HTTP request {whole:.2f} ms CPU, engine call alone {engine:.2f} ms,"
              f" the request around it {whole - engine:.2f} ms; a kiosk tap {per_ticket_ms(kiosk_tap, service):.2f} ms",
              flush=True)


if __name__ == "__main__":
    main()
