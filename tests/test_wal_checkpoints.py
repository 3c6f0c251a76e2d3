"""SQLite's log checkpointed by a thread of the process, not inside a request's commit (hall.wal_checkpoints)."""
from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hall.database import IMMEDIATE, configure_engine
from hall.wal_checkpoints import CheckpointSettings, log_frames

ROOT = Path(__file__).resolve().parents[1]
ROW = b"x" * 6000  # two pages and a bit per row


def _engine(path: Path):
    engine = create_engine(f"sqlite:///{path}")
    checkpointer = configure_engine(engine, 5)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB)"))
    return engine, checkpointer


def _write(engine, rows: int) -> None:
    for _ in range(rows):
        with engine.connect().execution_options(**{IMMEDIATE: True}) as connection:
            connection.execute(text("INSERT INTO rows (body) VALUES (:body)"), {"body": ROW})
            connection.commit()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wait_for(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_the_database_layer_loads_nothing_of_the_server_package():
    """hall.database and its checkpoints ask hall.greenlets whether gevent runs, not hall.server."""
    loaded = subprocess.run([sys.executable, "-c", "import sys, hall.database, hall.wal_checkpoints; "
                             "print(sorted(m for m in sys.modules if m.startswith('hall.server')))"],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                            text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_a_commit_never_checkpoints_the_log_the_processs_thread_does(tmp_path):
    database = tmp_path / "hall.db"
    engine, checkpointer = _engine(database)
    assert checkpointer is not None
    checkpointer.pages, checkpointer.idle_s = 10**9, 10**9  # the thread holds off for now
    with sqlite3.connect(database) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _digest(database)

    _write(engine, 600)  # ~1 800 pages: SQLite's own threshold (1 000) is crossed in a commit
    frames, _salt = log_frames(f"{database}-wal")
    assert 1000 < frames < CheckpointSettings().bound_pages
    assert _digest(database) == before, "a commit copied the log into the database"
    assert checkpointer.checkpoints == 0

    checkpointer.idle_s = 0.1  # now the thread's idle rule applies
    assert _wait_for(lambda: checkpointer.checkpoints > 0, 3)
    assert database.stat().st_size > 600 * len(ROW)
    _write(engine, 1)  # the log, all copied back, starts again from its beginning
    assert log_frames(f"{database}-wal")[0] < 10
    with sqlite3.connect(database) as raw:
        assert raw.execute("SELECT count(*) FROM rows").fetchone() == (601,)
    engine.dispose()


def test_a_quiet_log_is_checkpointed_again_only_after_a_write(tmp_path):
    """A reader's snapshot keeps a checkpoint from copying the whole log back: with nothing written
    since, the watcher does not sync the files again and again (it did every `idle_s`)."""
    database = tmp_path / "hall.db"
    engine, checkpointer = _engine(database)
    checkpointer.idle_s = 0.05
    _write(engine, 2)
    reader = sqlite3.connect(database, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM rows").fetchone()  # its snapshot holds what follows in the log
    _write(engine, 2)
    assert _wait_for(lambda: checkpointer.checkpoints > 0, 3)
    quiet = checkpointer.checkpoints
    time.sleep(1.0)  # 20 idle periods with nothing written
    assert checkpointer.checkpoints - quiet <= 1
    reader.rollback()
    quiet = checkpointer.checkpoints
    _write(engine, 1)
    assert _wait_for(lambda: checkpointer.checkpoints > quiet, 3), "a write was not checkpointed"
    reader.close()
    engine.dispose()


def test_a_disposed_engine_leaves_the_whole_database_in_its_file(tmp_path):
    """As with SQLite alone, closing the last connection copies the log back: a copy of the file
    without its log (a backup, a test's template) holds every commit, with a watcher running."""
    database = tmp_path / "hall.db"
    engine, checkpointer = _engine(database)
    _write(engine, 50)
    engine.dispose()
    copy = tmp_path / "copy.db"
    copy.write_bytes(database.read_bytes())
    with sqlite3.connect(copy) as raw:
        assert raw.execute("SELECT count(*) FROM rows").fetchone() == (50,)


def test_the_log_stays_bounded_under_steady_writes(tmp_path):
    database = tmp_path / "hall.db"
    engine, checkpointer = _engine(database)
    checkpointer.pages, checkpointer.restart_pages = 200, 400
    rows = iter(range(1200))  # ~3 700 frames: the log restarts at 400, SQLite's own bound is 10 000
    most, salts, errors = 0, set(), []

    def writer() -> None:
        try:
            for _ in rows:
                _write(engine, 1)
                time.sleep(0.001)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    writers = [threading.Thread(target=writer) for _ in range(2)]
    for thread in writers:
        thread.start()
    while any(thread.is_alive() for thread in writers):
        frames, salt = log_frames(f"{database}-wal")
        most = max(most, frames)
        salts.add(salt)
        time.sleep(0.005)

    assert not errors
    assert len(salts) > 3, "the log never started again"
    assert checkpointer.restarts > 0
    assert most <= 2000, f"the log reached {most} frames"
    engine.dispose()


_KILLED_WRITER = """
from gevent import monkey; monkey.patch_all()
import itertools, sqlite3, sys, time
import gevent
from sqlalchemy import create_engine, text
from hall.database import IMMEDIATE, configure_engine
engine = create_engine("sqlite:///" + sys.argv[1])
checkpointer = configure_engine(engine, 2)
checkpointer.pages = 50
with sqlite3.connect(sys.argv[1]) as raw:  # not through the engine: the writers' first commit starts the watcher
    raw.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB)")
ids = itertools.count(1)

def writer():
    try:
        for n in ids:
            with engine.connect().execution_options(**{IMMEDIATE: True}) as connection:
                connection.execute(text("INSERT INTO rows (id, body) VALUES (:id, zeroblob(3000))"), {"id": n})
                connection.commit()
            print(n, checkpointer.checkpoints, flush=True)
            time.sleep(0)  # the loop goes round between requests, as a server's does
    except Exception as error:
        print("failed", repr(error).replace(" ", "_"), flush=True)

gevent.joinall([gevent.spawn(writer) for _ in range(4)])
"""


def test_a_process_killed_while_its_watcher_checkpoints_loses_no_committed_write(tmp_path):
    """Four greenlets of a gevent process write side by side (none waits on another's COMMIT,
    which would hold the loop in SQLite's busy handler), then the process is killed."""
    database = tmp_path / "hall.db"
    writer = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(database)], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    committed, failed, checkpoints = set(), [], 0
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and (len(committed) < 300 or checkpoints < 5) and not failed:
            line = writer.stdout.readline()
            if not line:
                break
            first, second = line.split()
            if first == "failed":
                failed.append(second)
            else:
                committed.add(int(first))
                checkpoints = int(second)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert not failed
    assert checkpoints >= 5, "the process's watcher never checkpointed"
    with sqlite3.connect(database) as raw:
        ids = {row[0] for row in raw.execute("SELECT id FROM rows")}
    assert committed <= ids
