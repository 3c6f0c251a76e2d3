"""The database goes away: requests answer 503 with Retry-After, the outage is logged once, and
the server recovers by itself when the database is back (a real PostgreSQL stopped and started,
and SQLite held locked by another connection past the busy timeout)."""
from __future__ import annotations

import logging
import sqlite3
import time

import pytest
import sqlalchemy as sa

from hall import database
from hall.config import load_settings
from hall.demo import create_demo_hall
from hall.extensions import db
from hall.unavailable import is_unavailable
from tests.conftest import DemoHall, make_app, require_postgres
from tests.display_support import wait_for
from tests.pg import PostgresServer


def _requests(client, headers):
    """An issue, a read and a call, as kiosks, phones and counters make them."""
    return [
        client.post("/api/v1/halls/demo/tickets", json={"service": "A"}),
        client.get("/api/v1/halls/demo/queue"),
        client.post("/api/v1/halls/demo/counters/1/call-next", headers=headers),
    ]


def _assert_unavailable(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"] == "database_unavailable"
    assert response.get_json()["message"]
    assert response.headers["Retry-After"] == "5"


def _outage_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "hall.outage"]


def _assert_no_traceback(caplog) -> None:
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.CRITICAL] == []


@pytest.fixture(scope="module")
def stoppable_postgres():
    """A PostgreSQL server of this module alone: the test stops and restarts it."""
    require_postgres()
    server = PostgresServer()
    url = server.start()
    app = make_app(url)
    with app.app_context():
        db.create_all()  # the schema of the models, quicker than the migrations on a fresh cluster
        db.engine.dispose()
    yield server, url
    server.stop()


@pytest.mark.postgres
def test_postgresql_stopped_answers_503_logs_once_and_recovers(stoppable_postgres, caplog):
    server, url = stoppable_postgres
    app = make_app(url)
    with app.app_context():
        demo = DemoHall(create_demo_hall())
        headers = {"Authorization": f"Bearer {demo.token('staff1')}"}
        client = app.test_client()
        assert client.post("/api/v1/halls/demo/counters/1/open", headers=headers).status_code == 200
        assert client.post("/api/v1/halls/demo/tickets", json={"service": "A"}).status_code == 201
        db.session.remove()

        caplog.set_level(logging.INFO)
        server.halt()
        try:
            for _ in range(5):
                for response in _requests(client, headers):
                    _assert_unavailable(response)
            page = client.get("/display/demo?lang=en", headers={"Accept": "text/html"})
            assert page.status_code == 503 and page.headers["Retry-After"] == "5"
            assert "Service temporarily unavailable" in page.get_data(as_text=True)
            assert "服务暂时不可用" in client.get("/display/demo?lang=zh").get_data(as_text=True)
            assert len(_outage_lines(caplog)) == 1 and "database unavailable" in _outage_lines(caplog)[0]
            _assert_no_traceback(caplog)
        finally:
            server.resume()
        back = time.monotonic()
        issued = wait_for(lambda: (r := client.post("/api/v1/halls/demo/tickets", json={"service": "A"}))
                          .status_code == 201 and r, timeout=10)
        assert issued.get_json()["number"] == "A002"
        assert time.monotonic() - back < 3
        assert [r.status_code for r in _requests(client, headers)] == [201, 200, 200]
        wait_for(lambda: client.get("/api/v1/halls/demo/queue").status_code == 200
                 and "available again" in _outage_lines(caplog)[-1], timeout=5, interval=0.2)
        assert len(_outage_lines(caplog)) == 2
        _assert_no_traceback(caplog)
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def short_busy_app(sqlite_template, tmp_path):
    """An app whose SQLite writers give up after 0.2 s instead of 30."""
    path = tmp_path / "hall.db"
    path.write_bytes(open(sqlite_template, "rb").read())
    settings = load_settings()
    settings["database"]["sqlite_busy_timeout_s"] = 0.2
    app = make_app(f"sqlite:///{path}", HALL=settings)
    with app.app_context():
        yield app, path
        db.session.remove()
        db.engine.dispose()


def test_sqlite_locked_past_the_busy_timeout_answers_503_and_recovers(short_busy_app, caplog):
    app, path = short_busy_app
    demo = DemoHall(create_demo_hall())
    headers = {"Authorization": f"Bearer {demo.token('staff1')}"}
    client = app.test_client()
    assert client.post("/api/v1/halls/demo/counters/1/open", headers=headers).status_code == 200
    caplog.set_level(logging.INFO)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    other.execute("UPDATE halls SET name_en = name_en")
    try:
        issue, read, call = _requests(client, headers)
        _assert_unavailable(issue)
        assert read.status_code == 200, "reads go on while a writer holds the lock (WAL)"
        _assert_unavailable(call)
        _assert_unavailable(client.post("/api/v1/halls/demo/tickets", json={"service": "B"}))
        assert len(_outage_lines(caplog)) == 1 and "database is locked" in _outage_lines(caplog)[0]
        _assert_no_traceback(caplog)
    finally:
        other.execute("ROLLBACK")
        other.close()
    time.sleep(1.1)  # a success right after a failure does not end the outage yet
    assert client.post("/api/v1/halls/demo/tickets", json={"service": "A"}).status_code == 201
    assert "available again" in _outage_lines(caplog)[-1]
    _assert_no_traceback(caplog)


def test_other_database_errors_are_not_taken_for_an_outage(app):
    with pytest.raises(sa.exc.OperationalError) as caught:
        db.session.execute(sa.text("SELECT * FROM no_such_table"))
    assert not is_unavailable(caught.value)
    queued_too_long = sa.exc.OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked (writer queue)"))
    assert is_unavailable(queued_too_long), "a writer of this process that waited past the busy timeout"


@pytest.mark.postgres
def test_pooled_connections_are_checked_without_a_round_trip_and_replaced_once_closed(pg_app, monkeypatch):
    """A request gets no ping before its statements (a PostgreSQL issue is one statement); a connection
    the server has ended is still never handed out, and one idle for long is pinged first."""
    create_demo_hall()
    db.session.commit()
    dialect = db.engine.dialect
    pings = []
    monkeypatch.setattr(dialect, "do_ping", lambda connection: pings.append(connection) or type(dialect).do_ping(
        dialect, connection))
    client = pg_app.test_client()
    issue = lambda: client.post("/api/v1/halls/demo/tickets", json={"service": "A"})  # noqa: E731
    assert [issue().status_code for _ in range(5)] == [201] * 5
    assert pings == []

    admin = sa.create_engine(pg_app.config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:  # the server ends every other session of the database
        ended = connection.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
        ).scalar_one()
    admin.dispose()
    assert ended >= 1
    time.sleep(0.2)  # the server's goodbye reaches the pooled connections
    assert [issue().status_code for _ in range(3)] == [201] * 3, "a closed connection was handed out"
    assert len(pings) == ended, "each closed connection was pinged once, then replaced"

    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.0)
    assert issue().status_code == 201
    assert len(pings) == ended + 1, "a connection idle for longer than PING_AFTER_IDLE_S is pinged"
