"""`hall serve`: the gunicorn command of each server process, and running N of them.

Socket.IO needs every request of one client to reach the same process, which gunicorn's own
workers of one port cannot promise; so N processes listen on N consecutive ports, each a
gunicorn with one gevent worker, and a proxy with sticky sessions sits in front (deploy/).
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

CONFIG_FILE = Path(__file__).with_name("gunicorn_conf.py")


def bind_addresses(host: str, port: int, workers: int) -> list[str]:
    """One address per process: `port`, `port + 1`, … ."""
    return [f"{host}:{port + index}" for index in range(workers)]


def gunicorn_command(bind: str, settings: dict[str, Any]) -> list[str]:
    """One process: gunicorn with a single gevent worker and no control socket (gunicorn_conf.py).

    Without the access log gunicorn formats nothing per request (a long-polling screen makes one
    request per event), rather than formatting every line for /dev/null."""
    access_log = ["--access-logfile", "-"] if settings["access_log"] else []
    return [sys.executable, "-m", "gunicorn", "--config", str(CONFIG_FILE), "--bind", bind,
            "--worker-connections", str(settings["connections"]), *access_log, "hall.wsgi:app"]


def raise_open_files_limit() -> None:
    """Every live connection is an open file: allow as many as the system lets this user."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard != resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run_one(bind: str, settings: dict[str, Any]) -> None:
    """Become the server process (exec): signals reach gunicorn directly."""
    command = gunicorn_command(bind, settings)
    raise_open_files_limit()
    os.execv(sys.executable, command)


def run_many(binds: list[str], settings: dict[str, Any]) -> int:
    """Run one server process per address until SIGTERM/SIGINT, which is passed on to all.

    If one process ends by itself, the others are stopped too and its exit code returned, so
    that the service manager (systemd, docker) restarts the whole set.
    """
    raise_open_files_limit()
    processes = [subprocess.Popen(gunicorn_command(bind, settings)) for bind in binds]

    def pass_on(signum: int, _frame: Any) -> None:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, pass_on)
    first_code = None
    while any(process.poll() is None for process in processes):
        _pid, status = os.wait()
        if first_code is None:
            first_code = os.waitstatus_to_exitcode(status)
            pass_on(signal.SIGTERM, None)
    for process in processes:
        process.wait()
    return first_code or 0
