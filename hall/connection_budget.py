"""PostgreSQL accepts only `max_connections` clients: the pools of all server processes must fit.

`hall serve --workers N` starts N processes, each with a pool of up to `pool_size + max_overflow`
connections. If together they can ask for more than PostgreSQL accepts, the service starts fine
and fails later, at the morning peak, with "too many clients". config.toml's rule keeps room for
the superusers' reserved connections, backups, migrations and psql.
"""
from __future__ import annotations

from sqlalchemy import create_engine, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

#: Connections left to others: 3 reserved for superusers, the rest for backup, migrations and psql.
KEPT_FOR_OTHERS = 10
#: A database that does not answer within this many seconds is taken as unreachable at start.
CONNECT_TIMEOUT_S = 5


class DatabaseUnreachable(RuntimeError):
    """The database's max_connections could not be read: the budget is not checked."""


def budget_problem(workers: int, pool_size: int, max_overflow: int, max_connections: int) -> str | None:
    """Why `workers` pools of `pool_size + max_overflow` do not fit `max_connections`, or None."""
    per_process = pool_size + max_overflow
    needed = workers * per_process
    available = max_connections - KEPT_FOR_OTHERS
    if needed <= available:
        return None
    fitting = max(available, 0) // max(per_process, 1)
    return (f"{workers} server process(es) × (pool_size {pool_size} + max_overflow {max_overflow}) = {needed} "
            f"database connections at a peak, but PostgreSQL's max_connections is {max_connections} and "
            f"{KEPT_FOR_OTHERS} of them are kept for superusers, backup, migrations and psql: at most "
            f"{available} for Hall. Run fewer processes (--workers, [server] workers: {fitting} fit this "
            f"pool), a smaller pool ([database] pool_size and max_overflow / HALL_DATABASE_POOL_SIZE, "
            f"HALL_DATABASE_MAX_OVERFLOW), or raise max_connections on the PostgreSQL server")


def postgresql_max_connections(url: URL | str) -> int | None:
    """The server's `max_connections`; None for a database that is not PostgreSQL (SQLite: no limit).

    Read on a connection of its own, closed at once, so that the server processes started next do
    not inherit it. Raises DatabaseUnreachable when the server does not answer."""
    if make_url(url).get_backend_name() != "postgresql":
        return None
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    try:
        with engine.connect() as connection:
            return int(connection.exec_driver_sql("SHOW max_connections").scalar_one())
    except (exc.OperationalError, exc.InterfaceError) as error:
        raise DatabaseUnreachable(str(error.orig or error).strip()) from error
    finally:
        engine.dispose()


def connection_budget_problem(url: URL | str, workers: int, database: dict) -> str | None:
    """Why `workers` processes with the `[database]` pool settings overrun PostgreSQL, or None.

    Raises DatabaseUnreachable when the figure cannot be read."""
    max_connections = postgresql_max_connections(url)
    if max_connections is None:
        return None
    return budget_problem(workers, database["pool_size"], database["max_overflow"], max_connections)
