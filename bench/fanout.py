"""Fan-out: M connected lobby screens of one hall while counters call and kiosks issue.

    python bench/fanout.py --screens 100 --screens 500 --screens 1000 --screens 2000 \
        [--workers 1 --workers 2] [--polling 0.1 | --polling 1] [--database sqlite|postgres] [--pace 0 --pace 5] [--pin] [--polling-origin] [--root OTHER_CHECKOUT]

For each number of processes and each M: a real `flask hall serve` (N > 1: with Redis), M
screens in one process per core (tests/crowd.py: lean websocket screens, a --polling share of
them on long-polling, lean too unless --polling-client socketio; with --polling 1 all of them are,
and the server's CPU per delivered event is its CPU per long-polling screen per event; with
--polling-origin they send an Origin header, as browsers' long-polling clients do), then a
counter calls --calls tickets, one every --interval s; then, with the screens still connected, one load phase of --seconds per --pace:
--clients API clients at once (16: kiosks and --callers counters that finish and call the next
every --call-every s). Pace 0: the kiosks issue back to back, so the server is saturated and the
latency is mostly the queue of 16 requests (Little's law: 16 clients at 200/s wait 80 ms on
average, whatever the screens do). Pace R: each kiosk issues at most R tickets per second, open
loop, each request's latency counted from its scheduled time (a client that fell behind shows
the wait), and the counters' calls count from their schedule too: the latency a hall sees at a
heavy but sustainable load.

Prints call → screen latency p50 / p99 / max over every (screen, call), calls lost (a screen that
never got one), duplicates, the call request's p99, then per load phase the issue and call
latencies (p50 / p99, rate), how much of a core the server's and the screens' processes used and the
server's CPU per API request (a caller's round is two: finish, call-next);
the server processes' RSS and threads, and CPU per delivered event of the server and, separately,
of the screens' processes (they share the machine); server CPU per event × screens is what one
event costs the server for all of them. --pin runs the server on core 0 and the screens' processes
and the API clients on core 1, as if the screens were elsewhere (other work of the machine still
shares both cores). --root runs another checkout's server (e.g. a `git archive` of an older commit)
with this benchmark's clients. --screens 0 runs the same calls and load phases with no screen: beside
a run with screens, what the screens cost the API's latency and CPU per request.
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
    tickets, back to back (`pace` 0) or at most `pace` issues per second each (open loop: each request
    has a scheduled time, spread evenly over the clients, and its latency counts from that time, so a
    client that fell behind shows the wait). Issue and call latencies in ms, and request failures."""

    def __init__(self, urls: list[str], headers: dict[str, str], count: int, callers: int = 0,
                 call_every: float = 1.0, pace: float = 0.0) -> None:
        self.latencies: list[float] = []  # issues
        self.call_latencies: list[float] = []
        self.failures = 0
        self.running = True
        self.headers, self.call_every, self.pace, self.count = headers, call_every, pace, count
        self.started = time.perf_counter() + 0.2
        self.threads = [threading.Thread(target=self._issue, args=(urls[index % len(urls)], index), daemon=True)
                        for index in range(count - callers)]
        self.threads += [threading.Thread(target=self._call, args=(urls[index % len(urls)], index + 1), daemon=True)
                         for index in range(callers)]
        for thread in self.threads:
            thread.start()

    def _schedule(self, client: int, every: float) -> Iterator[float]:
        """The times this client's requests are due (perf_counter), each waited for; `every` 0: at once."""
        due = self.started + every * client / self.count
        while self.running:
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            yield due if every else time.perf_counter()
            due += every

    def _timed(self, session: requests.Session, url: str, into: list[float], due: float, **kwargs) -> None:
        try:
            session.post(url, timeout=10, **kwargs).raise_for_status()
            into.append(1000 * (time.perf_counter() - due))
        except requests.RequestException:
            self.failures += 1

    def _issue(self, url: str, client: int) -> None:
        session = requests.Session()
        for due in self._schedule(client, 1 / self.pace if self.pace else 0):
            self._timed(session, f"{url}{HALL}/tickets", self.latencies, due, json={"service": "A"})

    def _call(self, url: str, counter: int) -> None:
        session = requests.Session()
        with contextlib.suppress(requests.RequestException):
            session.post(f"{url}{HALL}/counters/{counter}/open", headers=self.headers, timeout=10)
        for due in self._schedule(self.count - counter, self.call_every):
            late = max(0.0, time.perf_counter() - due) if self.pace else 0.0
            with contextlib.suppress(requests.RequestException):  # nothing held yet: 409
                session.post(f"{url}{HALL}/counters/{counter}/finish", headers=self.headers, timeout=10)
            # the call's own latency, plus (paced) how late the pair of requests started
            self._timed(session, f"{url}{HALL}/counters/{counter}/call-next", self.call_latencies,
                        time.perf_counter() - late, headers=self.headers)

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


def pin(pids: list[int], cpu: int) -> None:
    """Run every thread of the processes on one core only."""
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):
                os.sched_setaffinity(int(task.name), {cpu})


def load_phase(args: argparse.Namespace, server: LiveServer, headers: dict[str, str], pace: float,
               cpu_of: dict[str, list[int]]) -> dict:
    """--clients API clients for --seconds, back to back (`pace` 0) or paced: their latencies, and the
    share of a core the server's and the screens' processes used meanwhile."""
    before = {name: cpu_seconds(pids) for name, pids in cpu_of.items()}
    clients = Clients(server.urls, headers, args.clients, args.callers, args.call_every, pace)
    time.sleep(args.seconds)
    clients.stop()
    used = {name: (cpu_seconds(pids) - before[name]) / args.seconds for name, pids in cpu_of.items()}
    issue, calls = clients.latencies, clients.call_latencies
    return {"pace": pace, "issue_p50": percentile(issue, 50), "issue_p99": percentile(issue, 99),
            "issue_rate": len(issue) / args.seconds, "failures": clients.failures,
            "call_p50": percentile(calls, 50), "call_p99": percentile(calls, 99), "calls": len(calls),
            "server_cores": used["server"], "screens_cores": used["screens"],
            # a caller's round is a finish and a call-next: two requests
            "server_ms": 1000 * used["server"] * args.seconds / max(1, len(issue) + 2 * len(calls))}


class NoScreens:
    """--screens 0: the same calls and load phases with no screen connected (what the screens cost)."""
    ready = {"ready": 0, "seconds": 0.0}
    pids: list[int] = []

    def ask(self, command: str, timeout: float = 60) -> dict:
        return {"received": [], "connects": [], "events": []}

    def close(self) -> None:
        pass


def run_case(args: argparse.Namespace, db_url: str, headers: dict[str, str], workers: int, screens: int,
             redis_url: str | None) -> dict:
    # HALL_SERVER_THREADS: the threads of the server before the gevent worker (ignored since)
    env = {"HALL_SERVER_WORKERS": str(workers), "HALL_VOICE_ENABLED": "false",
           "HALL_MONITOR_SCAN_INTERVAL_S": "0", "HALL_SERVER_THREADS": "50"}
    if redis_url:
        env["HALL_REDIS_URL"] = redis_url
    server = LiveServer(db_url, root=args.root, **env).start(timeout=180)
    lean = ["--lean"] if args.screen_client == "lean" else []
    lean += ["--lean-polling"] if args.polling_client == "lean" else []
    lean += ["--origin"] if args.polling_origin else []
    try:
        crowd = Crowd(server.urls, screens, args.polling, 900, "--attempts", "1", "--connect-timeout", "20", *lean,
                      processes=args.screen_processes) if screens else NoScreens()
    except BaseException:
        server.stop()
        raise
    result = {"workers": workers, "screens": screens, "clients": args.clients, "connected": crowd.ready["ready"],
              "connect_s": crowd.ready["seconds"]}
    try:
        servers, clients = descendants(server.process.pid), crowd.pids
        if args.pin:  # the server on core 0; the screens, the API clients (this process) on core 1
            pin(servers, 0)
            pin([*clients, os.getpid()], 1)
        time.sleep(2)  # the snapshots of the last screens settle
        cpu = cpu_seconds(servers), cpu_seconds(clients)
        interval = args.interval or 0.5 + screens / 1000
        sent, call_ms = call_steadily(server.urls, headers, args.calls, interval, args.settle)
        time.sleep(3)  # stragglers of the last call
        server_cpu, crowd_cpu = cpu_seconds(servers) - cpu[0], cpu_seconds(clients) - cpu[1]
        report = crowd.ask("report", timeout=120)
        loads = [load_phase(args, server, headers, pace, {"server": servers, "screens": clients})
                 for pace in args.pace or [0.0, 3.0]]
        rss, threads = memory_and_threads(server.process.pid)
    finally:
        crowd.close()
        server.stop()
    latencies, spreads, lost, duplicates = deliveries(report, sent)
    result.update(calls=len(sent), reconnects=sum(report["connects"]) - result["connected"], lost=lost,
                  duplicates=duplicates, p50=percentile(latencies, 50),
                  p99=percentile(latencies, 99), max=max(latencies, default=0), spread_p50=percentile(spreads, 50),
                  spread_max=max(spreads, default=0), call_p99=percentile(call_ms, 99), loads=loads,
                  rss_mb=rss, threads=threads, events=sum(report["events"]),
                  **per_event(server_cpu, crowd_cpu, sum(report["events"]), len(latencies), result["connected"]))
    return result


def per_event(server_cpu: float, crowd_cpu: float, events: int, calls: int, screens: int) -> dict:
    """CPU per delivered event (µs) of the server and of the screens' processes, per call delivered, and the
    server's per event to all the screens (ms); none with no screen."""
    if not events:
        return dict.fromkeys(("server_us", "server_call_us", "server_event_ms", "crowd_us"))
    return {"server_us": 1e6 * server_cpu / events, "server_call_us": 1e6 * server_cpu / max(1, calls),
            "server_event_ms": server_cpu * 1e3 / events * screens, "crowd_us": 1e6 * crowd_cpu / events}


def rounded(values: dict) -> dict:
    """Figures as printed: one decimal; those that could not be measured (nothing arrived) as "-"."""
    return {key: "-" if value is None else round(value, 1) if isinstance(value, float) else value
            for key, value in values.items()}


def show(result: dict, pinned: bool) -> None:
    """One line per case: the deliveries, then one part per load phase (back to back, paced)."""
    shown = rounded(result)
    loads = []
    for raw, load in zip(result["loads"], map(rounded, result["loads"])):
        mode = f"paced {load['pace']}/s each" if load["pace"] else "back to back"
        loads.append(f"{shown['clients']} clients at once, {mode}: issue p50 {load['issue_p50']} "
                     f"p99 {load['issue_p99']} ms ({load['issue_rate']}/s), call p50 {load['call_p50']} p99 "
                     f"{load['call_p99']} ms ({load['calls']} calls), {load['failures']} failed; cores used: server "
                     f"{load['server_cores']}, screens {load['screens_cores']}; server CPU per API request "
                     f"{raw['server_ms']:.2f} ms")
    print(f"{shown['workers']} proc {shown['screens']:>5} screens{' (pinned)' if pinned else ''}: connected "
          f"{shown['connected']:>5} in {shown['connect_s']} s | call→screen p50 {shown['p50']} p99 {shown['p99']} "
          f"max {shown['max']} ms, spread p50 {shown['spread_p50']} max {shown['spread_max']} ms, {shown['calls']} "
          f"calls, lost {shown['lost']}, dup {shown['duplicates']}, reconnects {shown['reconnects']} | "
          f"call req p99 {shown['call_p99']} ms | {' | '.join(loads)} | RSS {shown['rss_mb']} MB, "
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
    parser.add_argument("--seconds", type=float, default=8, help="how long each load phase lasts")
    parser.add_argument("--pace", type=float, action="append",
                        help="load phases: 0 = kiosks issue back to back; R = each client sends at most R requests"
                             " per second, open loop, latency from each request's scheduled time (default: 0 and 3)")
    parser.add_argument("--pin", action="store_true",
                        help="server processes on core 0, the screens' processes and the API clients on core 1")
    parser.add_argument("--screen-processes", type=int, default=os.cpu_count() or 1,
                        help="processes the screens are shared out among (default: one per core)")
    parser.add_argument("--screen-client", choices=["lean", "socketio"], default="lean",
                        help="websocket screens: the protocol spoken directly (a few µs per event, so the screens'"
                             " processes take little of the server's CPU) or python-socketio clients")
    parser.add_argument("--polling-client", choices=["lean", "socketio"], default="lean",
                        help="long-polling screens: the protocol spoken directly over HTTP/1.1 (tens of µs per"
                             " poll) or python-socketio clients (~0.5 ms per poll of the screens' CPU)")
    parser.add_argument("--polling-origin", action="store_true",
                        help="lean long-polling screens send an Origin header (the server's own), as browsers do")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose server runs")
    args = parser.parse_args()
    if args.polling_origin and args.polling_client != "lean":
        parser.error("--polling-origin needs --polling-client lean")
    with database(args.database, args.root) as db_url:
        headers = staff_headers(db_url, args.root)
        for workers in args.workers or [1, 2]:
            with redis_server() if workers > 1 else contextlib.nullcontext() as redis_url:
                for screens in args.screens or [100, 500, 1000, 2000]:
                    show(run_case(args, db_url, headers, workers, screens, redis_url), args.pin)


if __name__ == "__main__":
    main()
