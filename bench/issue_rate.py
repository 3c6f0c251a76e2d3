"""Tickets issued per second over HTTP, as a fraction of the stack's floor.

    python bench/issue_rate.py                          # against http://127.0.0.1:5000 (make run)
    python bench/issue_rate.py --database sqlite        # own servers on a fresh SQLite
    python bench/issue_rate.py --database postgres      # … on a throw-away PostgreSQL

With --database, every scenario runs Hall and the floor (bench/floor.py: Flask doing one INSERT
per request, served by the same gunicorn settings, on the same database) alternately, A B A B …,
for --rounds rounds of --seconds each, and prints medians and Hall's rate as a fraction of the
floor's. Scenarios: SQLite one hall; PostgreSQL one hall and 10 halls with 1 and 2 processes
(one server process per port, the clients spread over them), and 10 halls with 2 processes sharing
their events through Redis as a real deployment of several processes does (the floor unchanged). Then, on one process, a hall with
--waiting tickets already waiting against a nearly empty one, all their counters open (issuing,
and the estimate it gives, must not slow down).

`TAIL` lines give each contender's p99 over its p50 (floor included) and the p99 of each server process:
a tail in the floor's proportion to its median comes from the shared cores, not from a wait of Hall's own.

Each round also takes the CPU (user + system) the servers' processes used, per issue (`cpu … ms/issue`),
and on PostgreSQL the CPU of the database server's processes (the cluster's postmaster, its backends and
background workers, including those that ended meanwhile) per issue (`db … ms/issue`): PostgreSQL runs on
the same cores, so what an issue costs it is taken from the servers' share. On a busy machine the rate moves with what else gets the cores, the CPU per
issue much less. The floor's CPU per issue over Hall's is the fraction of the floor's rate Hall reaches
when both are held by their server's CPU (the floor at 16 clients is often held by its clients instead).

    git archive <commit> | tar -x -C /tmp/before
    python bench/issue_rate.py --database sqlite --before /tmp/before   # + that commit's Hall, same rounds

Why the contenders' comparison is fair (an A/A run, `--before` a copy of this checkout, shows no side
winning consistently: bench/RESULTS.md, "issue_rate.py's slot bias"):
- each contender has a database of its own (`--before`'s with its own checkout's schema and the same
  halls, the floor an empty one; on PostgreSQL in the same cluster, whose CPU is counted): no Hall
  meets a line, a per-process copy of a hall or a table the other one moved or grew meanwhile;
- only the contender whose round it is runs: the others' servers are stopped (SIGSTOP, `--pause`) from
  the end of their round to the start of their next, so nothing they do in the background (picture
  reads, housekeeping, waiting counts, SQLite's WAL checkpoints, a burst's trailing work) takes the
  cores or the database from it. What they left to do runs at their own next round, on their own
  account;
- the order within a round rotates (`--order`): each contender comes first, second and last, and after
  each of the others, equally often over a multiple of their number of rounds (3 with `--before`).
ROUNDS lines give the ratios round by round, to check that on a run's own figures.
`--shared-database --order fixed --pause no` is the old set-up, kept to show the bias.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fanout import redis_server  # noqa: E402
from bench.servers import (copied_database, database, flask_command, prepared_sibling, same_schema,  # noqa: E402
                           sibling_database)
from hall.queue.realname import simulated_id_number  # noqa: E402
from hall.config import load_settings  # noqa: E402
from hall.reports.stats import percentile  # noqa: E402
from hall.server.launch import gunicorn_command  # noqa: E402
from hall.server.gunicorn_conf import timeout as GUNICORN_TIMEOUT_S  # noqa: E402
from tests.live import ROOT, LiveServer, free_port  # noqa: E402



@dataclass
class Round:
    issued: int = 0
    failed: int = 0
    refusals: Counter = field(default_factory=Counter)  # status and error code of each refused request
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    services: list[str] = field(default_factory=list)  # the service of each latency, in the same order
    processes: list[int] = field(default_factory=list)  # the server process (its index) of each latency
    numbers: list[tuple[str, str]] = field(default_factory=list)
    #: CPU seconds (user + system) the servers' processes used during the round.
    server_cpu_s: float = 0.0
    #: Connections the database server accepted during the round (PostgreSQL only; None on SQLite).
    connections_opened: int | None = None
    #: CPU seconds the database server's processes used during the round (PostgreSQL only; None on SQLite).
    database_cpu_s: float | None = None

    @property
    def rate(self) -> float:
        return self.issued / self.seconds if self.seconds else 0.0


#: The process group of each server's address: every server starts in its own session.
_PROCESS_GROUPS: dict[str, int] = {}


def _processes() -> Iterator[list[str]]:
    """Each running process's pid, then its /proc/<pid>/stat fields after the command's name: [1] is the
    state, [2] the parent's pid, [3] the process group, [12] and [13] utime and stime, [14] and [15] those
    of its ended children it has waited for."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                yield [entry.name, *stat.read().rsplit(")", 1)[1].split()]
        except OSError:  # gone meanwhile
            continue


def servers_cpu_s(urls: list[str]) -> float:
    """CPU seconds used so far by the processes serving these addresses (their master and workers)."""
    return sum(cpu_s for _pid, cpu_s in server_processes_cpu_s(urls))


def server_processes_cpu_s(urls: list[str]) -> Iterator[tuple[int, float]]:
    """(pid, CPU seconds used so far) of each process serving these addresses."""
    groups = {_PROCESS_GROUPS[url] for url in urls}
    tick = os.sysconf("SC_CLK_TCK")
    for fields in _processes():
        if int(fields[3]) in groups:
            yield int(fields[0]), (int(fields[12]) + int(fields[13])) / tick


def database_cpu_s(postmaster: int) -> float:
    """CPU seconds used so far by a PostgreSQL cluster: its postmaster, its running children (backends,
    background workers) and, through the postmaster's children's times, those that have ended."""
    ticks = 0
    for fields in _processes():
        pid, parent = int(fields[0]), int(fields[2])
        if pid == postmaster:
            ticks += sum(int(value) for value in fields[12:16])
        elif parent == postmaster:
            ticks += int(fields[12]) + int(fields[13])
    return ticks / os.sysconf("SC_CLK_TCK")


class SessionCounter:
    """Connections PostgreSQL has accepted into the benchmark's databases so far (`pg_stat_database.sessions`),
    read over one connection of its own: a pool that closes connections at peaks and opens new ones shows
    here (each costs the server a process fork and the client a handshake)."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.StaticPool)
        with self.engine.connect() as connection:
            folder = connection.exec_driver_sql("SHOW data_directory").scalar_one()
        #: The cluster's postmaster (the first line of its pid file), whose processes' CPU is the database's.
        self.postmaster = int(Path(folder, "postmaster.pid").read_text().split()[0])

    def __call__(self) -> int:
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
            return connection.exec_driver_sql(  # every contender's database of the cluster
                "SELECT coalesce(sum(sessions), 0)::int FROM pg_stat_database").scalar_one()


#: Counts the database's connections (set for a PostgreSQL run).
_sessions: SessionCounter | None = None

#: Seconds PostgreSQL may take to publish a backend's statistics (it flushes them at most once a second).
_STATS_DELAY_S = 1.1


def cpu_measured(urls: list[str], run) -> Round:
    """`run()`'s round, with the CPU its servers used meanwhile: per issue, the figure a busy machine
    skews least (the rate also depends on what else gets the cores); and on PostgreSQL the connections
    the servers opened."""
    sessions_before = _sessions() if _sessions else None
    database_before = database_cpu_s(_sessions.postmaster) if _sessions else None
    before = servers_cpu_s(urls)
    result = run()
    result.server_cpu_s = servers_cpu_s(urls) - before
    if _sessions:
        result.database_cpu_s = database_cpu_s(_sessions.postmaster) - database_before
        time.sleep(_STATS_DELAY_S)
        result.connections_opened = _sessions() - sessions_before
    return result


_visitors = itertools.count()  # every request of the run a new visitor: no ID number meets its daily limit


def ticket_body(k: int) -> dict[str, str]:
    """Services A, B, C in turn; C (real-name, two a day per person) with the k-th visitor's own ID number."""
    service = "ABC"[k % 3]
    return {"service": service, "id_number": simulated_id_number(k)} if service == "C" else {"service": service}


def _error_code(response: requests.Response) -> str:
    try:
        return response.json().get("error", "")
    except ValueError:
        return ""


def issue_for(urls: list[str], halls: list[str], seconds: float, clients: int) -> Round:
    """`clients` threads issue tickets for `seconds`, spread over the servers and halls."""
    result = Round()
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(n: int) -> None:
        session = requests.Session()
        base, i = urls[n % len(urls)], 0
        while time.perf_counter() < deadline:
            hall = halls[(n + i) % len(halls)]
            started = time.perf_counter()
            body = ticket_body(next(_visitors))
            response = session.post(f"{base}/api/v1/halls/{hall}/tickets", json=body)
            elapsed = time.perf_counter() - started
            i += 1
            with lock:
                if response.status_code == 201:
                    result.issued += 1
                    result.latencies.append(elapsed)
                    result.services.append(body["service"])
                    result.processes.append(n % len(urls))
                    result.numbers.append((hall, response.json()["number"]))
                else:
                    result.failed += 1
                    result.refusals[f"{response.status_code} {_error_code(response)}"] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def _wait_up(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError("floor server exited")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("floor server did not start")


@contextlib.contextmanager
def floor_servers(url: str, processes: int) -> Iterator[list[str]]:
    """bench/floor.py under the very gunicorn command `hall serve` runs (gevent worker), one process per port."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        key = "SERIAL PRIMARY KEY" if engine.dialect.name == "postgresql" else "INTEGER PRIMARY KEY"
        connection.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS floor_tickets (id {key}, hall TEXT, service TEXT)")
    engine.dispose()
    started = []
    try:
        for _ in range(processes):
            port = free_port()
            command = gunicorn_command(f"127.0.0.1:{port}", {**load_settings()["server"], "access_log": False})
            process = subprocess.Popen(
                [*command[:-1], "bench.floor:app"], cwd=ROOT, start_new_session=True,
                env={**os.environ, "FLOOR_DATABASE_URL": url}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started.append(process)
            _wait_up(f"http://127.0.0.1:{port}/", process)
            started[-1].url = f"http://127.0.0.1:{port}"
            _PROCESS_GROUPS[process.url] = process.pid
        yield [p.url for p in started]
    finally:
        for process in started:
            process.terminate()
            process.wait(10)


@contextlib.contextmanager
def hall_servers(url: str, processes: int, root: Path = ROOT, **env: str) -> Iterator[list[str]]:
    """`processes` Hall servers of the checkout `root` (its own code, not this one's) on the database
    (`env`: more of their environment, such as HALL_REDIS_URL)."""
    servers = []
    try:
        for _ in range(processes):
            servers.append(LiveServer(url, root=root, PYTHONPATH=str(root), **env).start(timeout=120))
            _PROCESS_GROUPS[servers[-1].url] = servers[-1].process.pid
        yield [s.url for s in servers]
    finally:
        for server in servers:
            server.stop()


def fill_waiting(url: str, slug: str, count: int) -> None:
    """Put `count` tickets in the lines of services A, B and C of a hall, as if issued earlier today."""
    os.environ["HALL_DATABASE_URL"] = url
    from hall import clock, create_app
    from hall.extensions import db
    from hall.models import Service, Ticket
    from hall.queue.lookup import hall_by_slug
    from hall.queue.rules import today

    app = create_app()
    with app.app_context():
        hall = hall_by_slug(slug)
        day, now = today(hall), clock.utcnow()
        services = db.session.scalars(sa.select(Service).where(Service.hall_id == hall.id,
                                                               Service.prefix.in_(["A", "B", "C"]))).all()
        rows = [{"hall_id": hall.id, "service_id": s.id, "business_day": day, "seq": 100000 + i,
                 "number": f"W{i:05d}", "token": secrets.token_urlsafe(16), "priority": "normal", "channel": "kiosk",
                 "status": "waiting", "stage_position": 0, "stage_code": s.stages[0].code, "issued_at": now,
                 "queued_at": now, "sort_at": now, "recall_count": 0}
                for i, s in ((i, services[i % len(services)]) for i in range(count))]
        db.session.execute(sa.insert(Ticket), rows)
        db.session.commit()
        try:  # the running counts of each line, where the schema keeps them
            from hall.lines import recount
        except ImportError:
            pass
        else:
            recount(hall.id, day)
            db.session.commit()
        db.engine.dispose()


def open_counters(url: str, slugs: list[str]) -> None:
    """Open every counter of these halls, so that each estimate drains its line through them."""
    os.environ["HALL_DATABASE_URL"] = url
    from hall import create_app, queue
    from hall.extensions import db
    from hall.models import Counter
    from hall.queue.lookup import hall_by_slug

    app = create_app()
    with app.app_context():
        for slug in slugs:
            hall = hall_by_slug(slug)
            for number in db.session.scalars(sa.select(Counter.number).where(Counter.hall_id == hall.id)).all():
                queue.open_counter(hall.id, number)
        db.engine.dispose()


def duplicates(rounds: list[Round]) -> int:
    seen = Counter(n for r in rounds for n in r.numbers)
    return sum(c - 1 for c in seen.values() if c > 1)


def summary(rounds: list[Round]) -> dict[str, float]:
    latencies = [x for r in rounds for x in r.latencies]
    opened = [r.connections_opened / r.seconds for r in rounds if r.connections_opened is not None]
    database = [1000 * r.database_cpu_s / max(r.issued, 1) for r in rounds if r.database_cpu_s is not None]
    return {"rate": statistics.median(r.rate for r in rounds), "p50": 1000 * percentile(latencies, 50),
            "opened_per_s": statistics.median(opened) if opened else None,
            "cpu_ms": statistics.median(1000 * r.server_cpu_s / max(r.issued, 1) for r in rounds),
            "db_cpu_ms": statistics.median(database) if database else None,
            "p99": 1000 * percentile(latencies, 99), "failed": sum(r.failed for r in rounds),
            "duplicates": duplicates(rounds)}


def by_service(rounds: list[Round]) -> str:
    """p50/p99 of each service's issues: A and B take the common path, C (real-name) the limit's."""
    latencies: dict[str, list[float]] = {}
    for r in rounds:
        for service, latency in zip(r.services, r.latencies):
            latencies.setdefault(service, []).append(latency)
    return "  ".join(f"{service} p50 {1000 * percentile(xs, 50):6.1f} p99 {1000 * percentile(xs, 99):7.1f} ms (n {len(xs)})"
                     for service, xs in sorted(latencies.items()))


def tail_shape(rounds: list[Round]) -> str:
    """p50, p99 and p99 over p50 of all issues, then the p99 of each server process: a tail in the same
    proportion to the median as the floor's is the machine's (cores shared by servers, database and
    clients), not a wait of Hall's own; one process's p99 above the other's is an imbalance between them."""
    latencies = [x for r in rounds for x in r.latencies]
    by_process: dict[int, list[float]] = {}
    for r in rounds:
        for process, latency in zip(r.processes, r.latencies):
            by_process.setdefault(process, []).append(latency)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    return (f"p50 {1000 * p50:6.1f} p99 {1000 * p99:7.1f} ms p99/p50 {p99 / p50:4.2f}  " + "  ".join(
        f"process {process + 1} p99 {1000 * percentile(xs, 99):7.1f} ms (n {len(xs)})"
        for process, xs in sorted(by_process.items())))


#: Seconds resumed workers get at most to tell their gunicorn master they are alive before it runs again.
_HEARTBEAT_S = 5.0


def _heartbeats(pid: int) -> list[str]:
    """The heartbeat files a gunicorn worker renews (gunicorn's `wgunicorn-*` temporary file, unlinked;
    the worker sets its modification time to time.monotonic()), as /proc paths of its descriptors."""
    paths = []
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                if "wgunicorn-" in os.readlink(f"/proc/{pid}/fd/{fd}"):
                    paths.append(f"/proc/{pid}/fd/{fd}")
    return paths


def _beaten_since(paths: list[str], since: float) -> bool:
    try:
        return all(os.stat(path).st_mtime >= since for path in paths)
    except OSError:  # gone meanwhile
        return True


def pause(urls: list[str], stop: bool) -> None:
    """Stop (SIGSTOP) or resume (SIGCONT) every process serving these addresses (each server's session).

    A contender's servers may stay stopped for up to 2 × (contenders - 1) rounds (first in one round, last
    in the next): longer than gunicorn's worker timeout with 8-second rounds. Resumed together, the master
    finds the worker's heartbeat that old before the worker renews it, and kills it (a round lost to a
    restart, and its first issues' latency with it). So the workers are resumed first, and their masters
    once the workers have renewed their heartbeat (or after `_HEARTBEAT_S`)."""
    groups = {_PROCESS_GROUPS[url] for url in urls}
    if stop:
        for group in groups:
            os.killpg(group, signal.SIGSTOP)
        return
    holders = {int(fields[0]): (int(fields[2]), _heartbeats(int(fields[0]))) for fields in _processes()
               if int(fields[3]) in groups}
    holders = {pid: held for pid, held in holders.items() if held[1]}
    # a master holds every worker's file too; a worker is a holder whose parent holds them
    workers = [pid for pid, (parent, _paths) in holders.items() if parent in holders]
    heartbeats = [path for pid in workers for path in holders[pid][1]]
    resumed = time.monotonic()
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    deadline = resumed + _HEARTBEAT_S
    while not _beaten_since(heartbeats, resumed) and time.monotonic() < deadline:
        time.sleep(0.02)
    for group in groups:
        os.killpg(group, signal.SIGCONT)


@contextlib.contextmanager
def alone(servers: dict[str, list[str]], name: str, paused: bool) -> Iterator[None]:
    """Only `name`'s servers run meanwhile (`paused`): the others are stopped, so nothing they do in the
    background (picture reads, housekeeping, waiting counts, WAL checkpoints, a burst's trailing work)
    takes the cores or the database from it; their own trailing work runs at their next round, on
    their own account."""
    if not paused:
        yield
        return
    pause(servers[name], stop=False)
    try:
        yield
    finally:
        pause(servers[name], stop=True)


def order_of_round(names: list[str], n: int, rotate: bool) -> list[str]:
    """Round n's order: the contenders rotated by n (each one first, second, … as often as the others,
    and after each of the others), or the same every round."""
    k = n % len(names) if rotate else 0
    return names[k:] + names[:k]


def alternate(label: str, contenders: list[tuple[str, callable]], rounds: int, rotate: bool = True,
              paused: dict[str, list[str]] | None = None) -> dict[str, dict]:
    """Run the contenders in turn, round after round, in an order rotated each round (`rotate`); with
    `paused` (each contender's addresses), the others' servers stopped during each one's round. Print
    each round; return each one's medians."""
    results: dict[str, list[Round]] = {name: [] for name, _ in contenders}
    runs = dict(contenders)
    for n in range(rounds):
        for name in order_of_round(list(runs), n, rotate):
            with alone(paused or {}, name, paused is not None):
                result = runs[name]()
            results[name].append(result)
            print(f"  {label} round {n + 1} {name:10} {result.rate:7.1f}/s  ({result.issued} in {result.seconds:.1f} s,"
                  f" {result.failed} failed{_refusals(result)}; servers' CPU"
                  f" {1000 * result.server_cpu_s / max(result.issued, 1):.2f} ms/issue{_database(result)}{_opened(result)})",
                  flush=True)
    return {name: {**summary(rounds_of), "by_service": by_service(rounds_of), "tail": tail_shape(rounds_of),
                   "rates": [r.rate for r in rounds_of]} for name, rounds_of in results.items()}


def per_round(figures: dict, of: str, over: str) -> str:
    """`of`'s rate over `over`'s, round by round: a slot or order bias shows as ratios on one side in every round."""
    return " ".join(f"{a / b:4.2f}" for a, b in zip(figures[of]["rates"], figures[over]["rates"]) if b)


def _database(result: Round) -> str:
    if result.database_cpu_s is None:
        return ""
    return f", database's CPU {1000 * result.database_cpu_s / max(result.issued, 1):.2f} ms/issue"


def _db(figures: dict) -> str:
    return "" if figures["db_cpu_ms"] is None else f" db {figures['db_cpu_ms']:.2f} ms/issue"


def _with_database(hall: dict, floor: dict) -> str:
    """Servers' and database's CPU per issue together, floor over Hall: the rate's bound when the
    cores are all theirs."""
    if hall["db_cpu_ms"] is None:
        return ""
    return f", with the database's: {100 * (floor['cpu_ms'] + floor['db_cpu_ms']) / (hall['cpu_ms'] + hall['db_cpu_ms']):5.1f} %"


def _opened(result: Round) -> str:
    if result.connections_opened is None:
        return ""
    return f"; {result.connections_opened} connections opened, {result.connections_opened / result.seconds:.1f}/s"


def _refusals(result: Round) -> str:
    return ": " + ", ".join(f"{n} × {what}" for what, n in result.refusals.most_common()) if result.failed else ""


def line(figures: dict) -> str:
    return (f"{figures['rate']:7.1f}/s p50 {figures['p50']:6.1f} ms p99 {figures['p99']:7.1f} ms"
            f" failed {figures['failed']:.0f} dup {figures['duplicates']} cpu {figures['cpu_ms']:.2f} ms/issue"
            + _db(figures)
            + ("" if figures["opened_per_s"] is None else f" opened {figures['opened_per_s']:.1f} conn/s"))


def compare_with_floor(databases: dict[str, str], label: str, halls: list[str], processes: int, args,
                       redis: bool = False) -> None:
    """Hall against the floor (and `--before`'s Hall), each on its database of `databases`; `redis`: Hall's
    processes share their events through a Redis of their own (each Hall its own), as `hall serve --workers N`
    runs them; the floor has nothing to share."""
    if not any(part in label for part in args.only):
        return
    with contextlib.ExitStack() as stack:
        def shared(**env: str) -> dict[str, str]:
            return {**env, "HALL_REDIS_URL": stack.enter_context(redis_server())} if redis else env

        servers = {"hall": stack.enter_context(hall_servers(databases["hall"], processes, **shared())),
                   "floor": stack.enter_context(floor_servers(databases["floor"], processes))}
        if args.before:
            servers["before"] = stack.enter_context(hall_servers(
                databases["before"], processes, Path(args.before).resolve(), **shared()))
        paused = servers if pausable(args, len(servers)) else None
        if paused:
            for urls in servers.values():
                pause(urls, stop=True)
                # stopped servers do not act on SIGTERM: resumed first (the stack unwinds backwards)
                stack.callback(pause, urls, stop=False)
        for name, urls in servers.items():
            with alone(paused or {}, name, paused is not None):
                issue_for(urls, halls, 1.5, 4)  # warm-up
        figures = alternate(label, [(name, lambda urls=urls: cpu_measured(
            urls, lambda: issue_for(urls, halls, args.seconds, args.clients))) for name, urls in servers.items()],
            args.rounds, rotate=args.order == "rotate", paused=paused)
    hall, floor = figures["hall"], figures["floor"]
    print(f"RESULT {label:34} hall {line(hall)} | floor {floor['rate']:7.1f}/s p99 {floor['p99']:6.1f} ms"
          f" cpu {floor['cpu_ms']:.2f} ms/issue{_db(floor)} | hall/floor {100 * hall['rate'] / floor['rate']:5.1f} %"
          f" (CPU per issue: floor/hall {100 * floor['cpu_ms'] / hall['cpu_ms']:5.1f} %{_with_database(hall, floor)})",
          flush=True)
    if args.before:
        before = figures["before"]
        print(f"RESULT {label:34} before {line(before)} | before/floor {100 * before['rate'] / floor['rate']:5.1f} %"
              f" | hall/before {hall['rate'] / before['rate']:4.2f}x, CPU per issue {hall['cpu_ms'] / before['cpu_ms']:4.2f}x"
              + ("" if hall["db_cpu_ms"] is None else f", database's {hall['db_cpu_ms'] / before['db_cpu_ms']:4.2f}x"),
              flush=True)
    print(f"ROUNDS {label:34} hall/floor {per_round(figures, 'hall', 'floor')}"
          + (f" | hall/before {per_round(figures, 'hall', 'before')}" if args.before else ""), flush=True)
    for name in [n for n in ("hall", "before") if n in figures]:
        print(f"SERVICES {label:34} {name:6} {figures[name]['by_service']}", flush=True)
    for name, of in figures.items():
        print(f"TAIL {label:34} {name:6} {of['tail']}", flush=True)


def compare_queue_lengths(url: str, label: str, args) -> None:
    if not any(part in label for part in args.only):
        return
    fill_waiting(url, "full", args.waiting)
    open_counters(url, ["empty", "full"])
    with hall_servers(url, 1) as urls:
        issue_for(urls, ["empty", "full"], 1.5, 4)
        figures = alternate(label, [(name, lambda slug=slug: cpu_measured(
            urls, lambda: issue_for(urls, [slug], args.seconds, args.clients)))
            for name, slug in (("empty", "empty"), (f"{args.waiting} waiting", "full"))], args.rounds)
    empty, full = figures["empty"], figures[f"{args.waiting} waiting"]
    print(f"RESULT {label:34} near-empty hall {line(empty)} | {args.waiting} already waiting"
          f" {line(full)} | full/empty {100 * full['rate'] / empty['rate']:5.1f} %", flush=True)


#: Seconds a round takes beyond --seconds (the database's statistics delay, the threads' start and end).
_ROUND_OVERHEAD_S = 2.5


def pausable(args, contenders: int) -> bool:
    """Whether idle contenders' servers are stopped during the others' rounds (`--pause`): only when the
    longest stop stays well inside gunicorn's worker timeout (a worker stopped longer is killed by its
    arbiter once both run again)."""
    if args.pause == "no":
        return False
    stopped_s = (contenders - 1) * (args.seconds + _ROUND_OVERHEAD_S)
    if stopped_s < GUNICORN_TIMEOUT_S - 5:
        return True
    print(f"  (idle servers not paused: a {stopped_s:.0f} s stop would pass gunicorn's {GUNICORN_TIMEOUT_S} s timeout;"
          " shorter --seconds pause them)", flush=True)
    return False


def contenders_databases(url: str, halls: list[str], args) -> dict[str, str]:
    """Each contender's database: Hall's is `url`; the floor gets an empty one beside it, `--before`'s Hall a copy
    of `url`'s if both checkouts hold the same migrations, else one with its own checkout's schema and the same
    halls (`--shared-database`: all on `url`, as before)."""
    if args.shared_database:
        return {"hall": url, "floor": url, "before": url}
    databases = {"hall": url, "floor": sibling_database(url, "floor_bench")}
    root = Path(args.before).resolve() if args.before else None
    if root and same_schema(ROOT, root):
        databases["before"] = copied_database(url, "before_bench")
    elif root:
        databases["before"] = prepared_sibling(url, "before_bench", root)
        for slug in halls:
            flask_command(databases["before"], "hall", "demo", "--slug", slug, "--history-days", "0", root=root)
    return databases


def run_database(kind: str, args) -> None:
    halls = [f"hall{n}" for n in range(1, 11)] if kind == "postgres" else ["hall1"]
    global _sessions
    with database(kind) as url:
        for slug in halls[1:] + ["empty", "full"]:
            flask_command(url, "hall", "demo", "--slug", slug, "--history-days", "0")
        databases = contenders_databases(url, halls[1:], args)  # (a copy needs `url` unconnected)
        _sessions = SessionCounter(url) if kind == "postgres" else None
        compare_with_floor(databases, f"{kind} 1 hall, 1 process", ["demo"], 1, args)
        if kind == "postgres":
            compare_with_floor(databases, f"{kind} 1 hall, 2 processes", ["demo"], 2, args)
            compare_with_floor(databases, f"{kind} 10 halls, 1 process", ["demo"] + halls[1:], 1, args)
            compare_with_floor(databases, f"{kind} 10 halls, 2 processes", ["demo"] + halls[1:], 2, args)
            compare_with_floor(databases, f"{kind} 10 halls, 2 processes, Redis", ["demo"] + halls[1:], 2, args,
                               redis=True)
        compare_queue_lengths(url, f"{kind} queue length", args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:5000")
    parser.add_argument("--hall", default="demo")
    parser.add_argument("--database", choices=["sqlite", "postgres"], action="append",
                        help="start servers on a fresh database of this kind (repeatable)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--only", action="append", default=None,
                        help="run only the scenarios whose label contains this (repeatable)")
    parser.add_argument("--waiting", type=int, default=20000, help="tickets already waiting in the full hall")
    parser.add_argument("--before", metavar="CHECKOUT",
                        help="also run the Hall of another checkout (e.g. `git archive` of an older commit) in the"
                             " same rounds, and print its rate and this one's against it")
    parser.add_argument("--order", choices=["rotate", "fixed"], default="rotate",
                        help="contenders' order within a round: rotated each round (default), or always hall, floor,"
                             " before (the old, biased order)")
    parser.add_argument("--pause", choices=["yes", "no"], default="yes",
                        help="stop the idle contenders' servers during each one's round (default yes)")
    parser.add_argument("--shared-database", action="store_true",
                        help="all contenders on one database and the same halls (the old, biased set-up)")
    args = parser.parse_args()
    args.only = args.only or [""]
    if not args.database:
        result = issue_for([args.url], [args.hall], args.seconds, args.clients)
        print(f"{args.url}: {result.rate:.1f} tickets/s, {summary([result])}")
        return
    for kind in args.database:
        run_database(kind, args)


if __name__ == "__main__":
    main()
