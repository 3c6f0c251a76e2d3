"""Real Chromium on a real server: the monitor raises an alarm when a wait passes its limit and the
supervisor acknowledges it; screenshots of the monitor (1080p), reports and administration, zh and en."""
from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from hall import queue
from hall.extensions import db
from hall.models import Counter, Service
from tests.live import LiveServer
from tests.resident_ids import issue_args
from tests.supervisor_support import scripted  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def server(demo, app):
    """The demo hall served with an alarm scan every second."""
    live = LiveServer(app.config["SQLALCHEMY_DATABASE_URI"], HALL_MONITOR_SCAN_INTERVAL_S="1").start()
    yield live
    live.stop()


def _counter_id(number: int) -> int:
    return db.session.scalar(select(Counter.id).where(Counter.number == number))


def sign_in(page, url: str, login: str, password: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit], main input[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)


def test_monitor_alarm_when_a_wait_passes_its_limit(chromium, demo, server, screenshot):
    db.session.rollback()  # a fresh snapshot: the server has written (its first alarm scan) since the fixtures read
    service = db.session.scalar(select(Service).where(Service.prefix == "A"))
    service.wait_limit_s = 2
    db.session.commit()
    for number, login in ((1, "staff1"), (3, "staff3"), (5, "staff5")):
        queue.open_counter(demo.id, number, staff_id=demo.staff(login).id)
    queue.pause_counter(demo.id, 5)
    for prefix in "BBC":
        queue.issue_ticket(demo.id, prefix, **issue_args(prefix))
    queue.call_next(demo.id, 3)
    queue.start(demo.id, 3)

    context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, server.url, "supervisor", demo.passwords["supervisor"])
    page.goto(server.url + "/monitor/demo?lang=zh")
    page.wait_for_selector("#live-status[data-online=true]")
    page.wait_for_selector("#counters tr[data-counter='3'] .ticket:has-text('B001')")

    ticket = requests.post(server.url + "/api/v1/halls/demo/tickets", json={"service": "A"}, timeout=5).json()
    alarm = page.wait_for_selector(".alarm[data-kind=wait_over_limit]:not(.acknowledged)", timeout=15000)
    assert ticket["number"] in alarm.inner_text()
    assert page.locator("#services tr[data-service=A] .elapsed.over").count() == 1
    screenshot(page, "monitor-1080p-zh")

    alarm.query_selector("button[data-ack]").click()
    page.wait_for_selector(f".alarm.acknowledged[data-alarm='{alarm.get_attribute('data-alarm')}']")
    assert page.locator("#alarm-count").inner_text() != ""

    page.goto(server.url + "/monitor/demo?lang=en")
    page.wait_for_selector("#live-status[data-online=true]")
    page.wait_for_selector(".alarm[data-kind=wait_over_limit].acknowledged")
    screenshot(page, "monitor-1080p-en")

    page.locator("#counters tr[data-counter='5'] button[data-do=open]").click()
    page.wait_for_selector("#counters tr[data-counter='5'].status-open")
    page.fill("textarea[name=text_zh]", "系统维护，请稍候")
    page.click("#notice-form button[type=submit]")
    page.wait_for_selector("#notice-message.ok")
    context.close()


def test_reports_and_admin_pages(chromium, demo, scripted, server, screenshot):
    context = chromium.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, server.url, "admin", demo.passwords["admin"])
    for lang in ("zh", "en"):
        page.goto(server.url + f"/reports/demo?from=2026-03-01&to=2026-03-02&lang={lang}")
        page.wait_for_function("() => document.querySelectorAll('.charts canvas').length === 4 && "
                               "Array.from(document.querySelectorAll('.charts canvas')).every(c => c.width > 0)")
        assert page.locator("[data-figure=wait_p90] .value").inner_text().startswith("928")
        screenshot(page, f"reports-{lang}")
        page.goto(server.url + f"/reports/demo/monthly?month=2026-03&lang={lang}")
        screenshot(page, f"monthly-{lang}")
        page.goto(server.url + f"/admin/demo?lang={lang}")
        screenshot(page, f"admin-{lang}")
    page.goto(server.url + "/admin/demo/services/new?lang=en")
    page.fill("input[name=prefix]", "d")
    page.fill("input[name=name_zh]", "检疫审批")
    page.fill("textarea[name=stages]", "accept | 受理 | Accept")
    page.click("form.admin-form button[type=submit]")
    assert "limit in minutes" in page.locator(".field.has-error").inner_text()
    screenshot(page, "admin-form-error-en")
    counter_page = server.url + f"/admin/demo/counters/{_counter_id(2)}"
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(counter_page + "?lang=en")
    page.fill("input[name=opens_at]", "08:30")
    page.fill("textarea[name=planned_breaks]", "12:00-12:30\n12:15-12:45")
    page.click("form.admin-form button[type=submit]")
    assert "overlap" in page.locator(".field.has-error").inner_text()
    screenshot(page, "admin-counter-schedule-error-en")
    phone = chromium.new_context(viewport={"width": 360, "height": 640}, locale="zh-CN")
    small = phone.new_page()
    sign_in(small, server.url, "supervisor", demo.passwords["supervisor"])
    small.goto(server.url + "/reports/demo?from=2026-03-02&to=2026-03-02")
    screenshot(small, "reports-phone-zh")
    sign_in(small, server.url, "admin", demo.passwords["admin"])
    small.goto(counter_page + "?lang=zh")
    small.fill("textarea[name=planned_breaks]", "12:00-12:30")
    small.click("form.admin-form button[type=submit]")
    small.wait_for_url(lambda u: u.endswith("/admin/demo"))
    small.goto(counter_page)
    assert small.locator("textarea[name=planned_breaks]").input_value() == "12:00-12:30"
    small.locator("textarea[name=planned_breaks]").scroll_into_view_if_needed()
    screenshot(small, "admin-counter-schedule-phone-zh")
    phone.close()
    context.close()
