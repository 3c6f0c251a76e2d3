"""Who may use a counter screen, in real Chromium: wrong passwords, expired sessions, staff of
another hall and requests without a CSRF token are refused with a clear message; signing out or
leaving closes (or pauses) the counter; each staff member keeps their language."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.counter_support import hall, shared  # noqa: F401  (the module's hall and server)

pytestmark = pytest.mark.browser


def test_wrong_password_is_refused(hall, chromium):
    page = hall.sign_in(chromium, "staff1", password="not-the-password")
    assert page.url.endswith("/login")
    expect(page.locator(".error")).to_have_text("账号或密码错误。")
    page.goto(f"{hall.url}/counter/demo/1")
    assert "/login" in page.url


def test_signed_out_visit_goes_to_sign_in_and_back(hall, chromium):
    context = chromium.new_context(viewport={"width": 600, "height": 800}, locale="zh-CN")
    hall.contexts.append(context)
    page = context.new_page()
    page.goto(f"{hall.url}/counter/demo")
    assert "/login?next=" in page.url
    expect(page.locator(".flashes")).to_have_text("您尚未登录或登录已过期，请重新登录。")
    page.fill("input[name=login]", "staff1")
    page.fill("input[name=password]", hall.passwords["staff1"])
    page.click("input[type=submit]")
    page.wait_for_url("**/counter/demo")


def test_expired_session_leads_to_sign_in_with_a_message_and_back(hall, chromium):
    page = hall.at_counter(chromium, "staff1", 1)
    hall.issue("A")
    page.context.clear_cookies()
    # Call next, if the screen has not found out by itself (a live event's refresh) already.
    page.keyboard.press("F1")
    page.wait_for_url("**/login?next=*")
    expect(page.locator(".flashes")).to_have_text("您尚未登录或登录已过期，请重新登录。")
    assert hall.counter(1).current_ticket_id is None     # nothing happened without a session
    page.fill("input[name=login]", "staff1")
    page.fill("input[name=password]", hall.passwords["staff1"])
    page.click("input[type=submit]")
    expect(page).to_have_url(f"{hall.url}/counter/demo/1")
    page.click("#btn-call-next")
    expect(page.locator("#ticket-number")).not_to_have_text("—")


def test_staff_of_another_hall_is_refused(hall, chromium):
    page = hall.sign_in(chromium, "other-staff1")
    assert page.url.endswith("/counter/other")
    page.goto(f"{hall.url}/counter/demo")
    expect(page.locator("#error-message")).to_have_text(
        "您是其他大厅的工作人员，不能使用“出入境检验检疫综合服务大厅”的窗口。")
    page.goto(f"{hall.url}/counter/demo/1")
    expect(page.locator("#error-message")).to_contain_text("其他大厅")
    csrf = page.goto(f"{hall.url}/counter/other").ok and page.locator("input[name=csrf_token]").first.input_value()
    response = page.request.post(f"{hall.url}/api/v1/halls/demo/counters/1/call-next",
                                 headers={"X-CSRFToken": csrf})
    assert response.status == 403
    assert response.json()["message"] == "you are staff of another hall"
    assert hall.counter(1).status == "closed"


def test_requests_without_csrf_token_are_refused(hall, chromium):
    page = hall.at_counter(chromium, "staff1", 1)
    hall.issue("A")
    response = page.request.post(f"{hall.url}/api/v1/halls/demo/counters/1/call-next")
    assert response.status == 400
    assert "CSRF token is missing" in response.json()["message"]
    response = page.request.post(f"{hall.url}/counter/demo", form={"number": "2"})
    assert response.status == 400
    assert "表单已过期或缺少安全令牌" in response.text()
    assert hall.counter(1).current_ticket_id is None and hall.counter(2).status == "closed"


def test_counter_held_by_someone_else_needs_take_over(hall, chromium):
    hall.at_counter(chromium, "staff1", 1)
    page = hall.sign_in(chromium, "staff2")
    page.click("button.choice[data-counter='1']")
    expect(page.locator(".error")).to_contain_text("1 号窗口正由 窗口1工作人员 使用")
    page.check("input[name=take_over]")
    page.click("button.choice[data-counter='1']")
    page.wait_for_url("**/counter/demo/1")
    assert hall.counter(1).staff.login == "staff2"


def test_sign_out_closes_a_free_counter_and_pauses_a_busy_one(hall, chromium):
    free = hall.at_counter(chromium, "staff1", 1)
    busy = hall.at_counter(chromium, "staff2", 2)
    hall.issue("A")
    busy.click("#btn-call-next")
    expect(busy.locator("#ticket-number")).not_to_have_text("—")
    free.click("#sign-out")
    free.wait_for_url("**/login")
    expect(free.locator(".flashes")).to_contain_text("1 号窗口已关闭。")
    busy.click("#sign-out")
    busy.wait_for_url("**/login")
    expect(busy.locator(".flashes")).to_contain_text("2 号窗口已暂停")
    assert (hall.counter(1).status, hall.counter(2).status) == ("closed", "paused")


def test_leaving_and_choosing_another_counter(hall, chromium):
    page = hall.at_counter(chromium, "staff1", 1)
    page.click("#leave")
    page.wait_for_url("**/counter/demo")
    expect(page.locator(".flashes")).to_contain_text("1 号窗口已关闭。")
    page.click("button.choice[data-counter='2']")
    page.wait_for_url("**/counter/demo/2")
    page.goto(f"{hall.url}/counter/demo")
    page.click("button.choice[data-counter='1']")
    page.wait_for_url("**/counter/demo/1")
    assert (hall.counter(1).status, hall.counter(2).status) == ("open", "closed")


def test_language_is_the_staff_members_own(hall, chromium):
    page = hall.at_counter(chromium, "staff4", 4)
    expect(page.locator("#btn-call-next")).to_contain_text("呼叫下一位")
    page.click(".lang-toggle")
    expect(page.locator("#btn-call-next")).to_contain_text("Call next")
    assert hall.staff("staff4").language == "en"
    # a new browser (Chinese) signing in as the same staff member gets English
    page = hall.at_counter(chromium, "staff4", 4)
    expect(page.locator("#btn-call-next")).to_contain_text("Call next")
    expect(page.locator("html")).to_have_attribute("lang", "en")
