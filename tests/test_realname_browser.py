"""Real-name tickets on the kiosk in real Chromium (portrait 1080×1920): keypad, ID-card reader, the limit."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hall.extensions import db
from hall.models import Device, Ticket
from tests.test_kiosk_page import confirmed_number, open_kiosk, portrait  # noqa: F401  (portrait is a fixture)

pytestmark = pytest.mark.browser
ID_NUMBER = "11010519491231002X"


def test_kiosk_refuses_the_third_ticket_of_one_id(live_server, portrait, screenshot):
    kiosk = db.session.scalar(select(Device).where(Device.kind == "kiosk"))
    open_kiosk(portrait, live_server, kiosk, lang="en")
    portrait.click(".k-svc[data-service=C]")
    portrait.wait_for_selector("#k-identity:not([hidden])")
    assert "ID card" in portrait.inner_text("#k-id-hint")
    for key in ID_NUMBER[:-1]:                       # typed on the kiosk's keypad
        portrait.click(f"#k-id-keys [data-key='{key}']")
    portrait.click("#k-id-keys [data-key='1']")      # a typo in the check character
    screenshot(portrait, "kiosk-portrait-id-step")
    portrait.click("#k-id-go")
    portrait.wait_for_selector("#k-message:not([hidden])")
    assert portrait.inner_text("#k-message-text") == "This ID number is not valid. Please check it and try again."
    portrait.click("#k-message [data-close]")

    def take_with_reader() -> None:
        portrait.click(".k-svc[data-service=C]")
        portrait.wait_for_selector("#k-identity:not([hidden])")
        portrait.keyboard.type(ID_NUMBER, delay=5)   # an ID-card reader types the number and Enter
        portrait.keyboard.press("Enter")

    portrait.click(".k-svc[data-service=C]")
    for key in ID_NUMBER:
        portrait.click(f"#k-id-keys [data-key='{key}']")
    portrait.click("#k-id-go")
    assert confirmed_number(portrait) == "C001"
    portrait.click("#k-done")
    take_with_reader()
    assert confirmed_number(portrait) == "C002"
    portrait.click("#k-done")
    take_with_reader()
    portrait.wait_for_selector("#k-message:not([hidden])")
    assert portrait.inner_text("#k-message-text") == (
        "This ID number has already taken 2 numbers of this service today: that is the limit per person.")
    screenshot(portrait, "kiosk-portrait-id-limit")
    db.session.rollback()
    issued = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert [(t.number, t.id_masked) for t in issued] == [("C001", "1101**********002X"), ("C002", "1101**********002X")]
