"""CPU of one autocommit call on PostgreSQL, the way the one-call issue runs its statement (a pooled
connection, the statement on the DBAPI cursor), two ways, alternating in one process:

- option: SQLAlchemy's `isolation_level="AUTOCOMMIT"` execution option, set at each use and reset at the checkin;
- flag: `hall.database.autocommit`, the driver's own flag turned on and off (what `one_statement.in_autocommit` does).

The statement is `SELECT 1`, so what differs is the Python around it.

    PYTHONPATH=$PWD .venv/bin/python bench/autocommit_call.py
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hall.database import autocommit, configure_engine, run_driver  # noqa: E402
from tests.pg import PostgresServer  # noqa: E402

CALLS, ROUNDS = 2000, 7
_SELECT = sa.text("SELECT 1 AS one")


def main() -> None:
    server = PostgresServer()
    try:
        engine = sa.create_engine(server.start(), pool_size=5, pool_use_lifo=True)
        configure_engine(engine, 5)

        def option() -> None:
            with engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT")
                run_driver(connection, _SELECT, {}).one_or_none()

        def flag() -> None:
            with engine.connect() as connection, autocommit(connection):
                run_driver(connection, _SELECT, {}).one_or_none()

        ways = {"option": option, "flag": flag}
        for way in ways.values():
            for _ in range(CALLS // 4):
                way()
        spent: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(ROUNDS):
            for name, way in ways.items():
                started = time.process_time()
                for _ in range(CALLS):
                    way()
                spent[name].append((time.process_time() - started) / CALLS * 1e6)
        before, after = statistics.median(spent["option"]), statistics.median(spent["flag"])
        fewer = sum(f < o for f, o in zip(spent["flag"], spent["option"]))
        print(f"one autocommit call, CPU µs (median of {ROUNDS} rounds of {CALLS}): isolation-level option {before:.1f}, "
              f"driver flag {after:.1f}: {before - after:.1f} saved ({after / before:.2f}x; flag lower in {fewer}/{ROUNDS} pairs)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
