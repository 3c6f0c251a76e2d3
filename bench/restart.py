"""Restart time: SIGTERM to a `flask hall serve` with screens connected until the process is
gone, then a new one until it answers; alternating this checkout and --root (A B A B).

    python bench/restart.py --root OTHER_CHECKOUT [--rounds 2] [--screens 20]
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.servers import database  # noqa: E402
from tests.crowd import Crowd  # noqa: E402
from tests.live import ROOT, LiveServer  # noqa: E402


def restart_once(db_url: str, root: Path, screens: int) -> tuple[float, float]:
    """Seconds from SIGTERM until the server is gone, and from a new start until it answers."""
    server = LiveServer(db_url, root=root, HALL_VOICE_ENABLED="false").start(timeout=180)
    crowd = Crowd([server.url], screens, 0.0, 120, "--attempts", "1", "--connect-timeout", "20")
    try:
        stopping = time.monotonic()
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(120)
        stopped = time.monotonic() - stopping
        starting = time.monotonic()
        server.start(timeout=180)
        return stopped, time.monotonic() - starting
    finally:
        crowd.close()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, required=True, help="the other checkout (e.g. an older commit)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--screens", type=int, default=20)
    args = parser.parse_args()
    variants = {"this": ROOT, "other": args.root}
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    with database("sqlite", ROOT) as this_db, database("sqlite", args.root) as other_db:
        urls = {"this": this_db, "other": other_db}
        for _round in range(args.rounds):
            for name, root in variants.items():
                figures[name].append(restart_once(urls[name], root, args.screens))
                print(f"{name:5} stop {figures[name][-1][0]:5.1f} s, start {figures[name][-1][1]:5.1f} s", flush=True)
    for name, runs in figures.items():
        print(f"{name:5} median: SIGTERM → gone {statistics.median(r[0] for r in runs):5.1f} s, "
              f"start → answering {statistics.median(r[1] for r in runs):5.1f} s ({variants[name]})")


if __name__ == "__main__":
    main()
