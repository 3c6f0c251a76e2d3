"""The complaint case page in real Chromium: a bad phone rating opens a case, the supervisor records the
return visit on the case page (1080p, zh) and reads it on a phone (360×640, en); the monitor links to it."""
from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from hall import queue
from hall.extensions import db
from hall.models import ComplaintCase
from tests.test_supervisor_browser import sign_in
from tests.visitor_support import serve_at

pytestmark = pytest.mark.browser


def test_supervisor_follows_a_case_on_its_page(chromium, demo, live_server, screenshot):
    token = queue.issue_ticket(demo.id, "A")["token"]
    serve_at(demo, 1)
    rated = requests.post(f"{live_server.url}/api/v1/tickets/{token}/feedback", timeout=10,
                          json={"rating": 1, "reasons": ["long_wait", "attitude"], "comment": "等了很久，态度冷淡"})
    assert rated.status_code == 201
    db.session.rollback()
    case_id = db.session.scalar(select(ComplaintCase.id))

    context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server.url, "supervisor", demo.passwords["supervisor"])
    page.goto(f"{live_server.url}/monitor/demo?lang=zh")
    page.click("#complaints-link")
    page.click(f"#complaints tr[data-case='{case_id}'] a")
    assert page.inner_text("#case-status") == "待回访"
    assert "非常不满意" in page.inner_text("#case-rating") and page.inner_text("#case-ticket").startswith("A001")
    page.select_option("#step", "contact")
    page.fill("#note", "已电话回访，向访客致歉并说明原因")
    screenshot(page, "complaint-case-1080p-zh")
    page.click("#case-step button[type=submit]")
    page.wait_for_selector("#case[data-status=contacted]")
    assert "已电话回访" in page.inner_text("#case-history")
    context.close()

    phone = chromium.new_context(viewport={"width": 360, "height": 640}, locale="en-GB")
    page = phone.new_page()
    sign_in(page, live_server.url, "supervisor", demo.passwords["supervisor"])
    page.goto(f"{live_server.url}/complaints/demo/{case_id}?lang=en")
    assert page.inner_text("#case-status") == "Contacted"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "complaint-case-phone-en")
    phone.close()
