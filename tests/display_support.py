"""A demo hall on its own SQLite file with real server processes, shared by a test module."""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import requests

from hall import create_app
from hall.auth import create_api_token
from hall.demo import create_demo_hall
from hall.extensions import db
from hall.models import Device, Staff
from tests.conftest import TEST_CONFIG
from tests.live import LiveServer, free_port
from tests.resident_ids import issue_args


class DisplayHall:
    """The demo hall in a file the test process and its servers share; API calls as the supervisor."""

    def __init__(self, sqlite_template: str | None, folder: Path | None, database_url: str | None = None):
        """On a copy of the SQLite template in `folder`, or on the migrated, empty `database_url`."""
        if database_url is None:
            path = folder / "hall.db"
            shutil.copy(sqlite_template, path)
            database_url = f"sqlite:///{path}"
        self.db_url = database_url
        self.app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": self.db_url})
        self._context = self.app.app_context()
        self._context.push()
        self.passwords = create_demo_hall()
        self.hall_id = db.session.scalar(db.select(Staff.hall_id).where(Staff.login == "supervisor"))
        supervisor = db.session.scalar(db.select(Staff).where(Staff.login == "supervisor"))
        self.headers = {"Authorization": f"Bearer {create_api_token(supervisor)}"}
        self.display_token = db.session.scalar(db.select(Device.token).where(Device.kind == "display"))
        self.servers: list[LiveServer] = []

    def server(self, **env: str) -> LiveServer:
        server = LiveServer(self.db_url, **env).start()
        self.servers.append(server)
        return server

    def post(self, server: LiveServer, path: str, body: dict | None = None) -> dict[str, Any]:
        response = requests.post(f"{server.url}/api/v1/halls/demo{path}", json=body or {}, headers=self.headers,
                                 timeout=10)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def issue(self, server: LiveServer, prefix: str = "A") -> str:
        return self.post(server, "/tickets", {"service": prefix, "channel": "staff", **issue_args(prefix)})["number"]

    def call(self, server: LiveServer, counter: int) -> dict[str, Any]:
        """Open the counter if need be and call its next ticket; the answer is the called ticket."""
        self.post(server, f"/counters/{counter}/open")
        return self.post(server, f"/counters/{counter}/call-next")

    def call_number(self, server: LiveServer, counter: int, number: str) -> dict[str, Any]:
        """Call this ticket at the counter, opening it and letting go of a ticket it may hold."""
        self.post(server, f"/counters/{counter}/open")
        requests.post(f"{server.url}/api/v1/halls/demo/counters/{counter}/no-show", headers=self.headers, timeout=10)
        return self.post(server, f"/counters/{counter}/call", {"number": number})

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        db.session.remove()
        db.engine.dispose()
        self._context.pop()


class RedisServer:
    """A throw-away redis-server on a loopback port that a test may stop and start again."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        wait_for(lambda: _pings(client))
        client.close()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


def _pings(client) -> bool:
    import redis

    try:
        return client.ping()
    except redis.ConnectionError:
        return False


def wait_for(condition: Callable[[], Any], timeout: float = 10, interval: float = 0.05) -> Any:
    """Poll until `condition()` is truthy; its value, or AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
