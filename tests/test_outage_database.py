"""The database goes away: requests answer 503 with Retry-After, the outage is logged once, and
the server recovers by itself when the database is back (a real PostgreSQL stopped and started,
and SQLite held locked by another connection past the busy timeout)."""
from __future__ import annotations

import logging
import sqlite3
import time

import pytest
import sqlalchemy as sa

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
