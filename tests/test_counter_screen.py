"""The counter screen in real Chromium against a real server: sign-in, calling, stages,
transfer, no-show, shortcuts, double clicks and two counters racing."""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from hall.extensions import db
from tests.counter_support import hall, shared  # noqa: F401  (the module's hall and server)

pytestmark = pytest.mark.browser


def current(page):
    return page.locator("#ticket-number")


def test_sign_in_lands_on_the_chooser_and_opens_the_counter(hall, chromium):
    page = hall.sign_in(chromium, "staff1")
    assert page.url.endswith("/counter/demo")
    page.click("button.choice[data-counter='1']")
    page.wait_for_url("**/counter/demo/1")
    expect(page.locator("#counter-status")).to_have_text("开放")
    counter = hall.counter(1)
    assert counter.status == "open" and counter.staff.login == "staff1"


def test_call_start_and_finish_a_multi_stage_case(hall, chromium):
    accept = hall.at_counter(chromium, "staff3", 3)
    inspect = hall.at_counter(chromium, "staff5", 5)
    number = hall.issue("B")[0]["number"]
    expect(accept.locator("#queue-next")).to_contain_text(number)
    accept.click("#btn-call-next")
    expect(current(accept)).to_have_text(number)
    expect(accept.locator("#ticket-stage")).to_contain_text("受理")
    accept.click("#btn-start")
    expect(accept.locator("#timer-label")).to_have_text("办理用时")
    expect(accept.locator("#timer-value")).to_contain_text("/ 10:00")
    expect(accept.locator("#finish-label")).to_have_text("完成本环节")
    accept.click("#btn-finish")
    expect(accept.locator("#message")).to_contain_text(f"{number} 本环节完成")
    expect(current(accept)).to_have_text("—")
    # the inspection counter sees the case arrive without reloading, and calls it for its stage
    expect(inspect.locator("#queue-next")).to_contain_text(number)
    inspect.click("#btn-call-next")
    expect(current(inspect)).to_have_text(number)
    expect(inspect.locator("#ticket-stage")).to_contain_text("第 2/4 环节：施检")
    assert hall.ticket(number).stage_code == "inspect"
    expect(accept.locator("#fig-served")).to_have_text("1")


def test_transfer_to_another_counter_with_a_note(hall, chromium):
    first = hall.at_counter(chromium, "staff1", 1)
    second = hall.at_counter(chromium, "staff2", 2)
    number = hall.issue("A")[0]["number"]
    first.click("#btn-call-next")
    expect(current(first)).to_have_text(number)
    first.click("#btn-transfer")
    first.select_option("#transfer-counter", "2")
    first.fill("#transfer-note", "需要原产地证")
    first.click("#transfer-submit")
    expect(first.locator("#message")).to_contain_text(f"{number} 已转办")
    expect(second.locator("#queue-transferred")).to_contain_text(number)
    second.click("#btn-call-next")
    expect(current(second)).to_have_text(number)
    event = hall.events("transferred", number)[0]
    assert event.data["counter"] == 2 and event.data["note"] == "需要原产地证"


def test_transfer_to_another_service(hall, chromium):
    page = hall.at_counter(chromium, "staff1", 1)
    number = hall.issue("A")[0]["number"]
    page.click("#btn-call-next")
    expect(current(page)).to_have_text(number)
    page.click("#btn-transfer")
    page.select_option("#transfer-service", "B")
    page.select_option("#transfer-stage", "review")
    page.click("#transfer-submit")
    expect(page.locator("#message")).to_contain_text("已转办")
    ticket = hall.ticket(number)
    assert (ticket.service.prefix, ticket.stage_code, ticket.status) == ("B", "review", "waiting")


def test_transfer_needs_a_target(hall, chromium):
    page = hall.at_counter(chromium, "staff1", 1)
    hall.issue("A")
    page.click("#btn-call-next")
    page.click("#btn-transfer")
    page.click("#transfer-submit")
    expect(page.locator("#transfer-error")).to_have_text("请选择业务、环节或窗口。")


def test_no_show_and_reinstate(hall, chromium):
    page = hall.at_counter(chromium, "staff1", 1)
    first, second = (t["number"] for t in hall.issue("A", 2))
    page.click("#btn-call-next")
    expect(current(page)).to_have_text(first)
    page.click("#btn-no-show")
    expect(page.locator("#message")).to_contain_text(f"{first} 已标记过号")
    page.click(f"#no-shows button[data-number='{first}']")
    expect(page.locator("#message")).to_contain_text(f"{first} 已恢复排队")
    expect(page.locator("#no-shows")).not_to_contain_text(first)
    # reinstated in its original place: it comes before the ticket taken after it
    page.click("#btn-call-next")
    expect(current(page)).to_have_text(first)
    assert hall.ticket(second).status == "waiting"


def test_keyboard_shortcuts(hall, chromium):
    page = hall.at_counter(chromium, "staff1", 1)
    first, second = (t["number"] for t in hall.issue("A", 2))
    page.keyboard.press("F1")
    expect(current(page)).to_have_text(first)
    page.keyboard.press("F2")
    expect(page.locator("#message")).to_contain_text(f"已重呼 {first}")
    assert hall.ticket(first).recall_count == 1
    page.keyboard.press("F3")
    expect(page.locator("#message")).to_contain_text(f"{first} 已办结")
    page.keyboard.press("Space")
    expect(current(page)).to_have_text(second)
    page.keyboard.press("F4")
    expect(page.locator("#message")).to_contain_text(f"{second} 已标记过号")
    assert hall.ticket(second).status == "no_show"


def test_double_click_on_call_next_calls_one_ticket(hall, chromium):
    page = hall.at_counter(chromium, "staff1", 1)
    first, second = (t["number"] for t in hall.issue("A", 2))
    page.dblclick("#btn-call-next")
    expect(current(page)).to_have_text(first)
    page.wait_for_function("() => !document.body.classList.contains('busy')")
    assert len(hall.events("called", first)) == 1
    assert hall.ticket(second).status == "waiting"
    expect(page.locator("#message")).to_have_text(f"已呼叫 {first}。")


def test_two_requests_at_once_call_one_ticket_and_say_why(hall, chromium):
    """Two call-next requests racing past the page's guard: the engine lets one through."""
    page = hall.at_counter(chromium, "staff1", 1)
    first, second = (t["number"] for t in hall.issue("A", 2))
    statuses = page.evaluate("""() => {
        const csrf = document.querySelector('meta[name=csrf-token]').content;
        const call = () => fetch('/api/v1/halls/demo/counters/1/call-next', {method: 'POST',
            headers: {'X-CSRFToken': csrf}}).then(r => r.json().then(j => [r.status, j.message || j.number]));
        return Promise.all([call(), call()]);
    }""")
    assert sorted(s for s, _ in statuses) == [200, 409]
    assert f"{first} is already called at counter 1" in dict(statuses)[409]
    assert hall.ticket(second).status == "waiting"


def test_two_counters_pressing_call_next_at_the_same_moment_get_different_tickets(hall, chromium):
    pages = [hall.at_counter(chromium, "staff1", 1), hall.at_counter(chromium, "staff2", 2)]
    numbers = {t["number"] for t in hall.issue("A", 2)}
    for page in pages:
        expect(page.locator("#queue-total")).to_have_text("2 人等候")
    at = int(time.time() * 1000) + 700
    for page in pages:
        page.evaluate("at => setTimeout(() => document.getElementById('btn-call-next').click(), at - Date.now())", at)
    for page in pages:
        expect(current(page)).not_to_have_text("—")
    shown = {current(page).inner_text() for page in pages}
    assert shown == numbers
    assert {hall.ticket(n).counter.number for n in numbers} == {1, 2}


def test_calling_a_number_another_counter_has_says_where_it_is(hall, chromium):
    first = hall.at_counter(chromium, "staff1", 1)
    second = hall.at_counter(chromium, "staff2", 2)
    number = hall.issue("A")[0]["number"]
    first.click("#btn-call-next")
    expect(current(first)).to_have_text(number)
    second.fill("#call-number-input", number.lower())
    second.click("#btn-call-number")
    expect(second.locator("#message")).to_have_text(f"未执行：{number} 已在 1 号窗口被叫号")
    expect(current(second)).to_have_text("—")


def test_call_specific_number_brings_back_a_no_show(hall, chromium):
    page = hall.at_counter(chromium, "staff1", 1)
    first, second = (t["number"] for t in hall.issue("A", 2))
    page.click("#btn-call-next")
    page.click("#btn-no-show")
    expect(page.locator("#no-shows")).to_contain_text(first)
    page.fill("#call-number-input", first)
    page.keyboard.press("Enter")
    expect(current(page)).to_have_text(first)
    assert hall.ticket(second).status == "waiting"


def test_incomplete_materials_with_a_printable_notice(hall, chromium):
    page = hall.at_counter(chromium, "staff3", 3)
    ticket = hall.issue("B")[0]
    page.click("#btn-call-next")
    page.click("#btn-start")
    page.click("#btn-incomplete")
    page.check("#incomplete-items input[value='合同 Contract']")
    page.check("#incomplete-items input[value='发票 Invoice']")
    page.fill("#incomplete-note", "装箱单需加盖公章")
    page.click("#incomplete-submit")
    expect(page.locator("#message")).to_contain_text("材料不全")
    with page.context.expect_page() as opened:
        page.click("#notice-link")
    notice = opened.value
    notice.wait_for_load_state()
    expect(notice.locator(".items li")).to_have_text(["合同 Contract", "发票 Invoice"])
    expect(notice.locator(".note")).to_have_text("装箱单需加盖公章")
    stored = hall.ticket(ticket["number"])
    assert (stored.outcome, stored.notice["items"]) == ("incomplete", ["合同 Contract", "发票 Invoice"])


def test_pause_and_resume(hall, chromium):
    page = hall.at_counter(chromium, "staff1", 1)
    page.click("#btn-pause")
    expect(page.locator("#counter-status")).to_have_text("暂停")
    expect(page.locator("#btn-call-next")).to_be_disabled()
    assert hall.counter(1).status == "paused"
    page.click("#btn-pause")
    expect(page.locator("#counter-status")).to_have_text("开放")
    expect(page.locator("#btn-call-next")).to_be_enabled()


def test_screen_recovers_after_a_reconnect(hall, chromium):
    page = hall.at_counter(chromium, "staff1", 1)
    page.evaluate("window.counterScreen.live.socket.disconnect()")
    expect(page.locator("#live-status")).to_have_class("live offline")
    hall.issue("A", 3)
    page.evaluate("window.counterScreen.live.socket.connect()")
    expect(page.locator("#queue-total")).to_have_text("3 人等候")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_screenshots(hall, chromium, screenshot, lang):
    """The screen at 600×800 while serving a multi-stage case with a queue behind it."""
    chooser = hall.sign_in(chromium, "staff4", lang=lang)
    chooser.goto(f"{hall.url}/counter/demo?lang={lang}")
    screenshot(chooser, f"counter-select-{lang}")
    chooser.click("button.choice[data-counter='4']")
    page = chooser
    page.wait_for_selector("#live-status.online")
    hall.issue("B", 4)
    page.click("#btn-call-next")
    page.click("#btn-start")
    expect(page.locator("#timer-value")).to_contain_text("/ 10:00")
    screenshot(page, f"counter-screen-{lang}")
    page.click("#btn-incomplete")
    screenshot(page, f"counter-incomplete-{lang}")
    page.check("#incomplete-items input >> nth=0")
    page.fill("#incomplete-note", "请加盖公章" if lang == "zh" else "Stamp the contract")
    page.click("#incomplete-submit")
    with page.context.expect_page() as opened:
        page.click("#notice-link")
    notice = opened.value
    notice.wait_for_load_state()
    screenshot(notice, f"counter-notice-{lang}")
    page.click("#btn-call-next")
    page.click("#btn-transfer")
    screenshot(page, f"counter-transfer-{lang}")
    hall.staff("staff4").language = "zh"
    db.session.commit()
