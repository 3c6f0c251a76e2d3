"""The kiosk page in real Chromium on a portrait 1080×1920 screen: take a number, read its QR code from
the screen, the language toggle, appointment check-in by scanner and keypad, a network blip, a dead printer."""
from __future__ import annotations

import socket
from datetime import timedelta

import pytest
import requests
import zxingcpp
from PIL import Image
from sqlalchemy import select

from hall import clock
from hall.extensions import db
from hall.models import Device, Ticket
from tests.kiosk_support import book

pytestmark = pytest.mark.browser


@pytest.fixture
def kiosk(live_server) -> Device:
    return db.session.scalar(select(Device).where(Device.kind == "kiosk"))


@pytest.fixture
def portrait(chromium):
    context = chromium.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def open_kiosk(page, server, device: Device, lang: str = "zh") -> None:
    page.goto(f"{server.url}/kiosk/demo?lang={lang}&device={device.token}")
    page.wait_for_selector(".k-svc[data-service=A]")


def confirmed_number(page) -> str:
    page.wait_for_selector("#k-confirm:not([hidden])")
    return page.inner_text("#k-c-number")


def tickets() -> list[Ticket]:
    db.session.rollback()
    return db.session.scalars(select(Ticket).order_by(Ticket.id)).all()


def test_tap_a_service_and_follow_the_qr_code(live_server, kiosk, portrait, screenshot):
    open_kiosk(portrait, live_server, kiosk)
    assert portrait.inner_text(".k-svc[data-service=B] .k-svc-main") == "报检申报"
    screenshot(portrait, "kiosk-portrait")
    portrait.click(".k-svc[data-service=B]")
    assert confirmed_number(portrait) == "B001"
    assert portrait.inner_text("#k-c-ahead") == "0"
    shot = screenshot(portrait, "kiosk-portrait-confirm")
    [code] = zxingcpp.read_barcodes(Image.open(shot).convert("L"))
    [ticket] = tickets()
    assert code.text == f"{live_server.url}/t/{ticket.token}"
    status = requests.get(f"{live_server.url}/api/v1/tickets/{ticket.token}", timeout=10).json()
    assert (status["number"], status["status"], status["channel"]) == ("B001", "waiting", "kiosk")
    db.session.refresh(kiosk)
    assert kiosk.last_seen_at is not None
    # The token stays with the kiosk after the URL loses it; "Done" goes back to the start screen.
    portrait.click("#k-done")
    portrait.wait_for_selector("#k-start:not([hidden]) .k-svc")
    portrait.goto(f"{live_server.url}/kiosk/demo")
    assert portrait.evaluate("localStorage.getItem('hall.kiosk.device.demo')") == kiosk.token


def test_language_toggle(live_server, kiosk, portrait, screenshot):
    open_kiosk(portrait, live_server, kiosk)
    assert portrait.inner_text(".k-title") == "请点击您要办理的业务"
    portrait.click("#k-lang")
    assert portrait.inner_text(".k-title") == "Tap the service you need"
    assert portrait.inner_text(".k-svc[data-service=C] .k-svc-main") == "Certificate of origin"
    assert portrait.inner_text("#k-open-checkin") == "I have an appointment"
    assert portrait.evaluate("document.documentElement.lang") == "en"
    screenshot(portrait, "kiosk-portrait-en")
    portrait.click(".k-svc[data-service=A]")
    confirmed_number(portrait)
    assert "People ahead" in portrait.inner_text("#k-confirm")
    screenshot(portrait, "kiosk-portrait-en-confirm")
    portrait.click("#k-lang")
    assert "前面等候" in portrait.inner_text("#k-confirm")


def test_appointment_check_in_by_scanner_and_keypad(live_server, app, kiosk, portrait, screenshot):
    now = clock.to_local(clock.utcnow(), "Asia/Shanghai")
    due = book(live_server_hall(), day=now.date(), slot=(now - timedelta(minutes=1)).time().replace(microsecond=0))
    early = book(live_server_hall(), day=now.date() + timedelta(days=1), slot=now.time().replace(microsecond=0))
    late = book(live_server_hall(), day=now.date() - timedelta(days=1), slot=now.time().replace(microsecond=0))
    open_kiosk(portrait, live_server, kiosk, lang="en")
    # A USB scanner types the code and Enter with nothing focused.
    portrait.keyboard.type(due.code, delay=5)
    portrait.keyboard.press("Enter")
    assert confirmed_number(portrait) == "B001"
    assert "Appointment" in portrait.inner_text("#k-c-service")
    portrait.click("#k-done")
    portrait.wait_for_selector("#k-start:not([hidden])")

    def check_in_by_keypad(code: str) -> str:
        portrait.click("#k-open-checkin")
        for key in code:
            portrait.click(f"#k-code-keys [data-key='{key}']")
        portrait.click("#k-checkin-go")
        portrait.wait_for_selector("#k-message:not([hidden])")
        text = portrait.inner_text("#k-message-text")
        portrait.click("#k-message [data-close]")
        return text

    assert check_in_by_keypad(due.code) == "This appointment has already been checked in."
    assert check_in_by_keypad(early.code).startswith("Too early: check-in opens at")
    assert check_in_by_keypad(late.code).startswith("Too late")
    portrait.click("#k-open-checkin")
    for key in "ZZ9":
        portrait.click(f"#k-code-keys [data-key='{key}']")
    screenshot(portrait, "kiosk-portrait-checkin")
    portrait.click("#k-checkin-go")
    portrait.wait_for_selector("#k-message:not([hidden])")
    assert portrait.inner_text("#k-message-text") == "This appointment code is unknown. Please check it."
    assert len(tickets()) == 1


def live_server_hall() -> int:
    from hall.queue.lookup import hall_by_slug

    return hall_by_slug("demo").id


def test_network_blip_retries_with_one_key_and_a_dead_printer_shows_the_number(live_server, kiosk, portrait,
                                                                                screenshot):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    kiosk.printer = {"backend": "network", "host": "127.0.0.1", "port": port, "timeout_s": 1}
    db.session.commit()
    open_kiosk(portrait, live_server, kiosk)
    seen: list[str] = []

    def drop_first_answer(route):
        seen.append(route.request.post_data)
        if len(seen) == 1:
            route.fetch()   # the server issues the ticket…
            route.abort()   # …but the kiosk never hears back
        else:
            route.continue_()

    portrait.route("**/kiosk/tickets", drop_first_answer)
    portrait.click(".k-svc[data-service=A]")
    portrait.wait_for_selector("#k-wait:not([hidden])")
    assert confirmed_number(portrait) == "A001"
    assert len(seen) == 2 and seen[0] == seen[1]
    assert [t.number for t in tickets()] == ["A001"]
    portrait.wait_for_selector("#k-confirm.is-unprinted")
    assert portrait.inner_text("#k-c-print") == "打印机暂不可用：请拍照或记住您的号码"
    screenshot(portrait, "kiosk-portrait-printer-down")
