"""PostgreSQL stopped under a served hall: what clients get, what the log says, how soon it recovers.

Starts a throw-away PostgreSQL and `flask hall serve` on it (from --root, default this checkout),
keeps kiosks issuing, phones reading and a counter calling for --outage-s seconds with the
database stopped, then starts the database again and times the first ticket issued.

    .venv/bin/python bench/db_outage.py [--root DIR] [--outage-s 10]

Prints the status codes seen during the outage, the tracebacks and outage lines in the server's
log, and the seconds from the database being back to the first ticket issued.
"""
from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live import free_port  # noqa: E402
from tests.pg import PostgresServer  # noqa: E402

SECRET = "bench-secret-key-of-forty-characters-xxxx"


def _flask(root: Path, env: dict[str, str], *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "hall", "hall", *args], cwd=root,
                            env={**env, "PYTHONPATH": str(root)}, **popen)


def _token(root: Path, env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "hall", "hall", "token", "create", "staff1"],
                         cwd=root, env={**env, "PYTHONPATH": str(root)}, capture_output=True, text=True, check=True)
    return out.stdout.strip().split()[-1]


def _load(url: str, token: str, until: float) -> collections.Counter:
    """Kiosks, phones and a counter at once until `until`; the status codes they got."""
    headers = {"Authorization": f"Bearer {token}"}
    calls = [lambda: requests.post(f"{url}/api/v1/halls/demo/tickets", json={"service": "A"}, timeout=10),
             lambda: requests.get(f"{url}/api/v1/halls/demo/queue", timeout=10),
             lambda: requests.post(f"{url}/api/v1/halls/demo/counters/1/call-next", headers=headers, timeout=10)]

    def client(call) -> collections.Counter:
        seen: collections.Counter = collections.Counter()
        while time.monotonic() < until:
            try:
                seen[call().status_code] += 1
            except requests.RequestException:
                seen["no answer"] += 1
        return seen

    with ThreadPoolExecutor(6) as pool:
        return sum(pool.map(client, calls * 2), collections.Counter())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the Hall checkout to serve")
    parser.add_argument("--outage-s", type=float, default=10)
    options = parser.parse_args()
    pg = PostgresServer()
    url = pg.start()
    port = free_port()
    log_path = Path(tempfile.mkstemp(prefix="hall-outage-", suffix=".log")[1])
    env = {**os.environ, "HALL_DATABASE_URL": url, "HALL_SERVER_SECRET_KEY": SECRET, "HALL_VOICE_ENABLED": "false"}
    server = None
    try:
        subprocess.run([sys.executable, "-m", "flask", "--app", "hall", "hall", "init"], cwd=options.root,
                       env={**env, "PYTHONPATH": str(options.root)}, check=True, capture_output=True)
        subprocess.run([sys.executable, "-m", "flask", "--app", "hall", "hall", "demo", "--history-days", "0"]
                       if "history-days" in (options.root / "hall" / "cli.py").read_text() else
                       [sys.executable, "-m", "flask", "--app", "hall", "hall", "demo"],
                       cwd=options.root, env={**env, "PYTHONPATH": str(options.root)}, check=True, capture_output=True)
        token = _token(options.root, env)
        with log_path.open("wb") as log:
            server = _flask(options.root, env, "serve", "--host", "127.0.0.1", "--port", str(port),
                            stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "/api/v1/openapi.json", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        requests.post(f"{base}/api/v1/halls/demo/counters/1/open", headers={"Authorization": f"Bearer {token}"},
                      timeout=10)
        before = log_path.read_text(errors="replace")
        pg.halt()
        seen = _load(base, token, time.monotonic() + options.outage_s)
        pg.resume()
        back = time.monotonic()
        recovered = None
        while time.monotonic() - back < 60:
            try:
                if requests.post(f"{base}/api/v1/halls/demo/tickets", json={"service": "A"}, timeout=10).status_code == 201:
                    recovered = time.monotonic() - back
                    break
            except requests.RequestException:
                pass
            time.sleep(0.05)
        time.sleep(1.5)
        requests.get(f"{base}/api/v1/halls/demo/queue", timeout=10)  # a success after the quiet second ends the outage
        log = log_path.read_text(errors="replace")[len(before):]
        print(f"root: {options.root}")
        print(f"requests during a {options.outage_s:.0f} s outage: {sum(seen.values())}, status codes: {dict(seen)}")
        print(f"tracebacks in the server log: {log.count('Traceback')}")
        print(f"outage lines: {[line for line in log.splitlines() if 'hall.outage' in line or 'unavailable' in line][:4]}")
        print(f"first ticket issued {recovered:.2f} s after the database was back" if recovered is not None
              else "no ticket issued within 60 s of the database being back")
    finally:
        if server is not None:
            os.killpg(server.pid, 15)
            server.wait(20)
        pg.stop()
        log_path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
