"""CPU of one autocommit call on PostgreSQL, the way the one-call issue runs its statement (on the DBAPI
cursor), three ways, alternating in one process:

- option: a pool checkout with SQLAlchemy's `isolation_level="AUTOCOMMIT"` execution option, set at each use
  and reset at the checkin;
- flag: a pool checkout with the driver's own autocommit flag turned on, and off again before the checkin;
- kept: a connection kept in autocommit for such calls, `hall.database.KeptAutocommit` (what
  `one_statement.in_autocommit` does): no pool checkout or checkin.

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

from hall.database import configure_engine, kept_autocommit, run_driver  # noqa: E402
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
            with engine.connect() as connection:
                driver = connection.connection.dbapi_connection
                driver.set_autocommit(True)
                run_driver(connection, _SELECT, {}).one_or_none()
                driver.set_autocommit(False)

        kept = kept_autocommit(engine)

        def kept_call() -> None:
            with kept.connection() as connection:
                run_driver(connection, _SELECT, {}).one_or_none()

        ways = {"option": option, "flag": flag, "kept": kept_call}
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
        medians = {name: statistics.median(figures) for name, figures in spent.items()}
        print(f"one autocommit call, CPU µs (median of {ROUNDS} rounds of {CALLS}): "
              + ", ".join(f"{name} {median:.1f}" for name, median in medians.items()))
        for before, after in (("option", "flag"), ("flag", "kept")):
            fewer = sum(a < b for a, b in zip(spent[after], spent[before]))
            print(f"  {after} against {before}: {medians[before] - medians[after]:.1f} saved "
                  f"({medians[after] / medians[before]:.2f}x; lower in {fewer}/{ROUNDS} rounds)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
