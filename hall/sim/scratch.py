"""A throw-away SQLite database for a simulation, under a minimal app of its own.

The minimal app has what the queue engine and the reports use (database, settings) and
nothing that reaches the outside (realtime, loudspeaker, notifications), so simulating
never touches the live database or a live screen.
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask

from hall.database import configure_engine
from hall.extensions import db
from hall.wal_checkpoints import CheckpointSettings


@contextmanager
def scratch_database(settings: dict[str, Any]) -> Iterator[Flask]:
    """Push an app context on a new empty database with the current schema; removed on exit."""
    folder = Path(tempfile.mkdtemp(prefix="hall-sim-"))
    app = Flask("hall.sim")
    app.config.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'sim.db'}", HALL=settings)
    db.init_app(app)
    try:
        with app.app_context():
            configure_engine(db.engine, settings["database"]["sqlite_busy_timeout_s"],
                             CheckpointSettings.of(settings["database"]))
            db.create_all()
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
