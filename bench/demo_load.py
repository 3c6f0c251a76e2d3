"""Time of `flask --app hall hall demo` (what `make run` does on a first start): wall and CPU seconds.

Each round runs `flask hall init` and `flask hall demo --history-days N` in a child process on a new
SQLite database (voice off, as on a machine without a loudspeaker), and prints the demo command's wall
time, its CPU time (user + system of the child) and the history time the command itself reports.
With `--against DIR` the rounds alternate between this checkout and another one (A B A B), so
both are measured under the same load; medians and the ratio are printed.

    PYTHONPATH=. .venv/bin/python bench/demo_load.py [--history-days 30] [--rounds 1] [--against /path/to/checkout]
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(command: list[str], checkout: Path, env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command[3:])} failed in {checkout}:\n{done.stderr[-3000:]}")
    return done.stdout


def demo_once(checkout: Path, history_days: int) -> dict[str, float]:
    """One fresh database: init, then the timed demo load."""
    with tempfile.TemporaryDirectory(prefix="hall-demo-bench-") as folder:
        env = {**os.environ, "PYTHONPATH": str(checkout), "HALL_DATABASE_URL": f"sqlite:///{folder}/hall.db",
               "HALL_VOICE_ENABLED": "false"}
        flask = [sys.executable, "-m", "flask", "--app", "hall", "hall"]
        run([*flask, "init"], checkout, env)
        cpu, started = children_cpu_s(), time.perf_counter()
        output = run([*flask, "demo", "--history-days", str(history_days)], checkout, env)
        wall, cpu = time.perf_counter() - started, children_cpu_s() - cpu
    history = re.search(r"history in ([\d.]+) s", output)
    return {"wall_s": wall, "cpu_s": cpu, "history_s": float(history.group(1)) if history else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--against", type=Path, help="another checkout, measured alternately (A B A B)")
    args = parser.parse_args()
    checkouts = {"this": HERE} | ({"other": args.against.resolve()} if args.against else {})
    results: dict[str, list[dict[str, float]]] = {name: [] for name in checkouts}
    print(f"flask hall demo --history-days {args.history_days}; load average {os.getloadavg()[0]:.2f}, "
          f"{os.cpu_count()} CPUs")
    for round_no in range(1, args.rounds + 1):
        for name, checkout in checkouts.items():
            figures = demo_once(checkout, args.history_days)
            results[name].append(figures)
            print(f"round {round_no} {name:5} ({checkout}): wall {figures['wall_s']:.1f} s, "
                  f"CPU {figures['cpu_s']:.1f} s, history {figures['history_s']:.1f} s, "
                  f"load average {os.getloadavg()[0]:.2f}", flush=True)
    medians = {name: {k: statistics.median(r[k] for r in rows) for k in rows[0]} for name, rows in results.items()}
    for name, m in medians.items():
        print(f"median {name:5}: wall {m['wall_s']:.1f} s, CPU {m['cpu_s']:.1f} s, history {m['history_s']:.1f} s")
    if args.against:
        print(f"this / other: wall {medians['this']['wall_s'] / medians['other']['wall_s']:.2f}, "
              f"CPU {medians['this']['cpu_s'] / medians['other']['cpu_s']:.2f}")


if __name__ == "__main__":
    main()
