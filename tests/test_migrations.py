"""Alembic migrations: empty → head → empty on SQLite and PostgreSQL; the models match head, and the
database function the latest migration creates is the one the code defines."""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from hall.config import ROOT
from hall.extensions import db
from hall.queue import limit_function
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
        _check_the_ticket_indexes()
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
    downgrade(revision="7b3e9c1d4f52")  # b7d41e9c2a58's downgrade: the writes as they were, same function
    before, now = (_revision_module("7b3e9c1d4f52").CREATE_FUNCTION.split("$function$")[1],
                   limit_function.CREATE_FUNCTION.split("$function$")[1])
    if made:
        assert before in _function_bodies() and now not in _function_bodies()
    upgrade()
    if made:
        assert now in _function_bodies() and before not in _function_bodies()
    downgrade(revision="a4e7c2d9b613")  # the function again as that revision made it
    if made:
        assert _revision_module("a4e7c2d9b613").CREATE_FUNCTION.split("$function$")[1] in _function_bodies()
    downgrade(revision="8f4d2a6c1e93")
    assert _functions() == set() and {"halls", "tickets"} <= set(sa.inspect(db.engine).get_table_names())
    upgrade()
    assert _functions() == made


def _ticket_indexes() -> dict[str, str]:
    """The tickets table's indexes (those made by name, not by a key), each with its definition."""
    query = ("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tickets'"
             if db.engine.dialect.name == "postgresql" else
             "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tickets' AND sql IS NOT NULL")
    with db.engine.connect() as conn:
        return {name: definition.upper() for name, definition in conn.execute(sa.text(query))}


def _check_the_ticket_indexes() -> None:
    """5e1c7a9d3b24 drops ix_tickets_day (the day's numbers' key serves it) and keeps only real-name tickets
    in ix_tickets_identity; 7b3e9c1d4f52 keeps only priority tickets in ix_tickets_priority. Their downgrades
    make them as they were."""
    indexes = _ticket_indexes()
    assert "ix_tickets_day" not in indexes and "ID_HASH IS NOT NULL" in indexes["ix_tickets_identity"]
    assert "PRIORITY" in indexes["ix_tickets_priority"] and "'NORMAL'" in indexes["ix_tickets_priority"]
    downgrade(revision="5e1c7a9d3b24")
    assert "WHERE" not in _ticket_indexes()["ix_tickets_priority"]
    if db.engine.dialect.name == "postgresql":  # the function as 9d4b2f7e1a36 made it
        assert _revision_module("9d4b2f7e1a36").CREATE_FUNCTION.split("$function$")[1] in _function_bodies()
    downgrade(revision="9d4b2f7e1a36")
    indexes = _ticket_indexes()
    assert "ix_tickets_day" in indexes and "WHERE" not in indexes["ix_tickets_identity"]
    upgrade()


def _function_bodies() -> set[str]:
    with db.engine.connect() as conn:
        return set(conn.scalars(sa.text("SELECT prosrc FROM pg_proc WHERE proname = 'hall_issue_within_limit'")))


def _revision_module(revision: str):
    return ScriptDirectory(str(ROOT / "migrations")).get_revision(revision).module


def _latest_creation_of_the_real_name_function() -> tuple[str, str]:
    """The newest revision that creates the real-name issue's function, and the text it creates."""
    for script in ScriptDirectory(str(ROOT / "migrations")).walk_revisions():  # from the head down
        if hasattr(script.module, "CREATE_FUNCTION"):
            return script.revision, script.module.CREATE_FUNCTION
    raise AssertionError("no migration creates the real-name issue's function")


def test_the_latest_migration_creates_the_real_name_function_the_code_defines():
    """A migration freezes the function's text; the code (the lock, the count, the writes, the issue's
    parameters) may only move on with a new migration creating the new text."""
    revision, created = _latest_creation_of_the_real_name_function()
    assert limit_function.CREATE_FUNCTION == created, (
        f"hall/queue/limit_function.py defines {limit_function.NAME} otherwise than migration {revision} creates"
        " it: a migration is needed that creates the new text (its CREATE_FUNCTION frozen in it, its downgrade"
        " creating the previous one again)")


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
