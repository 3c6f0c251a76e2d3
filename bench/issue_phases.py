"""Where an issue's time goes, in one Hall server process on PostgreSQL (issue 11's 1 hall x 1 process p99).

    python bench/issue_phases.py                          # this checkout, 12 halls, 3 rounds of 8 s
    python bench/issue_phases.py --root /tmp/before       # another checkout's Hall, same clients

Starts a throw-away PostgreSQL with the demo hall and --halls - 1 more (as bench/issue_rate.py's database
holds: the housekeeping round tends them all), one `hall serve` with bench/phases_probe on its path (a
probe installed in the worker: bench/phases_probe/phases_probe.py), and 16 clients issuing in the demo hall
(bench/issue_rate.py's clients). Prints the clients' p50/p99, then from the probe: each phase's p50/p90/p99
(`place_wait`: waiting in the process for a place at the hall's lock; `at_lock`: holding one; `execute`:
the one call's statement; `run_ms`: the request's greenlet on the loop), the same phases for the slowest 1 %,
the event loop's holds over 5 ms by greenlet (wall and CPU), the housekeeping greenlet's CPU in its busiest
100 ms / 250 ms / 1 s, and collections over 3 ms. CPU figures hold on a busy machine; wall ones do not.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.issue_rate import issue_for  # noqa: E402
from bench.servers import database, flask_command  # noqa: E402
from tests.live import ROOT, LiveServer  # noqa: E402

PROBE = Path(__file__).resolve().parent / "phases_probe"
PHASES = ("total", "place_wait", "at_lock", "execute", "run_ms")


def _pct(values: list[float], share: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * share))] if values else 0.0


def _read(out: str) -> dict[str, list]:
    found: dict[str, list] = {"req": [], "hold": [], "gc": [], "hks": [], "cpu": []}
    for path in glob.glob(out + ".*"):
        with open(path) as lines:
            for line in lines:
                record = json.loads(line)
                found[record["k"]].append(record if record["k"] == "req" else record["v"])
    return found


def _busiest(slices: list[tuple[float, float]], window: float) -> float:
    best, first, inside = 0.0, 0, 0.0
    for at, cpu in slices:
        inside += cpu
        while slices[first][0] < at - window:
            inside -= slices[first][1]
            first += 1
        best = max(best, inside)
    return best


def report(out: str) -> None:
    found = _read(out)
    issues = sorted((r for r in found["req"] if r.get("path", "").endswith("/tickets")), key=lambda r: r["total"])
    slowest = issues[-max(1, len(issues) // 100):]
    print(f"PHASES {len(issues)} issues (ms): " + "  ".join(
        f"{name} {_pct([r.get(name, 0) for r in issues], .5):.1f}/{_pct([r.get(name, 0) for r in issues], .9):.1f}"
        f"/{_pct([r.get(name, 0) for r in issues], .99):.1f}" for name in PHASES) + "  (p50/p90/p99)")
    print("SLOWEST 1% mean (ms): " + "  ".join(
        f"{name} {statistics.mean(r.get(name, 0) for r in slowest):.1f}" for name in PHASES))
    wall, cpu, count = Counter(), Counter(), Counter()
    for _at, ms, cpu_ms, label, _where in found["hold"]:
        wall[label] += ms
        cpu[label] += cpu_ms
        count[label] += 1
    for label, _ in wall.most_common(6):
        print(f"HOLDS > 5 ms {label:40} {count[label]:5} x, {wall[label]:8.1f} ms wall, {cpu[label]:7.1f} ms CPU")
    if found["cpu"]:
        print("LOOP CPU by greenlet (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in
                                                       sorted(found["cpu"][-1].items(), key=lambda kv: -kv[1])[:6]))
    slices = sorted(tuple(s) for s in found["hks"])
    if slices:
        print(f"HOUSEKEEPING {sum(c for _, c in slices):.1f} ms CPU in {len(slices)} slices; busiest 100 ms"
              f" {_busiest(slices, 0.1):.1f}, 250 ms {_busiest(slices, 0.25):.1f}, 1 s {_busiest(slices, 1.0):.1f} ms CPU;"
              f" largest slice {max(c for _, c in slices):.1f}")
    print(f"COLLECTIONS {len(found['gc'])}, over 3 ms: {sum(1 for g in found['gc'] if g[1] > 3)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose Hall serves")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--halls", type=int, default=12, help="active halls in the database (the demo hall issues)")
    args = parser.parse_args()
    root = Path(args.root).resolve()
    out = str(Path(tempfile.mkdtemp(prefix="issue-phases-")) / "probe")
    with database("postgres", root) as url:
        for n in range(2, args.halls + 1):
            flask_command(url, "hall", "demo", "--slug", f"hall{n}", "--history-days", "0", root=root)
        server = LiveServer(url, root=root, PYTHONPATH=f"{root}:{PROBE}", HALL_PHASES_PROBE=out).start(timeout=120)
        try:
            issue_for([server.url], ["demo"], 1.5, 4)  # warm-up, not reported
            time.sleep(1.5)
            for path in glob.glob(out + ".*"):
                os.remove(path)
            latencies: list[float] = []
            for n in range(args.rounds):
                result = issue_for([server.url], ["demo"], args.seconds, args.clients)
                latencies += [1000 * x for x in result.latencies]
                print(f"  round {n + 1}: {result.rate:.1f}/s", flush=True)
                time.sleep(1.5)  # the probe writes between rounds
        finally:
            server.stop()
    print(f"CLIENTS {len(latencies)} issues p50 {_pct(latencies, .5):.1f} ms p99 {_pct(latencies, .99):.1f} ms")
    report(out)


if __name__ == "__main__":
    main()
