"""Throw-away servers for benchmarks: a fresh database with the demo hall, served for real."""
from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from tests.live import ROOT, LiveServer
from tests.pg import PostgresServer


def _prepare(url: str) -> None:
    env = {"HALL_DATABASE_URL": url}
    for command in (["hall", "init"], ["hall", "demo"]):
        subprocess.run([sys.executable, "-m", "flask", "--app", "hall", *command], cwd=ROOT, check=True,
                       env={**__import__("os").environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, migrated database URL with the demo hall: "sqlite" or "postgres"."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            _prepare(url)
            yield url
        return
    server = PostgresServer()
    try:
        admin_url = server.start()
        engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE DATABASE hall_bench")
        engine.dispose()
        url = admin_url.rsplit("/", 1)[0] + "/hall_bench"
        _prepare(url)
        yield url
    finally:
        server.stop()


@contextlib.contextmanager
def served(kind: str) -> Iterator[str]:
    """Base URL of a real `flask hall serve` on a fresh database of the given kind."""
    with database(kind) as url:
        server = LiveServer(url).start()
        try:
            yield server.url
        finally:
            server.stop()
