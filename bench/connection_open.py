"""What opening a PostgreSQL connection costs, against handing out a pooled one.

    python bench/connection_open.py [--opens 300]

On a throw-away PostgreSQL (tests/pg.py, loopback TCP, trust authentication: a password's
SCRAM exchange would add to it), opens and closes connections through SQLAlchemy as a pool's
overflow does (`NullPool`: every checkout a new connection) and checks out a warm pooled one
(`QueuePool`), alternately in batches, and prints per checkout: wall time, this process's CPU and
the database server's CPU (the postmaster's reaped backends: the fork, start-up, authentication,
SELECT 1 and exit of each session; a pooled connection's backend has not ended, so shows 0).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.pg import PostgresServer  # noqa: E402


def server_cpu_s(server: PostgresServer) -> float:
    """CPU seconds of the postmaster's ended children (user + system)."""
    pid = (server.dir / "data" / "postmaster.pid").read_text().split()[0]
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime, cstime


def batch(engine: sa.Engine, server: PostgresServer, opens: int) -> tuple[float, float, float]:
    """ms per checkout: wall, client CPU, server CPU."""
    wall, cpu, server_before = time.perf_counter(), time.process_time(), server_cpu_s(server)
    for _ in range(opens):
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    time.sleep(0.2)  # the last backends exit and are reaped
    server_used = server_cpu_s(server) - server_before
    return (1000 * (time.perf_counter() - wall - 0.2) / opens, 1000 * (time.process_time() - cpu) / opens,
            1000 * server_used / opens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--opens", type=int, default=300, help="checkouts per batch")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    server = PostgresServer()
    try:
        url = server.start()
        engines = {"new connection": sa.create_engine(url, poolclass=sa.pool.NullPool),
                   "pooled": sa.create_engine(url, pool_size=1)}
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in engines}
        for engine in engines.values():
            batch(engine, server, 20)  # warm-up (dialect initialisation)
        for _ in range(args.rounds):
            for name, engine in engines.items():
                results[name].append(batch(engine, server, args.opens))
        for name, figures in results.items():
            wall, client, backend = (statistics.median(f[i] for f in figures) for i in range(3))
            print(f"RESULT {name:15} wall {wall:6.2f} ms  client CPU {client:5.2f} ms  server CPU {backend:5.2f} ms"
                  f" per checkout + SELECT 1 (median of {args.rounds} × {args.opens})", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
