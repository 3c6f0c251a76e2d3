"""SQLite's write-ahead log copied back into the database off the request path.

With SQLite's default, the commit that takes the log past 1 000 pages runs the checkpoint itself
under the hall's write lock: in a server process (gevent) that stalls the event loop, and every
request in it, 5–12 ms now and then (more on a slow disk: a checkpoint syncs the log and the
database). Here request connections leave it to a `Checkpointer`, one per process and database
file, a watcher (a greenlet under gevent, a thread elsewhere) that runs the checkpoints in an OS
thread (SQLite lets go of the GIL while it copies and syncs, so the loop goes on):

- a PASSIVE checkpoint, which waits for no reader or writer, once the log holds `pages` pages not
  yet copied back, and `idle_s` after the last while it holds any: a hall that stops writing is
  left with its log all copied back. Only a log written since the last checkpoint began is
  checkpointed again: what a reader's snapshot kept from being copied back waits for the next write
  (a quiet hall costs no syncs);
- SQLite starts the log again from its beginning only at a write that finds it all copied back,
  which steady writes seldom leave room for; so once the log is `restart_pages` long, the watcher
  takes this process's writer lock for one more PASSIVE checkpoint of the few frames written
  since the last (the writers wait for it, under gevent without holding the loop);
- request connections keep SQLite's own checkpoint at `bound_pages`, only for a watcher that fell
  that far behind (a stopped process, another process writing without a gap), so the log stays
  bounded whatever happens; `journal_size_limit = 0` cuts the file to the new log's length at each
  restart, so the file is as long as the log and nothing keeps its peak on disk.

The three lengths and `idle_s` are `[database] checkpoint_*` settings (config.toml, `CheckpointSettings`).
The watcher ends after `stop_after_s` with nothing to do (a test run's many databases do not keep
one each) and the next commit starts it again. Durability is SQLite's own: a checkpoint copies
committed pages only, and a process killed during one loses nothing (the log is replayed).
"""
from __future__ import annotations

import logging
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hall.greenlets import gevent_patched

log = logging.getLogger(__name__)

#: How often the watcher looks at the log's length (a stat and a 32-byte read).
TICK_S = 0.05
#: The watcher ends after this long with nothing to copy; the next commit starts it again.
STOP_AFTER_S = 5.0

_WAL_HEADER = struct.Struct(">IIIIII")  # magic, version, page size, checkpoint seq, salt-1, salt-2
_FRAME_HEADER = 24


@dataclass(frozen=True)
class CheckpointSettings:
    """When the log is checkpointed: `[database] checkpoint_*` in config.toml (the same defaults)."""

    #: pages not yet copied back that make the watcher checkpoint (SQLite's own default threshold)
    pages: int = 1000
    #: a log this long is checkpointed once more holding this process's writers, so that it restarts
    restart_pages: int = 4000
    #: SQLite's own checkpoint in a request's commit, only if the watcher has fallen this far behind
    bound_pages: int = 10000
    #: a log written since its last checkpoint is checkpointed this long after it, even if no write comes
    quiet_s: float = 1.0

    @classmethod
    def of(cls, database: Mapping[str, Any]) -> CheckpointSettings:
        """From the settings' `[database]` section."""
        return cls(pages=database["checkpoint_pages"], restart_pages=database["checkpoint_restart_pages"],
                   bound_pages=database["checkpoint_bound_pages"], quiet_s=database["checkpoint_quiet_s"])


def request_pragmas(settings: CheckpointSettings) -> tuple[str, ...]:
    """What every request connection sets: SQLite's checkpoint only past the bound, log cut on restart."""
    return (f"PRAGMA wal_autocheckpoint={settings.bound_pages}", "PRAGMA journal_size_limit=0")


def database_file(database: str | None) -> str | None:
    """The file a SQLAlchemy SQLite URL's database names, or None for an in-memory database."""
    if not database or database == ":memory:" or "mode=memory" in database:
        return None
    if database.startswith("file:"):
        database = database[len("file:"):].split("?", 1)[0]
    return os.path.abspath(database)


class Checkpointer:
    """Checkpoints one database file's log in the background of this process (see the module)."""

    def __init__(self, path: str, writer: Any, settings: CheckpointSettings, *, tick_s: float = TICK_S,
                 stop_after_s: float = STOP_AFTER_S) -> None:
        """`writer`: the lock this process's writers of the database take before BEGIN IMMEDIATE."""
        self.path = path
        self.log_path = path + "-wal"
        self.writer = writer
        self.pages = settings.pages
        self.restart_pages = settings.restart_pages
        self.idle_s = settings.quiet_s
        self.tick_s = tick_s
        self.stop_after_s = stop_after_s
        #: checkpoints run, and of them those that held this process's writers (tests, benchmarks)
        self.checkpoints = self.restarts = 0
        self._running_in: int | None = None  # pid of the process whose watcher runs
        self._checkpointing = threading.Lock()  # held while a checkpoint's connection is open

    def wrote(self) -> None:
        """Called at each commit: start the watcher if this process has none running.

        Called before the driver's COMMIT, with the process's writer lock already given on: nothing
        here may yield to another greenlet (gevent's Thread.start does), or a writer that comes
        next would wait in SQLite's busy handler, holding the loop, for this COMMIT that cannot run."""
        if self._running_in != os.getpid():
            self._running_in = os.getpid()
            if gevent_patched():
                import gevent

                gevent.spawn(self._watch_until_quiet)
            else:
                threading.Thread(target=self._watch_until_quiet, name="wal-checkpoints", daemon=True).start()

    def _watch_until_quiet(self) -> None:
        try:
            self._watch()
        except Exception:  # the next commit starts another watcher; SQLite's bound holds meanwhile
            log.exception("checkpointing %s stopped", self.path)
            self._running_in = None

    def disposed(self) -> None:
        """The engine's pool was closed: once a checkpoint under way ends, no connection of ours is
        open either, so the last one closed copied the log back and removed it, as SQLite does (a
        copy of the database file alone, a backup or a test's template, is then whole)."""
        with self._checkpointing:
            pass

    def _watch(self) -> None:
        copied, salt = 0, None  # frames of the log (named by its salt) copied back by our last checkpoint
        checked = None  # the log's state when our last checkpoint began: unchanged, nothing was written since
        last = quiet_since = time.monotonic()
        while True:
            time.sleep(self.tick_s)
            state = log_state(self.log_path)
            frames, log_salt, _written_at = state
            if log_salt != salt:  # the log started again from its beginning
                copied, salt = 0, log_salt
            now = time.monotonic()
            if frames <= copied or state == checked:
                if now - quiet_since < self.stop_after_s:
                    continue
                self._running_in = None  # from here a commit starts another watcher
                if log_state(self.log_path) == state:
                    return
                self._running_in = os.getpid()  # a commit came as it stopped: go on
            elif frames - copied >= self.pages or now - last >= self.idle_s:
                checked = state
                copied = self._checkpoint()
                last = quiet_since = now
                frames, log_salt = log_frames(self.log_path)
                if log_salt == salt and copied < frames and frames >= self.restart_pages:
                    copied = self._checkpoint_holding_writers()

    def _checkpoint(self) -> int:
        """A PASSIVE checkpoint in an OS thread; the log's frames copied back so far."""
        with self._checkpointing:
            copied = _off_the_loop(lambda: _passive(self.path))
        self.checkpoints += 1
        return copied

    def _checkpoint_holding_writers(self) -> int:
        """The rest of the log copied back while this process's writers wait (cooperatively, under
        gevent), so the next write starts the log again from its beginning."""
        with self.writer:
            self.restarts += 1
            return self._checkpoint()


def _passive(path: str) -> int:
    """A connection of its own for each checkpoint: between two, this process holds none open beside
    the engine's, so closing the engine's last one still lets SQLite finish the log itself."""
    # mode=rw: a database removed meanwhile (a test's) is not created again, empty
    connection = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, isolation_level=None,
                                 check_same_thread=False)
    try:
        connection.execute("PRAGMA synchronous=NORMAL")
        _busy, _log, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        connection.close()
    return max(copied, 0)


def log_frames(log_path: str) -> tuple[int, Any]:
    """Frames in a database's log file and the log's salt (new each time the log restarts)."""
    frames, salt, _written_at = log_state(log_path)
    return frames, salt


def log_state(log_path: str) -> tuple[int, Any, int]:
    """`log_frames` and the file's modification time: any commit since changes one of the three (a
    checkpoint writes the database file, not its log)."""
    try:
        fd = os.open(log_path, os.O_RDONLY)
    except FileNotFoundError:
        return 0, None, 0
    try:
        stat = os.fstat(fd)
        header = os.pread(fd, _WAL_HEADER.size, 0)
    finally:
        os.close(fd)
    if len(header) < _WAL_HEADER.size:
        return 0, None, stat.st_mtime_ns
    _magic, _version, page_size, _seq, salt1, salt2 = _WAL_HEADER.unpack(header)
    return (stat.st_size - 32) // (page_size + _FRAME_HEADER), (salt1, salt2), stat.st_mtime_ns


def _off_the_loop(work: Callable[[], int]) -> int:
    """`work()` in an OS thread of gevent's pool in a server process, so the loop goes on meanwhile
    (SQLite lets go of the GIL while it copies); called in place elsewhere."""
    if gevent_patched():
        import gevent

        return gevent.get_hub().threadpool.apply(work)
    return work()
