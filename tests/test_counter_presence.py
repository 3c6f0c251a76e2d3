"""In real Chromium against a real server: an open counter screen keeps its counter open however
quiet the hall is; once the screen is closed without signing out, the counter is released."""
from __future__ import annotations

import time

import pytest

from tests.counter_support import shared_hall

pytestmark = pytest.mark.browser

TIMEOUT_S = 3


@pytest.fixture(scope="module")
def hall(sqlite_template, tmp_path_factory, quick_password_hashing):
    with shared_hall(sqlite_template, tmp_path_factory.mktemp("presence"),
                     HALL_COUNTER_SCREEN_TIMEOUT_S=str(TIMEOUT_S), HALL_MONITOR_SCAN_INTERVAL_S="1") as shared:
        yield shared
        shared.close_contexts()


def wait_for_status(hall, number: int, status: str, within_s: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < within_s:
        if hall.counter(number).status == status:
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"counter {number} is {hall.counter(number).status}, not {status}")


def test_closed_screen_releases_its_counter(hall, chromium):
    page = hall.at_counter(chromium, "staff1", 1)
    time.sleep(3 * TIMEOUT_S)  # nothing happens in the hall: the screen's own sign of life keeps the counter
    assert hall.counter(1).status == "open"
    page.close()
    wait_for_status(hall, 1, "closed", within_s=TIMEOUT_S + 5)


def test_closed_screen_holding_a_ticket_pauses_its_counter(hall, chromium):
    page = hall.at_counter(chromium, "staff2", 2)
    hall.issue("A")
    page.click("#btn-call-next")
    page.wait_for_selector("#btn-recall:enabled")
    page.context.close()
    wait_for_status(hall, 2, "paused", within_s=TIMEOUT_S + 5)
    assert hall.counter(2).current_ticket_id is not None
