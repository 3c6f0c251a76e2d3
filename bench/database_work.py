"""What an issue costs the PostgreSQL server, and where: its CPU, the planning, the WAL (issue 11 §2).

One PostgreSQL cluster with pg_stat_statements (planning tracked) serves this checkout's Hall and, with
`--before CHECKOUT`, another's (each on a database of its own, its own schema and servers); 16 clients
issue tickets over the halls, alternating the two (A B A B …). Each round prints, per issue:

- the servers' CPU, and the database's (all the cluster's processes, as `issue_rate.py` counts it; the idle contender's
  background reads are in it too),
- the statements the servers sent, and how many of them PostgreSQL planned (a statement planned again is
  parsed and planned for the values at hand: a common issue then costs the server about three times its
  cached plan's run), with the nested ones (the real-name function's statements, the foreign-key checks),
- the WAL written.

The rounds begin right after a short warm-up (`--warm`), as `issue_rate.py`'s do, so a connection's first
runs of a statement (planned until it is prepared and PostgreSQL settles on one plan) are in them.

    PYTHONPATH=$PWD .venv/bin/python bench/database_work.py --before /tmp/before
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.issue_rate import database_cpu_s, hall_servers, issue_for, servers_cpu_s  # noqa: E402
from bench.servers import _prepare, flask_command  # noqa: E402
from tests.live import ROOT  # noqa: E402
from tests.pg import PostgresServer  # noqa: E402

_TRACKING = ("shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = all\n"
             "pg_stat_statements.track_planning = on\n")

_STATEMENTS = sa.text("""SELECT coalesce(sum(calls) FILTER (WHERE toplevel), 0), coalesce(sum(plans) FILTER (WHERE toplevel), 0),
  coalesce(sum(calls) FILTER (WHERE NOT toplevel), 0), coalesce(sum(plans) FILTER (WHERE NOT toplevel), 0)
  FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = :name)""")


@contextlib.contextmanager
def tracked_cluster():
    """A PostgreSQL cluster with pg_stat_statements: (admin URL, postmaster's pid)."""
    server = PostgresServer()
    try:
        admin = server.start()
        server.halt()
        with open(server.dir / "data" / "postgresql.conf", "a") as conf:
            conf.write(_TRACKING)
        server.resume()
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE EXTENSION pg_stat_statements")
        engine.dispose()
        yield admin, int((server.dir / "data" / "postmaster.pid").read_text().split()[0])
    finally:
        server.stop()


def hall_database(admin: str, name: str, root: Path, halls: int) -> str:
    """A database `name` with `root`'s schema and `halls` demo halls (demo, hall2, …)."""
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    _prepare(url, root)
    for n in range(2, halls + 1):
        flask_command(url, "hall", "demo", "--slug", f"hall{n}", "--history-days", "0", root=root)
    return url


def measured_round(admin: str, postmaster: int, name: str, urls: list[str], halls: list[str], args) -> dict:
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_stat_statements_reset()")
        wal = conn.exec_driver_sql("SELECT pg_current_wal_lsn()").scalar_one()
    cpu, servers = database_cpu_s(postmaster), servers_cpu_s(urls)
    result = issue_for(urls, halls, args.seconds, args.clients)
    cpu, servers = database_cpu_s(postmaster) - cpu, servers_cpu_s(urls) - servers
    time.sleep(0.6)  # pg_stat_statements counts a statement when it ends; the last answers are in by now
    with engine.connect() as conn:
        wal = conn.execute(sa.text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :wal)"), {"wal": wal}).scalar_one()
        calls, plans, nested_calls, nested_plans = conn.execute(_STATEMENTS, {"name": name}).one()
    engine.dispose()
    n = max(result.issued, 1)
    return {"rate": result.rate, "issued": result.issued, "failed": result.failed, "cpu_ms": 1000 * cpu / n,
            "servers_ms": 1000 * servers / n,
            "calls": calls / n, "plans": plans / n, "nested_calls": nested_calls / n, "nested_plans": nested_plans / n,
            "wal": float(wal) / n}


def _line(figures: dict) -> str:
    return (f"{figures['rate']:6.1f}/s  servers' CPU {figures['servers_ms']:.2f}, database's {figures['cpu_ms']:.3f} ms/issue  statements {figures['calls']:.2f}"
            f" planned {figures['plans']:.2f}  nested {figures['nested_calls']:.2f} planned {figures['nested_plans']:.2f}"
            f"  WAL {figures['wal']:.0f} B/issue")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", metavar="CHECKOUT", help="also run another checkout's Hall, alternating")
    parser.add_argument("--halls", type=int, default=10)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warm", type=float, default=1.5, help="seconds of warm-up at 4 clients")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    roots = {"hall": ROOT} | ({"before": Path(args.before).resolve()} if args.before else {})
    halls = ["demo"] + [f"hall{n}" for n in range(2, args.halls + 1)]
    label = f"{args.halls} hall(s), {args.processes} process(es)"
    with tracked_cluster() as (admin, postmaster), contextlib.ExitStack() as stack:
        servers = {}
        for name, root in roots.items():
            url = hall_database(admin, f"hall_{name}", root, args.halls)
            servers[name] = stack.enter_context(hall_servers(url, args.processes, root))
            issue_for(servers[name], halls, args.warm, 4)
        rounds = {name: [] for name in roots}
        for n in range(1, args.rounds + 1):
            for name, urls in servers.items():
                figures = measured_round(admin, postmaster, f"hall_{name}", urls, halls, args)
                rounds[name].append(figures)
                print(f"  {label} round {n} {name:6} {_line(figures)}", flush=True)
    medians = {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]} for name, runs in rounds.items()}
    for name, figures in medians.items():
        print(f"RESULT {label} {name:6} {_line(figures)}", flush=True)
    if args.before:
        hall, before = medians["hall"], medians["before"]
        print(f"RESULT {label} hall/before: database's CPU per issue {hall['cpu_ms'] / before['cpu_ms']:.2f}x, planned"
              f" statements per issue {hall['plans']:.2f} vs {before['plans']:.2f}, WAL per issue"
              f" {hall['wal'] / before['wal']:.2f}x, rate {hall['rate'] / before['rate']:.2f}x", flush=True)


if __name__ == "__main__":
    main()
