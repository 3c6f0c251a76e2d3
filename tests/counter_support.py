"""A demo hall (and a second hall "other") behind one live server shared by a test module,
with helpers to sign staff in at a counter in their own browser context."""
from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
from sqlalchemy import select, update

from hall import create_app
from hall.demo import create_demo_hall
from hall.extensions import db
from hall.models import Counter, Hall, Staff, Ticket, TicketEvent
from hall.queue import cancel_ticket, close_counter, finish
from tests.live import LiveServer
from tests.resident_ids import issue_args

SCREEN = {"width": 600, "height": 800}
LOCALES = {"zh": "zh-CN", "en": "en-US"}


@dataclass
class SharedHall:
    url: str
    passwords: dict[str, str]
    hall_id: int
    contexts: list = field(default_factory=list)

    def issue(self, prefix: str, count: int = 1) -> list[dict]:
        """Tickets taken at the public API, as a kiosk would."""
        tickets = []
        for _ in range(count):
            response = requests.post(f"{self.url}/api/v1/halls/demo/tickets", json={"service": prefix, **issue_args(prefix)},
                                     timeout=10)
            assert response.status_code == 201, response.text
            tickets.append(response.json())
        return tickets

    def ticket(self, number: str) -> Ticket:
        db.session.rollback()
        return db.session.scalar(select(Ticket).where(Ticket.hall_id == self.hall_id, Ticket.number == number))

    def counter(self, number: int) -> Counter:
        db.session.rollback()
        return db.session.scalar(select(Counter).where(Counter.hall_id == self.hall_id, Counter.number == number))

    def staff(self, login: str) -> Staff:
        db.session.rollback()
        return db.session.scalar(select(Staff).where(Staff.login == login))

    def events(self, kind: str, number: str) -> list[TicketEvent]:
        ticket = self.ticket(number)
        return db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                            TicketEvent.kind == kind)).all()

    def reset(self) -> None:
        """Finish what counters hold, cancel waiting tickets, close every counter; staff speak Chinese again."""
        db.session.rollback()
        db.session.execute(update(Staff).values(language="zh"))
        db.session.commit()
        for counter in db.session.scalars(select(Counter).where(Counter.hall_id == self.hall_id)).all():
            if counter.current_ticket_id:
                finish(self.hall_id, counter.number, outcome="rejected")
        for ticket in db.session.scalars(select(Ticket).where(Ticket.hall_id == self.hall_id,
                                                              Ticket.status == "waiting")).all():
            cancel_ticket(self.hall_id, ticket.id)
        for counter in db.session.scalars(select(Counter).where(Counter.hall_id == self.hall_id,
                                                                Counter.status != "closed")).all():
            close_counter(self.hall_id, counter.number)

    def sign_in(self, browser, login: str, *, lang: str = "zh", password: str | None = None):
        """A new browser context (600×800) with `login` signed in; returns its page."""
        context = browser.new_context(viewport=SCREEN, locale=LOCALES[lang])
        self.contexts.append(context)
        page = context.new_page()
        page.goto(f"{self.url}/login")
        page.fill("input[name=login]", login)
        page.fill("input[name=password]", password or self.passwords[login])
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_load_state()
        return page

    def at_counter(self, browser, login: str, number: int, *, lang: str = "zh"):
        """Sign in and open counter `number`; returns the counter screen's page."""
        page = self.sign_in(browser, login, lang=lang)
        page.click(f"button.choice[data-counter='{number}']")
        page.wait_for_url(f"**/counter/demo/{number}")
        page.wait_for_selector("#live-status.online")
        return page

    def close_contexts(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()


@pytest.fixture(scope="module")
def shared(request, sqlite_template, tmp_path_factory, quick_password_hashing):
    """One hall and server for the test module that imports this fixture."""
    with shared_hall(sqlite_template, tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])) as hall:
        yield hall


@pytest.fixture
def hall(shared):
    """The module's hall as each test expects to find it, and its browser contexts closed after."""
    shared.reset()
    yield shared
    shared.close_contexts()


@contextlib.contextmanager
def shared_hall(template: str, folder, **env: str) -> Iterator[SharedHall]:
    """A module's shared hall and server (`env`: its HALL_* settings), torn down after the module."""
    hall, server, context = start_shared_hall(template, folder, **env)
    try:
        yield hall
    finally:
        server.stop()
        db.session.remove()
        db.engine.dispose()
        context.pop()


def start_shared_hall(template: str, folder, **env: str) -> tuple[SharedHall, LiveServer, object]:
    """Copy the migrated template, add the demo and "other" halls, start a server on it."""
    path = folder / "hall.db"
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": url})
    context = app.app_context()
    context.push()
    passwords = {**create_demo_hall(), **create_demo_hall("other")}
    hall_id = db.session.scalar(select(Hall.id).where(Hall.slug == "demo"))
    server = LiveServer(url, **env).start()
    return SharedHall(url=server.url, passwords=passwords, hall_id=hall_id), server, context
