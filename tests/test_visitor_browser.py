"""The visitor pages in a real Chromium against a real server: booking, the live phone ticket page at
360×640, rating once, the counter rating pad; screenshots in Chinese and English under artifacts/."""
from __future__ import annotations

import re
import shutil

import pytest
import requests
from sqlalchemy import select

from hall import create_app
from hall.auth import create_api_token
from hall.demo import create_demo_hall
from hall.extensions import db
from hall.models import Feedback, Staff
from tests.live import LiveServer
from tests.resident_ids import issue_args
from tests.visitor_support import add_rating_pad

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect
PHONE = {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
LOCALES = {"zh": "zh-CN", "en": "en-US"}
PAD_TIMEOUT_S = 3


class Site:
    """One server for the module, the demo hall, staff bearer tokens and a rating pad at counter 6."""

    def __init__(self, app, server: LiveServer, tokens: dict[str, str], pad: str) -> None:
        self.app, self.server, self.url, self.tokens, self.pad = app, server, server.url, tokens, pad

    def api(self, method: str, path: str, login: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.tokens[login]}"} if login else {}
        return requests.request(method, self.url + "/api/v1" + path, headers=headers, timeout=10, **kwargs)

    def issue(self, service: str) -> dict:
        answer = self.api("POST", "/halls/demo/tickets", json={"service": service, **issue_args(service)})
        assert answer.status_code == 201, answer.text
        return answer.json()

    def counter(self, number: int, *actions: str, **finish) -> None:
        login = f"staff{number}"
        for action in actions:
            body = finish if action == "finish" else None
            answer = self.api("POST", f"/halls/demo/counters/{number}/{action}", login, json=body)
            assert answer.status_code == 200, (action, answer.text)

    def feedback(self) -> list[Feedback]:
        with self.app.app_context():
            return db.session.scalars(select(Feedback).order_by(Feedback.id)).all()


@pytest.fixture(scope="module")
def site(sqlite_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("visitor") / "hall.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        create_demo_hall()
        tokens = {s.login: create_api_token(s) for s in db.session.scalars(select(Staff)).all()}
        pad = add_rating_pad(db.session.scalar(select(Staff.hall_id).limit(1)), 6)
        db.engine.dispose()
    server = LiveServer(url, HALL_FEEDBACK_PAD_TIMEOUT_S=str(PAD_TIMEOUT_S)).start()
    yield Site(app, server, tokens, pad)
    server.stop()


@pytest.fixture
def phone(chromium):
    contexts = []

    def open_page(lang: str):
        context = chromium.new_context(locale=LOCALES[lang], **PHONE)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_booking_on_a_phone(site, phone, screenshot, lang):
    page = phone(lang)
    page.goto(f"{site.url}/book/demo")
    page.locator("label.choice", has_text="B").click()
    later_day = page.locator('input[name="day"]:not(:disabled)').nth(1)
    later_day.locator("xpath=..").click()
    expect(page.locator("#slots")).to_have_attribute("data-shows", "B " + later_day.get_attribute("value"))
    assert page.locator("#slots .chip").count() == 18  # 08:30 … 17:00, every half hour
    page.locator("#slots .chip").nth(2).click()
    page.fill('input[name="name"]', "王五" if lang == "zh" else "Alex Wang")
    page.fill('input[name="phone"]', "13912345678" if lang == "zh" else "+44 7700 900123")
    screenshot(page, f"visitor-book-{lang}")
    page.locator("#booking button[type=submit]").click()
    page.wait_for_url("**/book/demo/a/*")
    code = page.locator("#appointment").get_attribute("data-code")
    assert page.locator(".qr svg").is_visible()
    expect(page.locator("#status")).to_have_text("已预约" if lang == "zh" else "Booked")
    screenshot(page, f"visitor-appointment-{lang}")
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#cancel").click()
    expect(page.locator("#status")).to_have_text("已取消" if lang == "zh" else "Cancelled")
    assert site.api("GET", f"/appointments/{code}").json()["status"] == "cancelled"


def test_booking_page_shows_the_reason_when_refused(site, phone):
    page = phone("en")
    page.goto(f"{site.url}/book/demo")
    later_day = page.locator('input[name="day"]:not(:disabled)').nth(1)
    later_day.locator("xpath=..").click()
    expect(page.locator("#slots")).to_have_attribute("data-shows", "A " + later_day.get_attribute("value"))
    page.locator("#slots .chip").first.click()
    page.fill('input[name="name"]', "A")
    page.fill('input[name="phone"]', "12")
    page.locator("#booking button[type=submit]").click()
    expect(page.locator("#error")).to_have_text("Enter your name and a valid mobile phone number.")


def test_phone_ticket_page_follows_the_queue_live_and_rates_once(site, phone, screenshot):
    tickets = [site.issue("A") for _ in range(3)]
    mine = tickets[-1]
    page = phone("en")
    page.goto(f"{site.url}/t/{mine['token']}")
    expect(page.locator("#ahead")).to_have_text("2")
    expect(page.locator("#status")).to_have_text("Waiting")
    expect(page.locator("#offline")).to_be_hidden()
    screenshot(page, "visitor-ticket-waiting-en")
    site.counter(1, "open", "call-next")
    expect(page.locator("#ahead")).to_have_text("1")
    site.counter(1, "finish", "call-next")
    expect(page.locator("#ahead")).to_have_text("0")
    site.counter(1, "finish", "call-next")
    expect(page.locator("#turn")).to_have_text("It's your turn: please go to counter 1")
    expect(page.locator("#figures")).to_be_hidden()
    screenshot(page, "visitor-ticket-called-en")
    site.counter(1, "start", "finish")
    expect(page.locator("#status")).to_have_text("Done")
    expect(page.locator("#rating")).to_be_visible()
    page.locator('#rating-buttons [data-rating="5"]').click()
    page.locator('.chips[data-kind="praise"] .chip', has_text="Quick").click()
    give_sub_ratings(page, {"efficiency": 5, "competence": 2, "attitude": 4})
    page.locator('[data-aspect="competence"] [data-value="2"]').click()  # a second tap takes it back
    page.locator("#rating-aspects").scroll_into_view_if_needed()
    screenshot(page, "visitor-ticket-rating-en")
    page.locator("#rating-send").click()
    expect(page.locator("#rated")).to_be_visible()
    expect(page.locator("#rating")).to_be_hidden()
    again = site.api("POST", f"/tickets/{mine['token']}/feedback", json={"rating": 1})
    assert again.status_code == 409 and again.json()["error"] == "already_rated"
    page.reload()
    expect(page.locator("#rated")).to_be_visible()
    expect(page.locator("#rating")).to_be_hidden()
    rated = [f for f in site.feedback() if f.channel == "phone"]
    assert [(f.rating, f.reasons, sub_ratings(f)) for f in rated] == [(5, ["fast"], (5, None, 4))]


def test_phone_rating_without_sub_ratings_stores_none(site, phone, screenshot):
    mine = site.issue("A")
    page = phone("zh")
    page.goto(f"{site.url}/t/{mine['token']}")
    site.counter(1, "call-next", "start", "finish")
    page.locator('#rating-buttons [data-rating="3"]').click()
    page.locator("#rating-aspects").scroll_into_view_if_needed()
    screenshot(page, "visitor-ticket-rating-zh")
    page.locator("#rating-send").click()
    expect(page.locator("#rated")).to_be_visible()
    rated = [f for f in site.feedback() if f.ticket_id == mine["id"]]
    assert [(f.rating, sub_ratings(f)) for f in rated] == [(3, (None, None, None))]


def test_phone_ticket_page_shows_stage_progress_and_the_missing_materials(site, phone, screenshot):
    mine = site.issue("B")
    page = phone("zh")
    page.goto(f"{site.url}/t/{mine['token']}")
    expect(page.locator("#steps li.current .name")).to_have_text("受理")
    expect(page.locator("#steps li.current .expected")).to_have_text(re.compile(r"^ · 预计约 \d\d:\d\d 完成$"))
    site.counter(3, "open", "call-next")
    expect(page.locator("#turn")).to_have_text("轮到您了：请到 3 号窗口办理")
    site.counter(3, "start", "finish")
    expect(page.locator("#steps li.current .name")).to_have_text("施检")
    assert page.locator("#steps li.done .name").all_inner_texts() == ["受理"]
    expect(page.locator("#status")).to_have_text("等候中")
    screenshot(page, "visitor-ticket-stages-zh")
    site.counter(5, "open", "call-next", "start")
    site.counter(5, "finish", outcome="incomplete", missing={"items": ["发票 Invoice", "装箱单 Packing list"],
                                                             "note": "请补齐后再来"})
    expect(page.locator("#notice")).to_be_visible()
    assert page.locator("#notice-items li").all_inner_texts() == ["发票 Invoice", "装箱单 Packing list"]
    expect(page.locator("#status")).to_have_text("需补充材料")
    expect(page.locator("#steps li.stopped")).to_have_text("施检")
    screenshot(page, "visitor-ticket-notice-zh")


@pytest.fixture
def cancelled_after(site):
    """Tickets a test leaves waiting, cancelled after it so later tests find the lines as they expect."""
    tickets: list[dict] = []
    yield tickets
    for ticket in tickets:
        site.api("POST", f"/tickets/{ticket['token']}/cancel")


def test_phone_ticket_page_takes_a_number_to_text_when_the_turn_is_near(site, phone, screenshot, cancelled_after):
    near = site.issue("C")
    cancelled_after.append(near)
    page = phone("zh")
    page.goto(f"{site.url}/t/{near['token']}")
    expect(page.locator("#status")).to_have_text("等候中")
    expect(page.locator("#notify")).to_be_hidden()  # nobody ahead: a text would come too late to help
    cancelled_after.extend(site.issue("C") for _ in range(4))
    mine = cancelled_after[-1]
    page.goto(f"{site.url}/t/{mine['token']}")
    expect(page.locator("#notify")).to_be_visible()
    expect(page.locator("#notify label")).to_have_text("前面还剩 3 人时短信通知我")
    page.fill("#notify-phone", "call me")
    page.click("#notify-send")
    expect(page.locator("#notify-error")).to_have_text("请输入有效的手机号码。")
    screenshot(page, "visitor-ticket-notify-form-zh")
    page.fill("#notify-phone", "138 0013 8000")
    page.click("#notify-send")
    expect(page.locator("#notify-text")).to_have_text("前面还剩 3 人时，我们将短信通知 138****8000。")
    expect(page.locator("#notify-form")).to_be_hidden()
    screenshot(page, "visitor-ticket-notify-zh")
    page.reload()
    expect(page.locator("#notify-text")).to_contain_text("138****8000")
    page.click("#notify-stop")
    expect(page.locator("#notify-form")).to_be_visible()
    assert site.api("GET", f"/tickets/{mine['token']}").json()["notify"] is None


def test_visitor_cancels_on_the_phone(site, phone):
    mine = site.issue("A")
    page = phone("zh")
    page.goto(f"{site.url}/t/{mine['token']}")
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#cancel").click()
    expect(page.locator("#status")).to_have_text("已取消")
    expect(page.locator("#cancel")).to_be_hidden()


def test_unknown_ticket_token_shows_nothing_of_anyone(site, phone):
    page = phone("en")
    answer = page.goto(f"{site.url}/t/not-a-real-token")
    assert answer.status == 404
    expect(page.locator("h1")).to_have_text("Ticket not found")


def give_sub_ratings(page, levels: dict[str, int]) -> None:
    for aspect, level in levels.items():
        page.locator(f'[data-aspect="{aspect}"] [data-value="{level}"]').click()


def sub_ratings(feedback: Feedback) -> tuple:
    return feedback.efficiency, feedback.competence, feedback.attitude


@pytest.mark.parametrize("lang, given, stored", [("zh", {"efficiency": 2, "competence": 3, "attitude": 1}, (2, 3, 1)),
                                                 ("en", {}, (None, None, None))])
def test_rating_pad_asks_after_finish_and_times_out_to_idle(site, chromium, screenshot, lang, given, stored):
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale=LOCALES[lang], has_touch=True)
    page = context.new_page()
    page.goto(f"{site.url}/rate/demo/6?device={site.pad}")
    expect(page.locator("#idle")).to_be_visible()
    # connected and in step with the hall (its first snapshot): a finish before that would be in
    # the snapshot, not an event the pad asks after
    page.wait_for_function("() => window.hallPad && hallPad.live.lastSeq() !== null")
    screenshot(page, f"visitor-pad-idle-{lang}")
    before = len(site.feedback())

    ticket = site.issue("C")
    site.counter(6, "open", "call-next", "start", "finish")
    expect(page.locator("#ask")).to_be_visible()
    expect(page.locator("#ask-number")).to_have_text(ticket["number"])
    screenshot(page, f"visitor-pad-ask-{lang}")
    page.locator('#rating-buttons [data-rating="2"]').click()
    expect(page.locator('.chips[data-kind="complaints"]')).to_be_visible()
    page.locator('.chips[data-kind="complaints"] .chip').first.click()
    give_sub_ratings(page, given)
    screenshot(page, f"visitor-pad-reasons-{lang}")
    page.locator("#rating-send").click()
    expect(page.locator("#thanks")).to_be_visible()
    expect(page.locator("#idle")).to_be_visible(timeout=10_000)
    added = site.feedback()[before:]
    assert [(f.channel, f.rating, f.reasons, sub_ratings(f)) for f in added] == [("pad", 2, ["long_wait"], stored)]

    site.issue("C")
    site.counter(6, "call-next", "start", "finish")
    expect(page.locator("#ask")).to_be_visible()
    expect(page.locator("#idle")).to_be_visible(timeout=(PAD_TIMEOUT_S + 5) * 1000)  # nobody rated
    assert len(site.feedback()) == before + 1
    context.close()


def test_rating_pad_needs_its_device_token(site, chromium):
    context = chromium.new_context()
    page = context.new_page()
    assert page.goto(f"{site.url}/rate/demo/6?device=wrong").status == 403
    assert page.goto(f"{site.url}/rate/demo/5?device={site.pad}").status == 403  # the pad belongs to counter 6
    context.close()
