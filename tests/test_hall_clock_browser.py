"""Every screen shows hall time: the server's clock in the hall's time zone, even in a browser set to
another zone whose own clock is hours off (one shared server, one context)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.counter_support import shared  # noqa: F401  (the module's hall and server)

pytestmark = pytest.mark.browser

HALL_ZONE = ZoneInfo("Asia/Shanghai")
BROWSER_ZONE = "America/New_York"
BROWSER_CLOCK_OFF_BY = timedelta(hours=-5, minutes=-17)

#: Each screen and its clock (public screens first; staff screens need the admin signed in).
SCREENS = [
    ("/kiosk/demo", "#k-clock"), ("/display/demo", "#clock-time"), ("/display/demo/counter/1", "#window-clock"),
    ("/book/demo", ".topbar .hall-clock"), ("/counter/demo/1", "#counter-clock"), ("/monitor/demo", "#clock"),
    ("/reports/demo", ".topbar .hall-clock"), ("/admin/demo", ".topbar .hall-clock"),
]


def _hall_times() -> set[str]:
    """The hall's HH:MM now and a minute on (a screen may tick over while the test reads it)."""
    now = datetime.now(HALL_ZONE)
    return {(now + timedelta(minutes=m)).strftime("%H:%M") for m in (-1, 0, 1)}


def test_every_screen_shows_hall_time_in_a_browser_of_another_zone_and_clock(shared, chromium):
    answer = requests.get(f"{shared.url}/api/v1/halls/demo/clock", timeout=10).json()
    assert answer["timezone"] == "Asia/Shanghai" and answer["now"].endswith("Z")
    context = chromium.new_context(viewport={"width": 1080, "height": 1200}, locale="zh-CN",
                                   timezone_id=BROWSER_ZONE)
    try:
        page = context.new_page()
        page.clock.install(time=datetime.now() + BROWSER_CLOCK_OFF_BY)
        browser_time = page.evaluate("new Date().toLocaleTimeString('en-GB', {hour: '2-digit', minute: '2-digit'})")
        assert browser_time not in _hall_times()
        page.goto(f"{shared.url}/login?next=/counter/demo")
        page.fill("input[name=login]", "admin")
        page.fill("input[name=password]", shared.passwords["admin"])
        page.click("input[type=submit]")
        page.click("button.choice[data-counter='1']")
        page.wait_for_url("**/counter/demo/1")
        for url, selector in SCREENS:
            page.goto(shared.url + url)
            clock = page.locator(selector)
            try:
                page.wait_for_function("([el, times]) => times.includes(el.textContent.slice(0, 5))",
                                       arg=[clock.element_handle(), sorted(_hall_times())], timeout=5000)
            except Exception:
                pytest.fail(f"{url} shows {clock.inner_text()!r}, the hall's time is {sorted(_hall_times())}")
    finally:
        context.close()
