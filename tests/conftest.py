"""Fixtures: an app on a fresh migrated database (SQLite, or PostgreSQL for `pg_app`), the demo hall,
staff clients with bearer tokens, and a movable clock."""
from __future__ import annotations

import itertools
import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade

from hall import clock, create_app
from hall.auth import create_api_token
from hall.demo import create_demo_hall
from hall.extensions import db
from hall.models import Hall, Staff
from tests.pg import PostgresServer

TEST_CONFIG = {"TESTING": True, "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": False}
_names = itertools.count()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` first (in their order), then the others: with `--dist loadfile` their
    modules start first, and the parallel workers share out the short ones at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


class FreshContextClient(FlaskClient):
    """Each request in its own app context, as in a server: `g`, the logged-in user and the
    database session do not leak from the test's own context into requests."""

    def open(self, *args, **kwargs):
        # The test's own session commits first: its writes are visible to the request and,
        # its snapshot ended, it sees what the request wrote.
        db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


def make_app(url: str, **extra):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url, **extra})
    app.test_client_class = FreshContextClient
    return app


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashing():
    """Argon2 with its smallest cost: the same code path, without a second per demo hall."""
    from argon2 import PasswordHasher

    from hall.models import staff

    saved, staff._hasher = staff._hasher, PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    yield
    staff._hasher = saved


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "hall.db"
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return str(path)


@pytest.fixture
def app(sqlite_template, tmp_path):
    path = tmp_path / "hall.db"
    shutil.copy(sqlite_template, path)
    application = make_app(f"sqlite:///{path}")
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


def require_postgres() -> None:
    """Skip (fail on CI) a test that needs the PostgreSQL server binaries when they are missing."""
    if not PostgresServer.available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries are missing: make test installs them")
        pytest.skip("PostgreSQL is not installed")


@pytest.fixture(scope="session")
def postgres_server():
    if os.environ.get("HALL_TEST_POSTGRES_URL"):
        yield os.environ["HALL_TEST_POSTGRES_URL"]
        return
    require_postgres()
    server = PostgresServer()
    url = server.start()
    template_url = url.rsplit("/", 1)[0] + "/hall_template"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("CREATE DATABASE hall_template")
    app = make_app(template_url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    admin.dispose()
    server.stop()


@pytest.fixture
def pg_app(postgres_server):
    """An app on its own PostgreSQL database, cloned from the migrated template."""
    name = f"hall_test_{os.getpid()}_{next(_names)}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE hall_template")
    application = make_app(postgres_server.rsplit("/", 1)[0] + f"/{name}")
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_app(request):
    """The same test on both databases."""
    yield request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


class DemoHall:
    def __init__(self, passwords: dict[str, str]) -> None:
        self.passwords = passwords
        self.hall = db.session.scalar(sa.select(Hall).where(Hall.slug == "demo"))
        self.id = self.hall.id

    def staff(self, login: str) -> Staff:
        return db.session.scalar(sa.select(Staff).where(Staff.login == login))

    def token(self, login: str) -> str:
        return create_api_token(self.staff(login))


@pytest.fixture
def demo(app) -> DemoHall:
    return DemoHall(create_demo_hall())


@pytest.fixture
def events(app) -> list[dict]:
    """Every event the engine publishes during the test."""
    from hall.queue.unit import subscribe

    seen: list[dict] = []
    subscribe(app, seen.append)
    return seen


@pytest.fixture
def pg_demo(pg_app) -> DemoHall:
    return DemoHall(create_demo_hall())


class Clock:
    """Moves hall.clock.utcnow by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        from datetime import timedelta

        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def frozen(monkeypatch) -> Clock:
    """Time stands at 2026-03-02 02:00 UTC (10:00 in Shanghai, a Monday) until advanced."""
    fake = Clock(datetime(2026, 3, 2, 2, 0, 0))
    monkeypatch.setattr(clock, "utcnow", fake)
    return fake


@pytest.fixture
def live_server(demo, app):
    """The demo hall served by a real server process on the test's SQLite file."""
    from tests.live import LiveServer

    server = LiveServer(app.config["SQLALCHEMY_DATABASE_URI"]).start()
    yield server
    server.stop()


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="session")
def chromium():
    """The system Chromium driven by Playwright (no browser download)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: make test installs it")
        pytest.skip("chromium is not installed")
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture
def screenshot():
    """Save a page screenshot under artifacts/ (kept by CI) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    return take
