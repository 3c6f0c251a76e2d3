"""A real Hall server process for browser and multi-process tests."""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
#: Long enough for `hall serve`, which refuses short and shipped keys; shared by every test server.
TEST_SECRET_KEY = "test-secret-key-of-the-live-test-servers-0123456789"


#: Test servers listen below the kernel's range of outgoing ports (32768-60999 on Linux), so no
#: client connection of a parallel test takes a port between its choice and the server's bind;
#: each pytest-xdist worker (PYTEST_XDIST_WORKER=gw0, gw1, ...) draws from its own slice.
PORT_RANGE = (20000, 32000)
PORT_SLICES = 4
_chooser = random.Random()  # not the global generator, which tests may seed


def _port_slice() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) % PORT_SLICES if worker.isdigit() else 0
    width = (PORT_RANGE[1] - PORT_RANGE[0]) // PORT_SLICES
    return range(PORT_RANGE[0] + index * width, PORT_RANGE[0] + (index + 1) * width)


def free_port(count: int = 1) -> int:
    """A loopback port such that it and the `count - 1` ports after it are free (this worker's slice)."""
    ports = _port_slice()
    while True:
        port = _chooser.randrange(ports.start, ports.stop - count)
        if all(_is_free(port + offset) for offset in range(count)):
            return port


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class LiveServer:
    """`flask hall serve` (gunicorn, gevent, websockets) on free loopback ports.

    `HALL_SERVER_WORKERS=N` in `env` runs N processes; `urls` has one address per process.
    `root` is the checkout whose code runs (benchmarks compare another one).
    """

    def __init__(self, database_url: str, port: int | None = None, root: Path = ROOT, **env: str) -> None:
        self.workers = int(env.get("HALL_SERVER_WORKERS", "1"))
        self.port = port or free_port(self.workers)
        self.urls = [f"http://127.0.0.1:{self.port + index}" for index in range(self.workers)]
        self.url = self.urls[0]
        self.env = {**os.environ, "HALL_DATABASE_URL": database_url, "HALL_SERVER_ACCESS_LOG": "false",
                    "HALL_SERVER_SECRET_KEY": TEST_SECRET_KEY, "HALL_AUTH_LOGIN_RATE": "1000 per minute", **env}
        self.root = root
        self.process: subprocess.Popen | None = None
        handle, self.log_path = tempfile.mkstemp(prefix="hall-server-", suffix=".log")
        os.close(handle)

    def start(self, timeout: float = 60) -> "LiveServer":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "hall", "hall", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port)], cwd=self.root, env=self.env, stdout=subprocess.DEVNULL, stderr=log,
                start_new_session=True)
        deadline = time.time() + timeout
        waiting = list(self.urls)
        while waiting and time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()[-2000:]}")
            try:
                if requests.get(waiting[0] + "/api/v1/openapi.json", timeout=1).ok:
                    waiting.pop(0)
            except requests.RequestException:
                time.sleep(0.1)
        if waiting:
            self.stop()
            raise RuntimeError(f"server did not start in {timeout} s: {self.log()[-2000:]}")
        return self

    def log(self) -> str:
        """What the server processes wrote on standard error so far."""
        return Path(self.log_path).read_text(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
