"""A month's report over 1 000 000 tickets on SQLite and PostgreSQL.

Bulk-inserts a realistic month of the demo hall (tickets, stage passes, ratings)
straight into the event tables, rolls the days up into report facts and
aggregates the way day close does, then times the report queries (every row of
the figures the reports show for a month). Prints the row counts and the times.

    python bench/report.py [--tickets 1000000] [--skip-postgres]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from hall import create_app  # noqa: E402
from hall.demo import COUNTERS, create_demo_hall  # noqa: E402
from hall.extensions import db  # noqa: E402
from hall.models import (Counter, Feedback, Hall, ReportCount, ReportDayFigure, ReportHistogram,  # noqa: E402
                         ReportRating, ReportStage, ReportStageCount, ReportTicket, Service, Stage, Staff, Ticket)
from hall.reports.engine import Filters, figures, stage_rows  # noqa: E402
from hall.reports.monthly import Month, monthly_report  # noqa: E402
from hall.reports.rollup import roll_up  # noqa: E402

FIRST = date(2026, 3, 1)
DAYS = 31
CHUNK = 50_000
SHARES = {"A": 0.45, "B": 0.25, "C": 0.30}


def _generate(tickets: int, hall: Hall, seed: int = 7):
    """Rows of tickets, stages and feedback for one month, as plain dicts with explicit ids."""
    rng = random.Random(seed)
    services = {s.prefix: s for s in db.session.scalars(sa.select(Service).where(Service.hall_id == hall.id))}
    counters = {c.number: c for c in db.session.scalars(sa.select(Counter).where(Counter.hall_id == hall.id))}
    staff = [s.id for s in db.session.scalars(sa.select(Staff).where(Staff.login.like("staff%")))]
    serving = {}  # (prefix, stage code) → counters that serve it
    for number, links in COUNTERS.items():
        for prefix, codes in links:
            for stage in services[prefix].stages:
                if codes is None or stage.code in codes:
                    serving.setdefault((prefix, stage.code), []).append(number)
    per_day = tickets // DAYS
    stage_id = feedback_id = 0
    ticket_id = 0
    for day_index in range(DAYS):
        day = FIRST + timedelta(days=day_index)
        opens = datetime.combine(day, datetime.min.time()) + timedelta(minutes=30)  # 08:30 in Shanghai
        seqs = {p: 0 for p in SHARES}
        count = per_day + (tickets - per_day * DAYS if day_index == DAYS - 1 else 0)
        t_rows, s_rows, f_rows = [], [], []
        for _ in range(count):
            ticket_id += 1
            prefix = rng.choices(list(SHARES), weights=list(SHARES.values()))[0]
            service = services[prefix]
            seqs[prefix] += 1
            issued = opens + timedelta(seconds=rng.randrange(0, 8 * 3600 + 1800))
            roll = rng.random()
            status = "done" if roll < 0.90 else "no_show" if roll < 0.94 else "cancelled" if roll < 0.97 \
                else "not_served"
            clock = issued
            estimate = int(rng.expovariate(1 / 540))
            closed = None
            flow = service.stages if status == "done" else service.stages[:1]
            for position, stage in enumerate(flow):
                queued = clock
                row = {"id": None, "ticket_id": ticket_id, "hall_id": hall.id, "business_day": day,
                       "service_id": service.id, "position": position, "code": stage.code, "queued_at": queued,
                       "called_at": None, "started_at": None, "finished_at": None, "staff_id": None,
                       "counter_id": None, "outcome": None}
                if status in ("cancelled", "not_served"):
                    row["outcome"] = status
                    closed = queued + timedelta(seconds=rng.randrange(60, 3600)) if status == "cancelled" else None
                else:
                    number = rng.choice(serving[(prefix, stage.code)])
                    called = queued + timedelta(seconds=int(rng.expovariate(1 / 600)))
                    row.update(called_at=called, counter_id=counters[number].id, staff_id=staff[number - 1])
                    if status == "no_show":
                        row["outcome"] = "no_show"
                        closed = called + timedelta(seconds=120)
                    else:
                        started = called + timedelta(seconds=rng.randrange(10, 90))
                        finished = started + timedelta(seconds=int(rng.gammavariate(3, stage.limit_s / 5)))
                        row.update(started_at=started, finished_at=finished, outcome="done")
                        clock = closed = finished
                stage_id += 1
                row["id"] = stage_id
                s_rows.append(row)
            t_rows.append({
                "id": ticket_id, "hall_id": hall.id, "service_id": service.id, "business_day": day,
                "seq": seqs[prefix], "number": f"{prefix}{seqs[prefix]:05d}", "token": f"bench-{ticket_id:09d}",
                "priority": "normal", "channel": "kiosk", "status": status, "stage_position": len(flow) - 1,
                "stage_code": flow[-1].code, "issued_at": issued, "queued_at": s_rows[-1]["queued_at"],
                "sort_at": issued, "called_at": s_rows[-1]["called_at"], "closed_at": closed, "recall_count": 0,
                "estimated_wait_s": estimate, "outcome": "done" if status == "done" else None})
            if status == "done" and rng.random() < 0.3:
                feedback_id += 1
                last = s_rows[-1]
                f_rows.append({"id": feedback_id, "hall_id": hall.id, "ticket_id": ticket_id, "channel": "pad",
                               "rating": rng.choices([5, 4, 3, 2, 1], weights=[70, 22, 5, 2, 1])[0],
                               "reasons": [], "comment": "", "staff_id": last["staff_id"],
                               "counter_id": last["counter_id"], "created_at": closed})
        yield t_rows, s_rows, f_rows


def _insert(rows: list[dict], table) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(table.insert(), rows[start:start + CHUNK])


def load(tickets: int) -> int:
    hall_slug = "demo"
    create_demo_hall(hall_slug)
    hall = db.session.scalar(sa.select(Hall).where(Hall.slug == hall_slug))
    for t_rows, s_rows, f_rows in _generate(tickets, hall):
        _insert(t_rows, Ticket.__table__)
        _insert(s_rows, Stage.__table__)
        _insert(f_rows, Feedback.__table__)
        db.session.commit()
    return hall.id


def timed(label: str, call, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
        db.session.rollback()
    print(f"  {label:46} {best * 1000:8.0f} ms")
    return best


def run(url: str, name: str, tickets: int) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        start = time.perf_counter()
        hall_id = load(tickets)
        print(f"{name}: {tickets:,} tickets inserted in {time.perf_counter() - start:.0f} s")
        start = time.perf_counter()
        roll_up(hall_id, FIRST, FIRST + timedelta(days=DAYS - 1))
        print(f"  roll-up of {DAYS} closed days (once, at day close)  {time.perf_counter() - start:8.1f} s")
        for model in (ReportTicket, ReportStage, ReportCount, ReportStageCount, ReportRating, ReportHistogram,
                      ReportDayFigure):
            rows = db.session.scalar(sa.select(sa.func.count()).select_from(model))
            print(f"  {model.__tablename__:46} {rows:8,} rows")
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE report_tickets")
                conn.exec_driver_sql("VACUUM ANALYZE report_stages")
        else:
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        month = Filters(hall_id, FIRST, FIRST + timedelta(days=DAYS - 1))
        issued = figures(month)[0]["issued"]
        assert issued == tickets, issued
        timed("month headline figures (all filters off)", lambda: figures(month))
        for by in ("day", "hour", "service", "counter", "staff"):
            timed(f"month broken down by {by}", lambda: figures(month, by))
        timed("month handling per service and stage", lambda: stage_rows(month))
        service_b = db.session.scalar(sa.select(Service.id).where(Service.prefix == "B"))
        timed("month, service B only", lambda: figures(Filters(hall_id, month.first, month.last, service_id=service_b)))
        hall = db.session.get(Hall, hall_id)
        with app.test_request_context("/?lang=zh"):
            timed("monthly report (this + last month, services, days)",
                  lambda: monthly_report(hall, Month(2026, 3), "zh"))
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hall-bench-"))
    if not args.skip_sqlite:
        run(f"sqlite:///{folder / 'bench.db'}", "SQLite", args.tickets)
    if not args.skip_postgres:
        from tests.pg import PostgresServer

        server = PostgresServer()
        url = server.start()
        try:
            run(url, "PostgreSQL", args.tickets)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
