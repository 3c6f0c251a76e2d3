"""Alembic migrations: empty → head → empty on SQLite and PostgreSQL; the models match head."""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from hall.extensions import db
from tests.conftest import make_app


def _check_round_trip(url: str) -> None:
    app = make_app(url)
    with app.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"halls", "services", "tickets", "stages", "ticket_events", "appointments", "feedback",
                "devices", "notices", "staff", "counters"} <= tables
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
            assert compare_metadata(context, db.metadata) == [], "models differ from the migrations"
        _check_the_real_name_function()
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()


def _functions() -> set[str]:
    if db.engine.dialect.name != "postgresql":
        return set()
    with db.engine.connect() as conn:
        return set(conn.scalars(sa.text("SELECT proname FROM pg_proc WHERE proname LIKE 'hall_%'")))


def _check_the_real_name_function() -> None:
    """PostgreSQL gets the real-name issue's function (SQLite: the migration does nothing); down to the
    revision before it, it is gone and the tables stay; up again, it is back."""
    made = {"hall_issue_within_limit"} if db.engine.dialect.name == "postgresql" else set()
    assert _functions() == made
    downgrade(revision="8f4d2a6c1e93")
    assert _functions() == set() and {"halls", "tickets"} <= set(sa.inspect(db.engine).get_table_names())
    upgrade()
    assert _functions() == made


def test_round_trip_on_sqlite(tmp_path):
    _check_round_trip(f"sqlite:///{tmp_path / 'migrate.db'}")


@pytest.mark.postgres
def test_round_trip_on_postgresql(postgres_server):
    name = f"hall_migrate_{os.getpid()}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        _check_round_trip(postgres_server.rsplit("/", 1)[0] + f"/{name}")
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
