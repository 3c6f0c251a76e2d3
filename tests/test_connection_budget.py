"""`hall serve` refuses to start processes whose connection pools together overrun PostgreSQL's
max_connections (config.toml's rule: workers × (pool_size + max_overflow) ≤ max_connections − 10),
and starts anyway, with a warning, when the database cannot be reached to read it."""
from __future__ import annotations

import pytest

from hall.connection_budget import connection_budget_problem
from hall.extensions import db
from tests.conftest import make_app
from tests.live import TEST_SECRET_KEY, free_port

#: tests/pg.py starts its server with max_connections=200.
TEST_MAX_CONNECTIONS = 200


class ServerStarted(Exception):
    """Raised in place of exec'ing gunicorn: the command went past its checks."""


def serve(app, *args: str):
    app.config["SECRET_KEY"] = TEST_SECRET_KEY
    return app.test_cli_runner().invoke(args=["hall", "serve", "--port", str(free_port()), *args])


def stop_before_gunicorn(monkeypatch) -> list[str]:
    """The binds `hall serve` would have run gunicorn on (gunicorn itself is not under test here)."""
    started: list[str] = []

    def run_one(bind, _settings):
        started.append(bind)
        raise ServerStarted

    monkeypatch.setattr("hall.cli.run_one", run_one)
    return started


@pytest.mark.postgres
def test_serve_refuses_pools_that_overrun_max_connections_and_names_the_figures(pg_app, monkeypatch):
    pg_app.config["HALL"]["database"].update(pool_size=180, max_overflow=11)  # 191 > 200 − 10
    started = stop_before_gunicorn(monkeypatch)
    result = serve(pg_app, "--workers", "1")
    assert not started and result.exit_code == 1, result.output
    assert "refusing to serve" in result.output
    for figure in ("pool_size 180", "max_overflow 11", "= 191", f"max_connections is {TEST_MAX_CONNECTIONS}",
                   "at most 190"):
        assert figure in result.output
    for way_out in ("fewer processes", "smaller pool", "raise max_connections"):
        assert way_out in result.output


@pytest.mark.postgres
def test_pools_that_fit_to_the_last_connection_pass(pg_app):
    """max_connections − 10 = 190 connections for Hall: 1 × (180 + 10) and 5 × (30 + 8) fit, one more does not."""
    url = db.engine.url
    assert connection_budget_problem(url, 1, {"pool_size": 180, "max_overflow": 10}) is None
    assert connection_budget_problem(url, 5, {"pool_size": 30, "max_overflow": 8}) is None
    assert "= 228" in connection_budget_problem(url, 6, {"pool_size": 30, "max_overflow": 8})
    assert "5 fit this pool" in connection_budget_problem(url, 6, {"pool_size": 30, "max_overflow": 8})


@pytest.mark.postgres
def test_serve_with_the_shipped_pool_goes_on_to_start(pg_app, monkeypatch):
    started = stop_before_gunicorn(monkeypatch)
    result = serve(pg_app, "--workers", "1")
    assert isinstance(result.exception, ServerStarted), result.output
    assert "refusing" not in result.output and "warning" not in result.output
    assert len(started) == 1


def test_serve_starts_with_a_warning_when_postgresql_cannot_be_reached(monkeypatch):
    application = make_app(f"postgresql+psycopg://hall@127.0.0.1:{free_port()}/hall")
    application.config["HALL"]["database"].update(pool_size=500, max_overflow=500)
    started = stop_before_gunicorn(monkeypatch)
    with application.app_context():
        result = serve(application, "--workers", "1")
    assert isinstance(result.exception, ServerStarted), result.output
    assert "warning: the database cannot be reached" in result.output
    assert "max_connections" in result.output and len(started) == 1


def test_sqlite_is_not_checked(app, monkeypatch):
    app.config["HALL"]["database"].update(pool_size=10_000, max_overflow=10_000)
    started = stop_before_gunicorn(monkeypatch)
    result = serve(app, "--workers", "1")
    assert isinstance(result.exception, ServerStarted), result.output
    assert "refusing" not in result.output and "warning" not in result.output
    assert connection_budget_problem(db.engine.url, 1_000, app.config["HALL"]["database"]) is None
