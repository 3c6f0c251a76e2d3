"""What a second server process costs per issued ticket on PostgreSQL, and where it goes.

    python bench/two_processes.py                          # 10 halls, 1 and 2 processes, alternating
    python bench/two_processes.py --before /tmp/before     # + another checkout's Hall, same rounds
    python bench/two_processes.py --redis                  # + 2 processes sharing events through Redis
                                                           #   (and, with --before, that checkout's too)
    python bench/two_processes.py --redis --screens 20     # each variant with 20 lobby screens connected

With --screens M, M lean lobby screens (tests/crowd.py, a process of their own per variant) are connected
to each variant throughout, screen k of hall k (in turn) on process k: each hall's screens on one process,
as a deployment has them. Without it, no screen is connected: a process then never even listens to Redis.

On a fresh PostgreSQL with 10 halls, Hall served by 1 process and by 2 (one per port, the clients
spread over them, as bench/issue_rate.py runs them) issues tickets for --seconds, alternately,
--rounds rounds. Per round and per variant it prints:
- the servers' CPU per issue (user + system, all their processes), split into the gunicorn
  masters' and the workers';
- estimate rewrites per issue: an issue's estimate is computed before the hall's lock for the
  places in line the process expects; where the place it gets is none of them (another process
  issued in the line meanwhile) the ticket and its event get their estimate in a second statement
  after the lock.
  Counted from PostgreSQL's own statistics (`pg_stat_user_tables.n_tup_upd` of `tickets`: an issue
  only inserts tickets; nothing else updates them in this run);
- transactions PostgreSQL committed per issue (`pg_stat_database.xact_commit`: each autocommit
  statement counts one; the picture readers' and the waiting counts' reads count too);
- with Redis: the Redis server's CPU per issue, the waiting-counts messages sent (`hall_waiting`, counted
  by a listener of the halls' public rooms' channels: a pattern subscription, which no process counts as a
  listener of a room), the waiting turns' round trips per issue and per message (the commands only the turns
  send: their scripts, EVALSHA, and up to a3322ef the give-back's DEL and a lost turn's check's GET), and
  the commands Redis ran (INFO commandstats) per message: EVALSHA, DEL, SET, GET, PUBLISH, and all commands
  per issue. Redis counts the commands a script runs with the clients' own, so DEL and GET count as the
  turns' round trips only for a checkout whose turns' scripts run none (up to a3322ef), and SET, GET, DEL
  and all commands include the scripts' own. Which commands share a round trip is not in Redis's counters:
  PUBLISH (and up to a3322ef the SET recording what was sent) go in the publisher's pipelines.
Then the medians, and the 2-process figures over the 1-process ones.
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402

from bench.issue_rate import _PROCESS_GROUPS, hall_servers, issue_for, server_processes_cpu_s  # noqa: E402
from bench.fanout import redis_server  # noqa: E402
from bench.servers import database, flask_command  # noqa: E402
from tests.crowd import Crowd  # noqa: E402

HALLS = ["demo"] + [f"hall{n}" for n in range(1, 10)]
#: Seconds PostgreSQL may take to publish a backend's statistics (it flushes them at most once a second).
STATS_DELAY_S = 1.1


def process_cpu_s(urls: list[str]) -> tuple[float, float]:
    """CPU seconds used so far by the gunicorn masters and by the workers serving these addresses."""
    masters = workers = 0.0
    leaders = {_PROCESS_GROUPS[url] for url in urls}
    for pid, cpu_s in server_processes_cpu_s(urls):
        if pid in leaders:  # the session leader: `flask hall serve` execs gunicorn's master
            masters += cpu_s
        else:
            workers += cpu_s
    return masters, workers


class DatabaseFigures:
    """Counters of PostgreSQL's statistics over one connection of its own."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.StaticPool)

    def __call__(self) -> tuple[int, int]:
        """(tickets updated, transactions committed) so far."""
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
            updated = connection.exec_driver_sql(
                "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'tickets'").scalar_one()
            commits = connection.exec_driver_sql(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").scalar_one()
        return updated, commits


#: The Redis commands counted per waiting-counts message (bench docstring).
REDIS_COMMANDS = ("evalsha", "del", "set", "get", "publish")
#: The commands the waiting turns send as round trips of their own: their scripts, and up to a3322ef DEL and GET.
TURN_COMMANDS = ("evalsha", "del", "get")


class WaitingMessages:
    """Counts the `hall_waiting` messages the processes send each other, on a pattern subscription of its own."""

    def __init__(self, url: str) -> None:
        self.subscription = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
        self.subscription.psubscribe("flask-socketio:hall:*:public")
        self.count = 0
        threading.Thread(target=self._listen, daemon=True).start()

    def _listen(self) -> None:
        with contextlib.suppress(Exception):  # the Redis server stopped: the run is over
            for message in self.subscription.listen():
                self.count += b'"hall_waiting"' in message["data"]


class RedisFigures:
    """The Redis server's CPU seconds and its commands run so far (INFO), over a connection of its own."""

    def __init__(self, url: str, checkout: Path) -> None:
        self.client = redis.Redis.from_url(url)
        self.messages = WaitingMessages(url)
        scripts_read = "redis.call('GET'" in (checkout / "hall" / "realtime_waiting.py").read_text()
        #: The commands that are the turns' round trips (TURN_COMMANDS: those the turns' scripts do not run).
        self.turn_commands = ("evalsha",) if scripts_read else TURN_COMMANDS

    def __call__(self) -> tuple[float, dict[str, int]]:
        cpu = self.client.info("cpu")
        stats = self.client.info("commandstats")
        calls = {name.removeprefix("cmdstat_"): figures["calls"] for name, figures in stats.items()}
        calls["all"] = sum(calls.values())
        calls["messages"] = self.messages.count
        return cpu["used_cpu_user"] + cpu["used_cpu_sys"], calls


@dataclass
class Figures:
    issued: int
    rate: float
    master_ms: float
    worker_ms: float
    rewrites: float
    commits: float
    redis_ms: float = 0.0  # the Redis server's CPU per issue
    per_message: dict[str, float] | None = None  # Redis commands per waiting-counts message (REDIS_COMMANDS)
    commands: float = 0.0  # Redis commands per issue
    messages: float = 0.0  # waiting-counts messages per second
    turns: float = 0.0  # the waiting turns' round trips per issue

    @property
    def cpu_ms(self) -> float:
        return self.master_ms + self.worker_ms


def measured(urls: list[str], figures: DatabaseFigures, seconds: float, clients: int,
             redis_figures: RedisFigures | None = None) -> Figures:
    time.sleep(STATS_DELAY_S)
    updated, commits = figures()
    redis_cpu, calls = redis_figures() if redis_figures else (0.0, {})
    started = time.monotonic()
    masters, workers = process_cpu_s(urls)
    result = issue_for(urls, HALLS, seconds, clients)
    masters_after, workers_after = process_cpu_s(urls)
    time.sleep(STATS_DELAY_S)
    updated_after, commits_after = figures()
    redis_cpu_after, calls_after = redis_figures() if redis_figures else (0.0, {})
    counted_s = time.monotonic() - started
    n = max(result.issued, 1)
    ran = {name: calls_after.get(name, 0) - calls.get(name, 0) for name in (*REDIS_COMMANDS, "all", "messages")}
    messages = max(ran["messages"], 1)
    turns = sum(ran[name] for name in redis_figures.turn_commands) if redis_figures else 0
    return Figures(result.issued, result.rate, 1000 * (masters_after - masters) / n,
                   1000 * (workers_after - workers) / n, (updated_after - updated) / n, (commits_after - commits) / n,
                   1000 * (redis_cpu_after - redis_cpu) / n,
                   {"turns": turns / messages, **{name: ran[name] / messages for name in REDIS_COMMANDS}}
                   if redis_figures else None,
                   ran["all"] / n, ran["messages"] / counted_s, turns / n)


def show(label: str, f: Figures) -> str:
    shown = (f"{label:16} {f.rate:7.1f}/s  cpu {f.cpu_ms:.2f} ms/issue (masters {f.master_ms:.2f}, workers"
             f" {f.worker_ms:.2f})  estimate rewrites {f.rewrites:.2f}/issue  commits {f.commits:.2f}/issue")
    if f.per_message is not None:
        shown += (f"  redis {f.redis_ms:.3f} ms/issue, {f.commands:.2f} commands/issue, turns' round trips"
                  f" {f.turns:.3f}/issue, waiting messages {f.messages:.1f}/s, per waiting message: "
                  + " ".join(f"{name} {count:.2f}" for name, count in f.per_message.items()))
    return shown


def median(rounds: list[Figures]) -> Figures:
    plain = [statistics.median(getattr(r, name) for r in rounds)
             for name in ("issued", "rate", "master_ms", "worker_ms", "rewrites", "commits", "redis_ms", "commands",
                          "messages", "turns")]
    per_message = None if rounds[0].per_message is None else {
        name: statistics.median(r.per_message[name] for r in rounds) for name in rounds[0].per_message}
    return Figures(*plain[:6], redis_ms=plain[6], per_message=per_message, commands=plain[7], messages=plain[8],
                   turns=plain[9])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--redis", action="store_true",
                        help="also run 2 processes sharing their events through Redis, as `hall serve --workers 2`")
    parser.add_argument("--before", metavar="CHECKOUT", help="also run another checkout's Hall, 2 processes")
    parser.add_argument("--screens", type=int, default=0, help="lobby screens connected to each variant")
    args = parser.parse_args()
    with database("postgres") as url, contextlib.ExitStack() as stack:
        for slug in HALLS[1:]:
            flask_command(url, "hall", "demo", "--slug", slug, "--history-days", "0")
        figures = DatabaseFigures(url)
        redis_figures: dict[str, RedisFigures] = {}
        variants = {"1 process": stack.enter_context(hall_servers(url, 1)),
                    "2 processes": stack.enter_context(hall_servers(url, 2))}
        if args.redis:
            redis_url = stack.enter_context(redis_server())
            variants["2 proc. + Redis"] = stack.enter_context(hall_servers(url, 2, HALL_REDIS_URL=redis_url))
            redis_figures["2 proc. + Redis"] = RedisFigures(redis_url, Path(__file__).resolve().parent.parent)
        if args.before:
            before = Path(args.before).resolve()
            variants["before, 2 proc."] = stack.enter_context(hall_servers(url, 2, before))
            if args.redis:
                own_redis = stack.enter_context(redis_server())  # not the other variant's: each hears only its own
                variants["before + Redis"] = stack.enter_context(hall_servers(url, 2, before, HALL_REDIS_URL=own_redis))
                redis_figures["before + Redis"] = RedisFigures(own_redis, before)
        for urls in variants.values():
            if args.screens:
                crowd = Crowd(urls, args.screens, 0.0, 120, "--lean", *(f"--hall={slug}" for slug in HALLS))
                stack.callback(crowd.close)
            issue_for(urls, HALLS, 1.5, 4)  # warm-up
        rounds: dict[str, list[Figures]] = {name: [] for name in variants}
        for n in range(args.rounds):
            for name, urls in variants.items():
                rounds[name].append(measured(urls, figures, args.seconds, args.clients, redis_figures.get(name)))
                print(f"  round {n + 1} {show(name, rounds[name][-1])}", flush=True)
    medians = {name: median(of) for name, of in rounds.items()}
    for name, m in medians.items():
        print(f"MEDIAN {show(name, m)}", flush=True)
    one, two = medians["1 process"], medians["2 processes"]
    print(f"RESULT 2 processes / 1 process: CPU per issue {two.cpu_ms / one.cpu_ms:.2f}x"
          f" ({two.cpu_ms - one.cpu_ms:+.2f} ms: masters {two.master_ms - one.master_ms:+.2f},"
          f" workers {two.worker_ms - one.worker_ms:+.2f}); estimate rewrites {one.rewrites:.2f} -> {two.rewrites:.2f}"
          f" per issue; commits {one.commits:.2f} -> {two.commits:.2f} per issue", flush=True)
    pairs = [("2 proc. + Redis", "2 processes"), ("2 processes", "before, 2 proc."), ("2 proc. + Redis", "before + Redis")]
    for now, then in [(a, b) for a, b in pairs if a in medians and b in medians]:
        a, b = medians[now], medians[then]
        print(f"RESULT {now} / {then}: CPU per issue {a.cpu_ms / b.cpu_ms:.2f}x ({b.cpu_ms:.2f} -> {a.cpu_ms:.2f} ms);"
              f" estimate rewrites {b.rewrites:.2f} -> {a.rewrites:.2f} per issue", flush=True)
    if "2 proc. + Redis" in medians and "before + Redis" in medians:
        a, b = medians["2 proc. + Redis"], medians["before + Redis"]
        print(f"RESULT Redis now / before: Redis CPU per issue {b.redis_ms:.3f} -> {a.redis_ms:.3f} ms"
              f" ({a.redis_ms / max(b.redis_ms, 1e-9):.2f}x); commands per issue {b.commands:.2f} -> {a.commands:.2f}"
              f" ({a.commands / max(b.commands, 1e-9):.2f}x); the waiting turns' round trips per issue"
              f" {b.turns:.3f} -> {a.turns:.3f} ({a.turns / max(b.turns, 1e-9):.2f}x), per waiting message"
              f" {b.per_message['turns']:.2f} -> {a.per_message['turns']:.2f}; waiting messages"
              f" {b.messages:.1f} -> {a.messages:.1f}/s", flush=True)


if __name__ == "__main__":
    main()
