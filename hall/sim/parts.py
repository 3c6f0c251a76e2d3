"""A hall's past simulated on two cores at once, for a first start's demo hall.

The working days are split in two runs of days. Each is simulated in a process of its own, on a
copy of the live database's rows in a scratch SQLite file (so the hall, its counters and staff
have the same ids there); then the rows each part wrote are copied into the live database under
new ids, part after part, with the hall's event sequence numbers following on. The second part
first simulates the last day of the first one and throws it away, so that its handling times
(what the estimates learn from) start with a history, as in one run.

Only for a database without tickets yet (copying a hall's big history to scratch files would
cost more than it saves); a simulated day writes only the tables named here (checked).
"""
from __future__ import annotations

import multiprocessing
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import create_engine, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection

from hall.database import configure_engine
from hall.extensions import db
from hall.models import Hall, Service, Ticket
from hall.sim.layout import layout_of
from hall.sim.profile import Profile
from hall.sim.run import run_day
from hall.wal_checkpoints import CheckpointSettings

#: What a simulated day writes: rows with ids (copied under new ids; parents first) ...
WITH_IDS = ("staff_sessions", "tickets", "stages", "feedback", "complaint_cases", "ticket_events")
#: ... rows per business day (copied for the part's own days) ...
PER_DAY = ("ticket_sequences", "line_counts")
#: ... and the running handling times of the hall's stages (the last part's are the hall's).
RUNNING = "handling_times"
PARTS = 2
#: A part's process is forked where the system can (it starts with the app's modules loaded, not with a
#: second start-up of its own); each part opens its own database anyway. Elsewhere a fresh interpreter.
_START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"

Plan = list[tuple[date, Profile]]


def worth_splitting(plan: Plan) -> bool:
    """Enough days for two parts to pay for their start, and no tickets yet in the database."""
    return len(plan) >= 2 * PARTS and db.session.scalar(select(Ticket.id).limit(1)) is None


def split(plan: Plan, parts: int = PARTS) -> list[tuple[tuple[date, Profile] | None, Plan]]:
    """Consecutive runs of days, each with the day before it (to warm up on) or None for the first."""
    size, extra = divmod(len(plan), parts)
    runs, start = [], 0
    for n in range(parts):
        end = start + size + (n < extra)
        runs.append((plan[start - 1] if start else None, plan[start:end]))
        start = end
    return runs


def simulate_in_parts(hall: Hall, plan: Plan, seed: int) -> None:
    """Simulate the plan's days (day, profile) of `hall` in PARTS processes; their rows land in the live database."""
    folder = Path(tempfile.mkdtemp(prefix="hall-past-"))
    try:
        copy_of_live = folder / "live.db"
        _copy_live_database(copy_of_live)
        settings = {key: current_app.config[key] for key in ("HALL", "SECRET_KEY")}
        runs = split(plan)
        context = multiprocessing.get_context(_START_METHOD)
        if _START_METHOD == "fork":
            db.engine.dispose()  # no child inherits a pooled connection of the live database
        with ProcessPoolExecutor(len(runs), mp_context=context) as pool:
            jobs = []
            for n, (warm_up, days) in enumerate(runs):
                path = folder / f"part-{n}.db"
                shutil.copyfile(copy_of_live, path)
                jobs.append((path, days, pool.submit(simulate_part, str(path), settings, hall.id, warm_up, days, seed)))
            finished = [(path, days, job.result()) for path, days, job in jobs]
        for path, days, marks in finished:
            with _sqlite(path) as part:
                _copy_part(part, marks, hall.id, [day for day, _ in days])
        with _sqlite(finished[-1][0]) as part:
            _copy_handling_times(part, hall.id)
        _follow_sequences()
        db.session.commit()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def simulate_part(path: str, settings: dict[str, Any], hall_id: int, warm_up: tuple[date, Profile] | None,
                  days: Plan, seed: int) -> dict[str, int]:
    """In a child process: simulate the days in the SQLite file at `path` (a copy of the live rows);
    returns where the part's own rows start (highest id of each table and the hall's event seq before them)."""
    app = Flask("hall.sim")
    app.config.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}", **settings)
    db.init_app(app)
    with app.app_context():
        database = settings["HALL"]["database"]
        configure_engine(db.engine, database["sqlite_busy_timeout_s"], CheckpointSettings.of(database))
        hall = db.session.get(Hall, hall_id)
        layout = layout_of(hall)
        if warm_up is not None:
            run_day(hall, layout, warm_up[1], seed + warm_up[0].toordinal(), warm_up[0])
        before = _counts(db.session.connection())
        marks = {name: db.session.scalar(select(func.coalesce(func.max(_table(name).c.id), 0)))
                 for name in WITH_IDS}
        marks["seq"] = db.session.scalar(select(Hall.event_seq).where(Hall.id == hall_id))
        for day, profile in days:
            run_day(hall, layout, profile, seed + day.toordinal(), day)
        db.session.commit()
        unexpected = [name for name, count in _counts(db.session.connection()).items()
                      if count != before[name] and name not in (*WITH_IDS, *PER_DAY, RUNNING)]
        if unexpected:
            raise RuntimeError(f"a simulated day wrote rows of tables not copied back: {', '.join(unexpected)}")
        db.session.remove()
        db.engine.dispose()
    return marks


def _table(name: str):
    return db.metadata.tables[name]


def _counts(connection: Connection) -> dict[str, int]:
    return {t.name: connection.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


@contextmanager
def _sqlite(path: Path) -> Iterator[Connection]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def _copy_live_database(path: Path) -> None:
    """Every row of the live database (a first start's: the halls, nothing of their past) into a new SQLite file."""
    with _sqlite(path) as target:
        db.metadata.create_all(target)
        for table in db.metadata.sorted_tables:
            rows = [dict(row) for row in db.session.execute(select(table)).mappings()]
            if rows:
                target.execute(insert(table), rows)
    db.session.commit()


def _copy_part(part: Connection, marks: dict[str, int], hall_id: int, days: list[date]) -> None:
    """The part's own rows into the live database: new ids after the live ones, references and
    event sequence numbers moved along."""
    shifts = {}
    for name in WITH_IDS:
        highest = db.session.scalar(select(func.coalesce(func.max(_table(name).c.id), 0)))
        shifts[name] = (marks[name], highest - marks[name])
    seq_shift = db.session.scalar(select(Hall.event_seq).where(Hall.id == hall_id)) - marks["seq"]
    for name in WITH_IDS:
        table = _table(name)
        references = [(fk.parent.name, fk.column.table.name) for fk in table.foreign_keys
                      if fk.column.table.name in shifts]
        rows = []
        for row in part.execute(select(table).where(table.c.id > marks[name]).order_by(table.c.id)).mappings():
            row = dict(row)
            row["id"] += shifts[name][1]
            for column, target in references:
                if row[column] is not None and row[column] > shifts[target][0]:
                    row[column] += shifts[target][1]
            if name == "ticket_events":
                row["seq"] += seq_shift
            rows.append(row)
        if rows:
            db.session.execute(insert(table), rows)
    for name in PER_DAY:
        table = _table(name)
        rows = [dict(row) for row in part.execute(select(table).where(table.c.hall_id == hall_id,
                                                                      table.c.business_day.in_(days))).mappings()]
        if rows:
            db.session.execute(insert(table), rows)
    part_seq = part.scalar(select(Hall.event_seq).where(Hall.id == hall_id))
    db.session.execute(update(Hall).where(Hall.id == hall_id).values(event_seq=Hall.event_seq + part_seq - marks["seq"]))


def _copy_handling_times(part: Connection, hall_id: int) -> None:
    table = _table(RUNNING)
    services = select(Service.id).where(Service.hall_id == hall_id).scalar_subquery()
    db.session.execute(delete(table).where(table.c.service_id.in_(services)))
    rows = [dict(row) for row in part.execute(select(table).where(table.c.service_id.in_(
        select(Service.id).where(Service.hall_id == hall_id)))).mappings()]
    if rows:
        db.session.execute(insert(table), rows)


def _follow_sequences() -> None:
    """PostgreSQL: the id sequences go on after the ids copied in (SQLite takes max(id) + 1 anyway)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for name in WITH_IDS:
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                f"(SELECT coalesce(max(id), 1) FROM {name}))"))
