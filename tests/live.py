"""A real Hall server process for browser and multi-process tests."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
#: Long enough for `hall serve`, which refuses short and shipped keys; shared by every test server.
TEST_SECRET_KEY = "test-secret-key-of-the-live-test-servers-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`flask hall serve` (gunicorn, threads, websockets) on a free loopback port."""

    def __init__(self, database_url: str, port: int | None = None, **env: str) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "HALL_DATABASE_URL": database_url, "HALL_SERVER_THREADS": "20",
                    "HALL_SERVER_SECRET_KEY": TEST_SECRET_KEY, "HALL_AUTH_LOGIN_RATE": "1000 per minute", **env}
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> "LiveServer":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "hall", "hall", "serve", "--host", "127.0.0.1",
             "--port", str(self.port)], cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                if requests.get(self.url + "/api/v1/openapi.json", timeout=1).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("server did not start in time")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
