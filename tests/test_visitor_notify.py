"""Visitor notifications: the SMTP backend against a real SMTP server, and the engine hook that
sends "your turn is near" and the rating link to appointment tickets and to walk-ins who left a phone."""
from __future__ import annotations

import time as clock_time
from datetime import date, time

import pytest
from aiosmtpd.controller import Controller

from hall import queue
from hall.queue.booking import appointment_by_code, book_appointment
from hall.queue.lookup import ticket_by_token
from hall.visitor.contact import set_notify_phone
from hall.visitor.notify import Message, SmtpNotifier, notifier_from
from tests.live import free_port
from tests.visitor_support import serve_at


class Inbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.mail: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.mail.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10) -> list[tuple[list[str], str]]:
        deadline = clock_time.monotonic() + timeout
        while len(self.mail) < count and clock_time.monotonic() < deadline:
            clock_time.sleep(0.02)
        return self.mail


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def test_smtp_backend_delivers_to_the_phones_address(smtp_server):
    controller, inbox = smtp_server
    notifier = SmtpNotifier("127.0.0.1", controller.port, sender="hall@example.org", to="{phone}@sms.example.org")
    notifier.send(Message("13800138000", "张三", "即将轮到您办理", "您的号码 B004 前面还有 3 人。", "near"))
    [(recipients, content)] = inbox.wait_for(1)
    assert recipients == ["13800138000@sms.example.org"]
    assert "From: hall@example.org" in content and "B004" in content_text(content)


def test_backends_are_chosen_by_the_settings(app):
    settings = dict(app.config["HALL"]["notify"])
    assert type(notifier_from(settings)).__name__ == "LogNotifier"
    with pytest.raises(ValueError, match="backend must be one of"):
        notifier_from({**settings, "backend": "pigeon"})


def test_hook_sends_turn_near_and_the_rating_link_to_appointment_tickets(app, demo, frozen, smtp_server):
    controller, inbox = smtp_server
    app.config["HALL"]["notify"].update(backend="smtp", smtp_port=controller.port, near_ahead=2,
                                        smtp_to="{phone}@sms.example.org")
    app.config["HALL"]["server"]["public_url"] = "https://hall.example.org"
    booked = book_appointment(demo.id, "A", date(2026, 3, 2), time(10, 30), visitor_name="张三", phone="13800138000")
    for _ in range(3):
        queue.issue_ticket(demo.id, "A")
    mine = queue.issue_ticket(demo.id, "A", channel="appointment", appointment_id=appointment_by_code(booked["code"]).id)
    queue.open_counter(demo.id, 1)
    queue.call_next(demo.id, 1)  # A001 called: two people ahead of mine
    [(recipients, content)] = inbox.wait_for(1)
    assert recipients == ["13800138000@sms.example.org"] and "A004" in content_text(content)
    for _ in range(3):
        queue.finish(demo.id, 1)
        queue.call_next(demo.id, 1)  # one ahead, none ahead, mine called: no more "near" messages
    queue.start(demo.id, 1)
    queue.finish(demo.id, 1)
    mail = inbox.wait_for(2)
    assert len(mail) == 2
    assert f"https://hall.example.org/t/{mine['token']}" in content_text(mail[1][1])


def test_walk_in_tickets_with_a_phone_from_their_page_are_told_too(app, demo, frozen, smtp_server):
    controller, inbox = smtp_server
    app.config["HALL"]["notify"].update(backend="smtp", smtp_port=controller.port, near_ahead=1,
                                        smtp_to="{phone}@sms.example.org")
    tickets = [queue.issue_ticket(demo.id, "A") for _ in range(3)]
    set_notify_phone(ticket_by_token(tickets[2]["token"]), "13900139000")
    queue.open_counter(demo.id, 1)
    queue.call_next(demo.id, 1)  # A001 called: one person ahead of A003
    [(recipients, content)] = inbox.wait_for(1)
    assert recipients == ["13900139000@sms.example.org"] and "A003" in content_text(content)


def test_walk_in_tickets_get_no_messages(app, demo, frozen, smtp_server):
    controller, inbox = smtp_server
    app.config["HALL"]["notify"].update(backend="smtp", smtp_port=controller.port, near_ahead=1,
                                        smtp_to="{phone}@sms.example.org")
    for _ in range(3):
        queue.issue_ticket(demo.id, "A")
    serve_at(demo, 1)
    app.extensions["hall_notify"].submit(app.config["HALL"]["notify"], Message("1", "", "s", "marker", "test"))
    assert len(inbox.wait_for(1)) == 1 and "marker" in inbox.mail[0][1]  # only the marker went out


def content_text(content: str) -> str:
    """The decoded body of a received message."""
    from email import message_from_string
    return message_from_string(content).get_payload(decode=True).decode()
