"""`flask hall backup PATH` and `flask hall restore PATH`: a backup of a hall with a working day
behind it restores into a fresh database with every table equal, on SQLite and on PostgreSQL."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from hall import queue
from hall.extensions import db
from tests.conftest import make_app


def _a_working_day(demo) -> None:
    """Tickets issued, called, served and finished, a no-show and a feedback: rows in most tables."""
    queue.open_counter(demo.id, 1, staff_id=demo.staff("staff1").id)
    for _ in range(4):
        queue.issue_ticket(demo.id, "A")
    queue.call_next(demo.id, 1)
    queue.start(demo.id, 1)
    queue.finish(demo.id, 1)
    queue.call_next(demo.id, 1)
    queue.no_show(demo.id, 1)
    db.session.commit()


def _every_table(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Each table's rows, in a stable order."""
    with engine.connect() as conn:
        return {table: sorted((tuple(row) for row in conn.execute(sa.text(f'SELECT * FROM "{table}"'))), key=repr)
                for table in sa.inspect(conn).get_table_names()}


def _run(app, *args: str):
    return app.test_cli_runner().invoke(args=["hall", *args])


def _backup_and_restore(app, fresh_url: str, path) -> dict[str, list[tuple]]:
    done = _run(app, "backup", str(path))
    assert done.exit_code == 0, done.output
    fresh = make_app(fresh_url)
    with fresh.app_context():  # the command runs in the current app's context: this one's
        restored = _run(fresh, "restore", str(path), "--yes")
        assert restored.exit_code == 0, restored.output
        tables = _every_table(db.engine)
        issued = fresh.test_client().post("/api/v1/halls/demo/tickets", json={"service": "A"})
        assert issued.status_code == 201 and issued.get_json()["number"] == "A005", "the restored hall goes on"
        db.session.remove()
        db.engine.dispose()
    return tables


def _assert_same(original: dict[str, list[tuple]], restored: dict[str, list[tuple]]) -> None:
    assert sorted(restored) == sorted(original)
    for table in original:
        assert restored[table] == original[table], table
    for table in ("halls", "tickets", "ticket_events", "stages", "staff", "alembic_version"):
        assert original[table], f"{table} has rows to compare"


def test_a_sqlite_backup_restores_into_a_fresh_database_table_for_table(app, demo, tmp_path):
    _a_working_day(demo)
    original = _every_table(db.engine)
    restored = _backup_and_restore(app, f"sqlite:///{tmp_path / 'fresh' / 'hall.db'}", tmp_path / "backup.db")
    _assert_same(original, restored)


def test_a_backup_is_taken_while_the_database_is_in_use(app, demo, tmp_path):
    """The online backup API copies a consistent snapshot even with a reader's transaction open."""
    _a_working_day(demo)
    reader = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with reader.connect() as conn:
        conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql("SELECT count(*) FROM tickets").scalar()
        done = _run(app, "backup", str(tmp_path / "backup.db"))
    reader.dispose()
    assert done.exit_code == 0 and "online backup" in done.output


def test_restore_refuses_a_file_that_is_not_a_backup_of_its_kind(app, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    refused = _run(app, "restore", str(text), "--yes")
    assert refused.exit_code == 1 and "is not a SQLite backup" in refused.output
    asked = _run(app, "restore", str(text))  # without --yes it asks first, and nothing happens on "no"
    assert asked.exit_code == 1 and "Replace everything" in asked.output


@pytest.mark.postgres
def test_a_postgresql_backup_restores_into_a_fresh_database_table_for_table(pg_app, pg_demo, postgres_server,
                                                                            tmp_path):
    _a_working_day(pg_demo)
    original = _every_table(db.engine)
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    name = f"hall_restored_{tmp_path.name[-12:].replace('-', '_')}".lower()
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        fresh_url = postgres_server.rsplit("/", 1)[0] + f"/{name}"
        restored = _backup_and_restore(pg_app, fresh_url, tmp_path / "hall.dump")
        _assert_same(original, restored)
        again = _run(pg_app, "restore", str(tmp_path / "hall.dump"), "--yes")  # over a database with tables
        assert again.exit_code == 0, again.output
        assert _every_table(db.engine) == original
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()
