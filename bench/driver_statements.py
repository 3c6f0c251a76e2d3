"""CPU of an issue's statements: SQLAlchemy's compiled execution against the same statement sent as
driver SQL (`hall.database.run_driver`), and the hall lock returning every hall column against only
the issue's (`hall.queue.unit.PLAIN_HALL_COLUMNS`).

    python bench/driver_statements.py                     # fresh SQLite file with the demo hall
    python bench/driver_statements.py --database postgres # a throw-away PostgreSQL

Both variants run in one process and one transaction (rolled back), in alternating batches of 1 000;
prints the medians of 9 batches per variant, in µs CPU per statement.
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import bindparam, update  # noqa: E402

from bench.servers import database  # noqa: E402
from hall import create_app  # noqa: E402
from hall.database import begin_write, run_driver  # noqa: E402
from hall.extensions import db  # noqa: E402
from hall.models import Hall  # noqa: E402
from hall.queue.unit import INSERT_EVENT, PLAIN_HALL_COLUMNS  # noqa: E402

BATCH, BATCHES = 1000, 9


def per_statement_us(variants: dict[str, Callable[[], object]]) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(BATCHES):
        for name, run in variants.items():
            started = time.process_time()
            for _ in range(BATCH):
                run()
            times[name].append((time.process_time() - started) / BATCH * 1e6)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    with database(args.database) as url:
        measure(args.database, create_app({"SQLALCHEMY_DATABASE_URI": url}))


def measure(kind: str, app) -> None:
    table = Hall.__table__
    which = (table.c.slug == bindparam("hall")) & table.c.active.is_(True)
    bump = update(table).where(which).values(event_seq=table.c.event_seq + 1)
    every_column, issue_columns = bump.returning(*table.c), bump.returning(*(table.c[n] for n in PLAIN_HALL_COLUMNS))
    with app.app_context():
        begin_write(db.session())
        connection = db.session.connection()
        hall_id = connection.execute(every_column, {"hall": "demo"}).one().id
        row = dict(hall_id=hall_id, seq=10**6, ticket_id=None, kind="issued", at=datetime(2026, 11, 30, 9), counter_id=None,
                   staff_id=None, data={"priority": "normal", "channel": "kiosk", "estimated_wait_s": 30})
        seqs = itertools.count(10**6)  # the event log's (hall, seq) rows are unique
        events = per_statement_us({"SQLAlchemy": lambda: connection.execute(INSERT_EVENT, {**row, "seq": next(seqs)}),
                                   "driver SQL": lambda: run_driver(connection, INSERT_EVENT, {**row, "seq": next(seqs)})})
        locks = per_statement_us({"every column": lambda: connection.execute(every_column, {"hall": "demo"}).one(),
                                  "issue": lambda: connection.execute(issue_columns, {"hall": "demo"}).one()})
        db.session.rollback()
    print(f"{kind}: event row INSERT {events['SQLAlchemy']:.1f} µs through SQLAlchemy, "
          f"{events['driver SQL']:.1f} µs as driver SQL ({events['driver SQL'] / events['SQLAlchemy']:.2f}x)")
    print(f"{kind}: hall lock RETURNING every column {locks['every column']:.1f} µs, the issue's "
          f"{len(PLAIN_HALL_COLUMNS)} {locks['issue']:.1f} µs ({locks['issue'] / locks['every column']:.2f}x)")


if __name__ == "__main__":
    main()
