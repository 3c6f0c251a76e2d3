"""Rate limits with the limiter on: a route's own limit refuses the request past it, routes without
a limit are never refused, and an app-wide default limit, once configured, reaches every route."""
from __future__ import annotations

import shutil

import pytest

from hall.demo import create_demo_hall
from hall.extensions import db, limiter
from tests.conftest import make_app


@pytest.fixture
def limited_app(sqlite_template, tmp_path, request):
    """The demo hall with rate limits on (and any extra config given as the fixture's parameter)."""
    shutil.copy(sqlite_template, tmp_path / "hall.db")
    extra = getattr(request, "param", {})
    application = make_app(f"sqlite:///{tmp_path / 'hall.db'}", RATELIMIT_ENABLED=True, **extra)
    limiter.reset()
    with application.app_context():
        create_demo_hall("demo")
        db.session.commit()
        yield application
        db.session.remove()
        db.engine.dispose()
    limiter.limit_manager.set_default_limits([])  # the limiter is one object for every app of the process
    limiter.reset()


def test_a_routes_own_limit_refuses_past_it_and_unlimited_routes_are_not_counted(limited_app):
    client = limited_app.test_client()
    issued = [client.post("/api/v1/halls/demo/tickets", json={"service": "A"}).status_code for _ in range(40)]
    assert issued == [201] * 40
    lookups = [client.get("/api/v1/appointments/NOSUCH").status_code for _ in range(31)]
    assert lookups == [404] * 30 + [429]
    refused = client.get("/api/v1/appointments/NOSUCH")
    assert refused.status_code == 429 and set(refused.get_json()) >= {"error", "message"}


@pytest.mark.parametrize("limited_app", [{"RATELIMIT_DEFAULT": "3 per minute"}], indirect=True)
def test_an_app_wide_default_limit_reaches_the_ticket_route(limited_app):
    client = limited_app.test_client()
    issued = [client.post("/api/v1/halls/demo/tickets", json={"service": "A"}).status_code for _ in range(4)]
    assert issued == [201, 201, 201, 429]


def test_limit_headers_reach_limited_routes_only(limited_app, monkeypatch):
    """The limiter's after-request hook runs where a limit was looked at (and is skipped elsewhere)."""
    # RATELIMIT_HEADERS_ENABLED as the process's first app set it: the limiter is one object for all
    monkeypatch.setattr(limiter, "_headers_enabled", True)
    client = limited_app.test_client()
    lookup = client.get("/api/v1/appointments/NOSUCH")
    assert lookup.status_code == 404 and lookup.headers["X-RateLimit-Limit"] == "30"
    assert int(lookup.headers["X-RateLimit-Remaining"]) == 29
    issued = client.post("/api/v1/halls/demo/tickets", json={"service": "A"})
    assert issued.status_code == 201 and "X-RateLimit-Limit" not in issued.headers
