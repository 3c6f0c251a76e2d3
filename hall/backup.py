"""Backups of the whole database while the server runs, and restoring one.

SQLite: the online backup API (sqlite3 `Connection.backup`) copies a consistent snapshot
page by page while other processes keep reading and writing; the backup is itself a
SQLite database file. PostgreSQL: `pg_dump --format=custom` (a consistent snapshot too),
restored with `pg_restore --clean --single-transaction`; both come with the PostgreSQL
client package (Debian: postgresql-client), which must be of the server's major version
or newer.

Restoring replaces everything in the configured database: stop the server processes first.
"""
from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, Engine

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
#: How long pg_dump and pg_restore wait for a table lock before giving up.
LOCK_TIMEOUT_S = 30


class BackupError(RuntimeError):
    """A backup or restore that cannot be done, with the reason in words."""


def backup(engine: Engine, target: Path) -> str:
    """Write a backup of the database to `target`; a sentence saying what was written."""
    if engine.dialect.name == "sqlite":
        _sqlite_copy(_sqlite_path(engine.url), target)
        return f"SQLite database copied to {target} (online backup API)"
    if engine.dialect.name == "postgresql":
        _run(_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), _libpq_url(engine.url))
        return f"PostgreSQL database dumped to {target} (pg_dump, custom format)"
    raise BackupError(f"no backup for {engine.dialect.name} databases")


def restore(engine: Engine, source: Path) -> str:
    """Replace the database's content with the backup at `source`; a sentence saying what was done."""
    magic = _magic(source)
    if engine.dialect.name == "sqlite":
        if not magic.startswith(SQLITE_MAGIC):
            raise BackupError(f"{source} is not a SQLite backup (a SQLite database restores from `hall backup` "
                              "of a SQLite database)")
        _sqlite_copy(source, _sqlite_path(engine.url))
        return f"SQLite database restored from {source}"
    if engine.dialect.name == "postgresql":
        if not magic.startswith(PG_DUMP_MAGIC):
            raise BackupError(f"{source} is not a pg_dump archive (a PostgreSQL database restores from "
                              "`hall backup` of a PostgreSQL database)")
        engine.dispose()  # no pooled connection of ours holds a lock on the tables being replaced
        _run(_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
             "--exit-on-error", "--dbname", _libpq_url(engine.url), str(source))
        return f"PostgreSQL database restored from {source} (pg_restore)"
    raise BackupError(f"no restore for {engine.dialect.name} databases")


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy one SQLite database onto another with the online backup API (a consistent snapshot)."""
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _magic(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(16)
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from exc


def _pg_tool(name: str) -> str:
    """The newest installed `pg_dump`/`pg_restore` (Debian keeps one per major version)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_major_version)
    tool = found[-1] if found else shutil.which(name)
    if tool is None:
        raise BackupError(f"{name} is not installed: install the PostgreSQL client tools "
                          "(Debian: apt-get install postgresql-client) of the server's version or newer")
    return tool


def _major_version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def _libpq_url(url: URL) -> str:
    """The SQLAlchemy URL as libpq tools take it (postgresql+psycopg:// → postgresql://)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run(*args: str) -> None:
    # a table another session keeps locked (a server still running) fails the tool instead of hanging it
    env = {**os.environ, "PGOPTIONS": f"-c lock_timeout={LOCK_TIMEOUT_S * 1000}"}
    result = subprocess.run(args, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {result.stderr.strip()[-2000:]}")
