"""CPU of one hall's alarm scan (every server process runs it for every hall each housekeeping round) with
a long waiting line, reading the whole line (as before) or only the tickets queued before the hall's
shortest wait limit (hall/alarms.py `_waits`), alternating in one process.

    python bench/alarm_scan.py                          # SQLite, 0 / 2 000 / 20 000 waiting
    python bench/alarm_scan.py --database postgres --waiting 5000
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from unittest import mock

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.issue_rate import fill_waiting  # noqa: E402
from bench.servers import database  # noqa: E402
from hall import alarms, clock, create_app  # noqa: E402
from hall.extensions import db  # noqa: E402
from hall.models import Hall, Service, Ticket  # noqa: E402
from hall.queue.lookup import hall_by_slug  # noqa: E402
from hall.queue.rules import today  # noqa: E402

ROUNDS = 7


def whole_line(hall: Hall, now: datetime, _services: dict[int, Service]) -> list[alarms.Condition]:
    """`_waits` as it was: every waiting ticket of the hall's day read, each compared with its limit."""
    rows = db.session.execute(
        select(Ticket.id, Ticket.number, Ticket.queued_at, Service.prefix, Service.wait_limit_s)
        .join(Service, Service.id == Ticket.service_id)
        .where(Ticket.hall_id == hall.id, Ticket.status == "waiting", Ticket.business_day == today(hall, now))).all()
    return [alarms.Condition("wait_over_limit", f"ticket:{tid}", f"{number} waits over {limit // 60} min",
                             {"number": number, "service": prefix, "since": clock.iso(queued), "limit_s": limit})
            for tid, number, queued, prefix, limit in rows if (now - queued).total_seconds() > limit]


def scan_ms(app, hall_id: int, scans: int) -> float:
    with app.app_context():
        started = time.process_time()
        for _ in range(scans):
            alarms.scan_hall(hall_id)
            db.session.remove()
        return (time.process_time() - started) / scans * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--waiting", type=int, action="append", help="tickets waiting (repeatable)")
    parser.add_argument("--scans", type=int, default=5, help="scans per batch")
    args = parser.parse_args()
    for waiting in args.waiting or [0, 2000, 20000]:
        with database(args.database) as url:  # a fresh one for each line's length
            if waiting:
                fill_waiting(url, "demo", waiting)
            app = create_app({"SQLALCHEMY_DATABASE_URI": url})
            with app.app_context():
                hall_id = hall_by_slug("demo").id
            scan_ms(app, hall_id, 1)
            before, after = [], []
            for _ in range(ROUNDS):
                with mock.patch.object(alarms, "_waits", whole_line):
                    before.append(scan_ms(app, hall_id, args.scans))
                after.append(scan_ms(app, hall_id, args.scans))
            with app.app_context():
                db.engine.dispose()
        b, a = statistics.median(before), statistics.median(after)
        print(f"{args.database}, {waiting:6} waiting: a hall's scan {b:7.2f} ms CPU reading the whole line,"
              f" {a:6.2f} ms reading the tickets past the shortest limit ({a / b:.2f}x); {ROUNDS} pairs of"
              f" {args.scans} scans", flush=True)


if __name__ == "__main__":
    main()
