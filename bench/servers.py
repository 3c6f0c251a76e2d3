"""Throw-away servers for benchmarks: a fresh database with the demo hall, served for real."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from tests.live import ROOT, LiveServer
from tests.pg import PostgresServer


def flask_command(database_url: str, *args: str, root: Path = ROOT) -> str:
    """Run `flask --app hall <args>` of the checkout `root` on a database; returns what it printed."""
    return subprocess.run([sys.executable, "-m", "flask", "--app", "hall", *args], cwd=root, check=True,
                          env={**os.environ, "HALL_DATABASE_URL": database_url}, capture_output=True,
                          text=True).stdout


def _prepare(url: str, root: Path) -> None:
    """Schema and demo hall, without the demo's simulated past (older checkouts have none)."""
    flask_command(url, "hall", "init", root=root)
    try:
        flask_command(url, "hall", "demo", "--history-days", "0", root=root)
    except subprocess.CalledProcessError:
        flask_command(url, "hall", "demo", root=root)


@contextlib.contextmanager
def database(kind: str, root: Path = ROOT) -> Iterator[str]:
    """A fresh, migrated database URL with the demo hall: "sqlite" or "postgres" (`root`'s schema)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            _prepare(url, root)
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
        _prepare(url, root)
        yield url
    finally:
        server.stop()


def sibling_database(url: str, name: str) -> str:
    """An empty database beside `url`'s: another file in its folder (SQLite), or another database of the
    same PostgreSQL cluster. Gone with `url`'s (the folder or the cluster ends with `database()`)."""
    if url.startswith("sqlite:"):
        return f"sqlite:///{Path(url.split('///', 1)[1]).with_name(name + '.db')}"
    return _created(url, f"CREATE DATABASE {name}", name)


def _created(url: str, statement: str, name: str) -> str:
    """Run a CREATE DATABASE beside `url`'s PostgreSQL database; the new database's URL."""
    engine = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(statement)
    engine.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


def prepared_sibling(url: str, name: str, root: Path = ROOT) -> str:
    """`sibling_database` with `root`'s schema and demo hall."""
    sibling = sibling_database(url, name)
    _prepare(sibling, root)
    return sibling


def same_schema(root: Path, other: Path) -> bool:
    """Whether two checkouts hold the same migrations (so one's database serves the other as it is)."""
    def migrations(checkout: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in (checkout / "migrations" / "versions").glob("*.py")}
    return migrations(root) == migrations(other)


def copied_database(url: str, name: str) -> str:
    """A copy of `url`'s database beside it (PostgreSQL: its template; nothing may be connected to it)."""
    if url.startswith("sqlite:"):
        import sqlite3

        copy = sibling_database(url, name)
        with sqlite3.connect(url.split("///", 1)[1]) as source, sqlite3.connect(copy.split("///", 1)[1]) as target:
            source.backup(target)
        return copy
    return _created(url, f"CREATE DATABASE {name} TEMPLATE {url.rsplit('/', 1)[1]}", name)


@contextlib.contextmanager
def served(kind: str) -> Iterator[LiveServer]:
    """A real `flask hall serve` on a fresh database of the given kind (`.url`, `.env`)."""
    with database(kind) as url:
        server = LiveServer(url).start()
        try:
            yield server
        finally:
            server.stop()
