"""Fan-out: M connected lobby screens of one hall while a counter calls steadily.

    python bench/fanout.py --screens 100 --screens 500 --screens 1000 --screens 2000 \
        [--workers 1 --workers 2] [--database sqlite|postgres] [--root OTHER_CHECKOUT]

For each number of processes and each M: a real `flask hall serve` (N > 1: with Redis), M
screens in one process per core (tests/crowd.py: lean websocket screens, --polling of them
python-socketio clients on long-polling), then a counter calls --calls tickets, one every
--interval s; then --clients API clients at once (16: kiosks issuing back to back and --callers
counters each calling every --call-every s) for --seconds with the screens still connected. Prints call → screen latency p50 / p99 / max over every (screen, call), calls lost (a
screen that never got one), duplicates, the call and issue request latencies (p50 / p99 at
--clients at once), the server
processes' RSS and threads, and CPU per delivered event of the server and, separately, of the
screens' processes (they share the machine); server CPU per event × screens is what one event
costs the server for all of them: about the fan-out's duration were the screens on other machines.
--root runs another checkout's server (e.g. a worktree of an older commit) with this benchmark's clients.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.servers import database, flask_command  # noqa: E402
from hall.reports.stats import percentile  # noqa: E402
from tests.crowd import Crowd  # noqa: E402
from tests.live import ROOT, LiveServer, free_port  # noqa: E402

HALL = "/api/v1/halls/demo"


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (the server processes under `flask hall serve`)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [pid], [pid]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes used so far."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def memory_and_threads(pid: int) -> tuple[float, int]:
    """Total RSS (MB) and threads of the server's processes."""
    rss, threads = 0.0, 0
    for process in descendants(pid):
        with contextlib.suppress(OSError):
            status = dict(line.split(":", 1) for line in Path(f"/proc/{process}/status").read_text().splitlines())
            rss += int(status["VmRSS"].split()[0]) / 1024
            threads += int(status["Threads"])
    return rss, threads


def staff_headers(url: str, root: Path) -> dict[str, str]:
    token = flask_command(url, "hall", "token", "create", "supervisor", root=root).strip().splitlines()[-1]
    return {"Authorization": f"Bearer {token}"}


class Clients:
    """`count` concurrent API clients: `callers` of them counters (1, 2, … of the demo hall, which serve
    A) that finish their ticket and call the next every `call_every` s, the others kiosks issuing A
    tickets back to back. Issue and call latencies in ms, and request failures."""

    def __init__(self, urls: list[str], headers: dict[str, str], count: int, callers: int = 0,
                 call_every: float = 1.0) -> None:
        self.latencies: list[float] = []  # issues
        self.call_latencies: list[float] = []
        self.failures = 0
        self.running = True
        self.headers, self.call_every = headers, call_every
        self.threads = [threading.Thread(target=self._issue, args=(urls[index % len(urls)],), daemon=True)
                        for index in range(count - callers)]
        self.threads += [threading.Thread(target=self._call, args=(urls[index % len(urls)], index + 1), daemon=True)
                         for index in range(callers)]
        for thread in self.threads:
            thread.start()

    def _timed(self, session: requests.Session, url: str, into: list[float], **kwargs) -> None:
        started = time.perf_counter()
        try:
            session.post(url, timeout=10, **kwargs).raise_for_status()
            into.append(1000 * (time.perf_counter() - started))
        except requests.RequestException:
            self.failures += 1

    def _issue(self, url: str) -> None:
        session = requests.Session()
        while self.running:
            self._timed(session, f"{url}{HALL}/tickets", self.latencies, json={"service": "A"})

    def _call(self, url: str, counter: int) -> None:
        session = requests.Session()
        with contextlib.suppress(requests.RequestException):
            session.post(f"{url}{HALL}/counters/{counter}/open", headers=self.headers, timeout=10)
        while self.running:
            started = time.monotonic()
            with contextlib.suppress(requests.RequestException):  # nothing held yet: 409
                session.post(f"{url}{HALL}/counters/{counter}/finish", headers=self.headers, timeout=10)
            self._timed(session, f"{url}{HALL}/counters/{counter}/call-next", self.call_latencies,
                        headers=self.headers)
            time.sleep(max(0.0, self.call_every - (time.monotonic() - started)))

    def stop(self) -> None:
        self.running = False
        for thread in self.threads:
            thread.join(15)


def call_steadily(urls: list[str], headers: dict[str, str], calls: int, interval: float,
                  settle: float = 0.0) -> tuple[dict, list]:
    """Counter 1 issues, finishes and calls a ticket every `interval` s, through the processes in turn
    (`settle` s between the finish and the call, for their events to reach the screens first);
    the wall-clock time each call request was sent, by ticket number, and the call requests' latencies (ms)."""
    session, sent, call_ms = requests.Session(), {}, []
    for index in range(calls):
        url = urls[index % len(urls)]
        with contextlib.suppress(requests.RequestException):
            session.post(f"{url}{HALL}/tickets", json={"service": "A"}, timeout=10)
            session.post(f"{url}{HALL}/counters/1/open", headers=headers, timeout=10)
            session.post(f"{url}{HALL}/counters/1/finish", headers=headers, timeout=10)
        time.sleep(settle)
        started_wall, started = time.time(), time.perf_counter()
        try:
            answer = session.post(f"{url}{HALL}/counters/1/call-next", headers=headers, timeout=10)
            call_ms.append(1000 * (time.perf_counter() - started))
            if answer.status_code == 200:
                sent[answer.json()["number"]] = started_wall
        except requests.RequestException:
            call_ms.append(10_000)
        time.sleep(interval)
    return sent, call_ms


def deliveries(report: dict, sent: dict[str, float]) -> tuple[list[float], list[float], int, int]:
    """Over the screens that connected: call → screen latencies (ms), each call's spread (ms from
    its first screen to its last: the fan-out itself), calls lost and duplicates."""
    latencies, lost, duplicates = [], 0, 0
    arrivals: dict[str, list[float]] = {number: [] for number in sent}
    for screen, connects in zip(report["received"], report["connects"]):
        if not connects:
            continue
        got: dict[str, int] = {}
        for _seq, number, at in screen:
            if number in sent:
                got[number] = got.get(number, 0) + 1
                if got[number] == 1:
                    latencies.append(1000 * (at - sent[number]))
                    arrivals[number].append(at)
        lost += sum(1 for number in sent if number not in got)
        duplicates += sum(count - 1 for count in got.values())
    spreads = [1000 * (max(times) - min(times)) for times in arrivals.values() if times]
    return latencies, spreads, lost, duplicates


def run_case(args: argparse.Namespace, db_url: str, headers: dict[str, str], workers: int, screens: int,
             redis_url: str | None) -> dict:
    # HALL_SERVER_THREADS: the threads of the server before the gevent worker (ignored since)
    env = {"HALL_SERVER_WORKERS": str(workers), "HALL_VOICE_ENABLED": "false",
           "HALL_MONITOR_SCAN_INTERVAL_S": "0", "HALL_SERVER_THREADS": "50"}
    if redis_url:
        env["HALL_REDIS_URL"] = redis_url
    server = LiveServer(db_url, root=args.root, **env).start(timeout=180)
    lean = ["--lean"] if args.screen_client == "lean" else []
    crowd = Crowd(server.urls, screens, args.polling, 900, "--attempts", "1", "--connect-timeout", "20", *lean,
                  processes=args.screen_processes)
    result = {"workers": workers, "screens": screens, "clients": args.clients, "connected": crowd.ready["ready"],
              "connect_s": crowd.ready["seconds"]}
    try:
        time.sleep(2)  # the snapshots of the last screens settle
        servers, clients = descendants(server.process.pid), crowd.pids
        cpu = cpu_seconds(servers), cpu_seconds(clients)
        interval = args.interval or 0.5 + screens / 1000
        sent, call_ms = call_steadily(server.urls, headers, args.calls, interval, args.settle)
        time.sleep(3)  # stragglers of the last call
        server_cpu, crowd_cpu = cpu_seconds(servers) - cpu[0], cpu_seconds(clients) - cpu[1]
        report = crowd.ask("report", timeout=120)
        kiosks = Clients(server.urls, headers, args.clients, args.callers, args.call_every)
        time.sleep(args.seconds)
        kiosks.stop()
        rss, threads = memory_and_threads(server.process.pid)
    finally:
        crowd.close()
        server.stop()
    latencies, spreads, lost, duplicates = deliveries(report, sent)
    issue, calls = kiosks.latencies, kiosks.call_latencies
    result.update(calls=len(sent), reconnects=sum(report["connects"]) - result["connected"], lost=lost,
                  duplicates=duplicates, p50=percentile(latencies, 50),
                  p99=percentile(latencies, 99), max=max(latencies, default=0), spread_p50=percentile(spreads, 50),
                  spread_max=max(spreads, default=0), call_p99=percentile(call_ms, 99),
                  issue_p50=percentile(issue, 50), issue_p99=percentile(issue, 99),
                  issue_rate=len(issue) / args.seconds, issue_failures=kiosks.failures, rss_mb=rss, threads=threads,
                  load_call_p50=percentile(calls, 50), load_call_p99=percentile(calls, 99), load_calls=len(calls),
                  events=sum(report["events"]), server_us=1e6 * server_cpu / max(1, sum(report["events"])),
                  server_call_us=1e6 * server_cpu / max(1, len(latencies)),
                  server_event_ms=server_cpu * 1e3 / max(1, sum(report["events"])) * result["connected"],
                  crowd_us=1e6 * crowd_cpu / max(1, sum(report["events"])))
    return result


def show(result: dict) -> None:
    """One line per case; figures that could not be measured (nothing arrived) show as "-"."""
    shown = {key: "-" if value is None else round(value, 1) if isinstance(value, float) else value
             for key, value in result.items()}
    print(f"{shown['workers']} proc {shown['screens']:>5} screens: connected {shown['connected']:>5} "
          f"in {shown['connect_s']} s | call→screen p50 {shown['p50']} p99 {shown['p99']} max {shown['max']} ms, "
          f"spread p50 {shown['spread_p50']} max {shown['spread_max']} ms, {shown['calls']} calls, "
          f"lost {shown['lost']}, dup {shown['duplicates']}, reconnects {shown['reconnects']} | "
          f"call req p99 {shown['call_p99']} ms | {shown['clients']} clients at once: issue p50 {shown['issue_p50']} "
          f"p99 {shown['issue_p99']} ms ({shown['issue_rate']}/s), call p50 {shown['load_call_p50']} p99 "
          f"{shown['load_call_p99']} ms ({shown['load_calls']} calls), {shown['issue_failures']} failed | RSS {shown['rss_mb']} MB, "
          f"{shown['threads']} threads | CPU per delivered event ({shown['events']} events): server "
          f"{shown['server_us']} µs, screens {shown['crowd_us']} µs; server CPU per call delivered "
          f"{shown['server_call_us']} µs; server CPU per event to all screens {shown['server_event_ms']} ms "
          f"(about the fan-out's duration, screens elsewhere)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--screens", type=int, action="append")
    parser.add_argument("--workers", type=int, action="append")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--polling", type=float, default=0.1, help="share of screens on long-polling")
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--interval", type=float, default=0,
                        help="seconds between calls (default 0.5 + screens / 1000: the screens' process keeps up)")
    parser.add_argument("--settle", type=float, default=0.5,
                        help="seconds between the finish before each call and the call: the call's own fan-out is"
                             " measured, not the tail of the issue's and finish's (whose requests no longer wait"
                             " for their fan-out)")
    parser.add_argument("--clients", type=int, default=16,
                        help="concurrent API clients afterwards (kiosks issuing back to back, and --callers)")
    parser.add_argument("--callers", type=int, default=2, help="of --clients: counters calling (demo counters 1…)")
    parser.add_argument("--call-every", type=float, default=1.0, help="s between each caller's calls")
    parser.add_argument("--seconds", type=float, default=8, help="how long the kiosks issue")
    parser.add_argument("--screen-processes", type=int, default=os.cpu_count() or 1,
                        help="processes the screens are shared out among (default: one per core)")
    parser.add_argument("--screen-client", choices=["lean", "socketio"], default="lean",
                        help="websocket screens: the protocol spoken directly (a few µs per event, so the screens'"
                             " processes take little of the server's CPU) or python-socketio clients")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose server runs")
    args = parser.parse_args()
    with database(args.database, args.root) as db_url:
        headers = staff_headers(db_url, args.root)
        for workers in args.workers or [1, 2]:
            with redis_server() if workers > 1 else contextlib.nullcontext() as redis_url:
                for screens in args.screens or [100, 500, 1000, 2000]:
                    show(run_case(args, db_url, headers, workers, screens, redis_url))


if __name__ == "__main__":
    main()
