"""A short hall day, end to end, in real Chromium with every screen at its real size.

The kiosk takes A, B and C tickets and checks in an appointment; counters 4 and 5 take the multi-stage B
case through all four stages (call, start, transfer, finish) and mark the appointment a no-show; the
lobby display shows each call in order and asks for each announcement; the LED strip and counter 4's
counter-top screen show their calls; a phone follows B001 to "your turn" and rates it; the monitor
shows the queue and a time-limit alarm; the day's report then holds exactly what happened. No page
logs a console error or has a request fail.
"""
from __future__ import annotations

import contextlib
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from hall import clock
from hall.extensions import db
from hall.models import Device, Service, Ticket, TicketEvent
from tests.test_display_browser import WATCH_THE_BIG_BOX
from tests.kiosk_support import book
from tests.live import LiveServer

pytestmark = pytest.mark.browser

KIOSK = {"width": 1080, "height": 1920}
COUNTER = {"width": 800, "height": 900}
TV = {"width": 1920, "height": 1080}
PHONE = {"width": 360, "height": 640}
LED = {"width": 1280, "height": 160}
COUNTER_TOP = {"width": 1280, "height": 800}
TEST_ID_NUMBER = "11010519491231002X"  # valid per GB 11643 (check digit X)
A_WAIT_LIMIT_S = 3


class Screens:
    """Browser contexts of the day; every page's console errors and failed requests are collected."""

    def __init__(self, browser, url: str) -> None:
        self.browser, self.url = browser, url
        self.contexts, self.problems = [], []

    def open(self, name: str, path: str, viewport: dict, **context_args):
        context = self.browser.new_context(viewport=viewport, locale="zh-CN", **context_args)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"{name}: console: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"{name}: error: {e}"))
        page.on("requestfailed", lambda r: self._failed(name, r))
        page.on("response", lambda r: r.status >= 400 and self.problems.append(f"{name}: {r.status} {r.url}"))
        if path:
            page.goto(self.url + path)
        return page

    def _failed(self, name: str, request) -> None:
        # Leaving a page cancels its open connections (long-polls, audio): that is not a failure.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"{name}: failed: {request.url} {request.failure}")

    def staff(self, name: str, login: str, password: str, path: str, viewport: dict):
        page = self.open(name, f"/login?next={path}", viewport)
        page.fill("input[name=login]", login)
        page.fill("input[name=password]", password)
        page.click("input[type=submit]")
        page.wait_for_url(f"**{path}")
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def day_server(demo, app):
    """The demo hall with a short wait limit on A, so the monitor's alarm comes during the day."""
    db.session.scalar(select(Service).where(Service.prefix == "A")).wait_limit_s = A_WAIT_LIMIT_S
    db.session.commit()
    server = LiveServer(app.config["SQLALCHEMY_DATABASE_URI"], HALL_MONITOR_SCAN_INTERVAL_S="1").start()
    yield server
    server.stop()


@pytest.fixture
def screens(chromium, day_server):
    opened = Screens(chromium, day_server.url)
    yield opened
    opened.close()


def take(kiosk, prefix: str) -> tuple[str, str]:
    """Tap a service on the kiosk (giving an ID number where the service asks one); number and token."""
    kiosk.click(f".k-svc[data-service={prefix}]")
    id_input = kiosk.locator("#k-id-number")
    kiosk.wait_for_selector("#k-confirm:not([hidden]), #k-id-number:visible")
    if id_input.is_visible():
        id_input.fill(TEST_ID_NUMBER)
        kiosk.keyboard.press("Enter")
    kiosk.wait_for_selector("#k-confirm:not([hidden])")
    number, token = kiosk.inner_text("#k-c-number"), kiosk.get_attribute("#k-confirm", "data-token")
    kiosk.click("#k-done")
    kiosk.wait_for_selector("#k-start:not([hidden])")
    return number, token


def press(counter, button: str, shows: str, message: str | None = None) -> None:
    counter.click(button)
    expect(counter.locator("#ticket-number")).to_have_text(shows)
    if message:
        expect(counter.locator("#message")).to_contain_text(message)


@pytest.mark.slow
def test_a_whole_hall_day(demo, day_server, screens):
    started = time.monotonic()
    url, passwords = day_server.url, demo.passwords
    kiosk_token = db.session.scalar(select(Device.token).where(Device.kind == "kiosk"))
    display_token = db.session.scalar(select(Device.token).where(Device.kind == "display"))
    local_now = clock.to_local(clock.utcnow(), "Asia/Shanghai")
    appointment = book(demo.id, day=local_now.date(), service="B",
                       slot=(local_now - timedelta(minutes=1)).time().replace(microsecond=0))

    lobby = screens.open("lobby", f"/display/demo?zone=main&device={display_token}", TV)
    lobby.wait_for_function("() => window.hallDisplay && hallDisplay.live.lastSeq() !== null")
    lobby.evaluate("() => { window.announced = []; hallDisplay.live.socket.on('announce', m => announced.push(m)); }")
    lobby.evaluate(WATCH_THE_BIG_BOX)
    led = screens.open("led", "/display/demo/led", LED)
    counter_top = screens.open("counter-top", "/display/demo/counter/4", COUNTER_TOP)
    kiosk = screens.open("kiosk", f"/kiosk/demo?device={kiosk_token}", KIOSK)
    kiosk.wait_for_selector(".k-svc[data-service=A]")
    monitor = screens.staff("monitor", "supervisor", passwords["supervisor"], "/monitor/demo", TV)
    expect(monitor.locator("#live-status")).to_have_attribute("data-online", "true")

    counters = {}
    for number, login in ((4, "staff4"), (5, "staff5")):
        page = screens.staff(f"counter {number}", login, passwords[login], "/counter/demo", COUNTER)
        page.click(f"button.choice[data-counter='{number}']")
        page.wait_for_url(f"**/counter/demo/{number}")
        page.wait_for_selector("#live-status.online")
        counters[number] = page
    c4, c5 = counters[4], counters[5]

    # Morning: three walk-ins at the kiosk; the B visitor follows the ticket on the phone.
    a, _ = take(kiosk, "A")
    watch = Stopwatch()
    with watch.around("issue B001"):
        b, b_token = take(kiosk, "B")
    c, _ = take(kiosk, "C")
    assert (a, b, c) == ("A001", "B001", "C001")
    phone = screens.open("phone", f"/t/{b_token}", PHONE)
    expect(phone.locator("#status")).to_have_text("等候中")

    # Stage 1, accept, at counter 4.
    expect(c4.locator("#queue-next")).to_contain_text(b)
    with watch.around("call B001"):
        press(c4, "#btn-call-next", b)
    expect(phone.locator("#turn")).to_have_text("轮到您了：请到 4 号窗口办理")
    expect(counter_top.locator("#window-number")).to_have_text(b)
    led.wait_for_function("() => [...document.querySelectorAll('.led-text')].some(s => s.textContent.startsWith('B001'))")
    press(c4, "#btn-start", b)
    press(c4, "#btn-finish", "—", f"{b} 本环节完成")

    # The appointment checks in by scanner: an appointment ticket, B002.
    with watch.around("issue B002"):
        kiosk.keyboard.type(appointment.code, delay=5)
        kiosk.keyboard.press("Enter")
        kiosk.wait_for_selector("#k-confirm:not([hidden])")
    appointed = kiosk.inner_text("#k-c-number")
    assert appointed == "B002" and "预约" in kiosk.inner_text("#k-c-service")
    kiosk.click("#k-done")

    # Stage 2, inspect, at counter 5, while counter 4 calls the appointment, who does not come.
    press(c5, "#btn-call-next", b)
    expect(c5.locator("#ticket-stage")).to_contain_text("施检")
    press(c5, "#btn-start", b)
    with watch.around("call B002"):
        press(c4, "#btn-call-next", appointed)
    expect(counter_top.locator("#window-number")).to_have_text(appointed)
    led.wait_for_function("() => [...document.querySelectorAll('.led-text')].some(s => s.textContent.startsWith('B002'))")
    press(c4, "#btn-no-show", "—", f"{appointed} 已标记过号")
    press(c5, "#btn-finish", "—", f"{b} 本环节完成")

    # Stage 3, review: counter 4 calls and starts it, then hands it to counter 5, which finishes it.
    press(c4, "#btn-call-next", b)
    expect(c4.locator("#ticket-stage")).to_contain_text("审核")
    press(c4, "#btn-start", b)
    c4.click("#btn-transfer")
    c4.select_option("#transfer-counter", "5")
    c4.click("#transfer-submit")
    expect(c4.locator("#message")).to_contain_text(f"{b} 已转办")
    expect(c5.locator("#queue-transferred")).to_contain_text(b)
    press(c5, "#btn-call-next", b)
    press(c5, "#btn-start", b)
    press(c5, "#btn-finish", "—", f"{b} 本环节完成")

    # Stage 4, certificate: counter 4 calls the number (the visitor is at its desk) and closes the case.
    c4.fill("#call-number-input", b)
    press(c4, "#btn-call-number", b)
    expect(c4.locator("#ticket-stage")).to_contain_text("出证")
    press(c4, "#btn-start", b)
    press(c4, "#btn-finish", "—", b)
    expect(c4.locator("#fig-served")).to_have_text("2")  # counter 4 finished two stages: accept, certificate

    # The visitor rates the visit on the phone.
    expect(phone.locator("#status")).to_have_text("已办结")
    phone.locator('#rating-buttons [data-rating="5"]').click()
    phone.locator("#rating-send").click()
    expect(phone.locator("#rated")).to_be_visible()

    # The monitor: A and C still wait, A past its limit raises the alarm.
    expect(monitor.locator("#services tr[data-service=A] td.num").first).to_have_text("1")
    expect(monitor.locator("#services tr[data-service=C] td.num").first).to_have_text("1")
    alarm = monitor.locator(".alarm[data-kind=wait_over_limit]", has_text=a)
    expect(alarm).to_be_visible(timeout=15000)

    # The lobby showed every call, in order, and asked for each announcement (chime, Chinese, English).
    calls = [(b, 4), (b, 5), (appointed, 4), (b, 4), (b, 5), (b, 4)]
    # newest first; retried until the list settles (a resynced display redraws it), then it must match exactly
    expect(lobby.locator("#recent li")).to_have_text([f"{number} {counter}号窗口" for number, counter in reversed(calls)],
                                                     use_inner_text=True)
    expect(lobby.locator("#current-number")).to_have_text(b)
    expect(lobby.locator("#current-counter")).to_have_text("4号窗口")
    assert lobby.evaluate("shown") == [f"{number} {counter}号窗口" for number, counter in calls]  # the big box
    assert lobby.evaluate("enqueued") == [c["seq"] for c in lobby.evaluate("hallDisplay.calls")]  # each voiced once
    lobby.wait_for_function("n => announced.length >= n", arg=len(calls))
    announced = lobby.evaluate("announced")
    assert [len(m["keys"]) for m in announced] == [2] * len(calls)  # Chinese, then English
    # The player speaks one call after another (chime, Chinese, English), dropping the oldest when calls
    # come faster than it can speak; every announcement's clips are there for the lobby to fetch.
    lobby.wait_for_function("n => hallDisplay.player.played.length >= n", arg=6, timeout=60000)
    played = lobby.evaluate("hallDisplay.player.played")
    assert [u.endswith("/display/audio/chime.wav") for u in played[:6]] == [True, False, False] * 2, played
    clips = sorted({f"/display/audio/{key}.wav" for m in announced for key in m["keys"]})
    fetched = lobby.evaluate("urls => Promise.all(urls.map(u => fetch(u).then(r => [r.status, r.headers.get('Content-Type')])))",
                             clips)
    assert fetched == [[200, "audio/wav"]] * len(clips)

    # The day's report holds exactly what happened, waits as the event log and the test's watch measured.
    waits = _waits_from_the_event_log(demo.id)
    for number in (b, appointed):
        shortest, longest = watch.between(f"issue {number}", f"call {number}")
        assert shortest - 1 <= waits[number] <= longest + 1, (number, waits[number], shortest, longest)
    report = screens.staff("reports", "supervisor", passwords["supervisor"], "/reports/demo", TV)
    # the hall's business day, which runs to its reset time (03:00): after local midnight it is still yesterday
    today = db.session.scalar(select(Ticket.business_day).where(Ticket.hall_id == demo.id).limit(1)).isoformat()
    report.goto(f"{url}/reports/demo?from={today}&to={today}&lang=en")
    figure = lambda key: report.locator(f"[data-figure={key}] .value").inner_text().rstrip("s%")  # noqa: E731
    assert [figure(k) for k in ("issued", "served", "no_show", "cancelled", "not_served")] == ["4", "1", "1", "0", "0"]
    assert figure("wait_max") == f"{max(waits.values()):g}"
    assert figure("wait_avg") == f"{sum(waits.values()) / len(waits):g}"
    assert figure("rating_avg") == "5"
    stage_rows = report.locator("#table-stage tbody tr").all_inner_texts()
    passes = {row.split("\t")[1]: row.split("\t")[2] for row in stage_rows if row.startswith("B")}
    assert passes == {"Accept": "1", "Inspect": "1", "Review": "2", "Certificate": "1"}, stage_rows

    assert screens.problems == []
    print(f"the whole hall day took {time.monotonic() - started:.1f} s")


class Stopwatch:
    """When the test started and saw the end of each step: bounds for the waits the server measured."""

    def __init__(self) -> None:
        self.steps: dict[str, tuple[float, float]] = {}

    @contextlib.contextmanager
    def around(self, step: str):
        began = time.monotonic()
        yield
        self.steps[step] = (began, time.monotonic())

    def between(self, first: str, second: str) -> tuple[float, float]:
        """The shortest and the longest time there can have been from step `first` to step `second`."""
        return self.steps[second][0] - self.steps[first][1], self.steps[second][1] - self.steps[first][0]


def _waits_from_the_event_log(hall_id: int) -> dict[str, int]:
    """Each called ticket's wait, issue to first call, in whole seconds, from the append-only log."""
    db.session.rollback()
    rows = db.session.execute(select(Ticket.number, TicketEvent.kind, TicketEvent.at)
                              .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
                              .where(Ticket.hall_id == hall_id).order_by(TicketEvent.id)).all()
    issued, waits = {}, {}
    for number, kind, at in rows:
        if kind in ("issued", "checked_in") and number not in issued:
            issued[number] = at
        elif kind == "called" and number not in waits:
            waits[number] = round((at - issued[number]).total_seconds())
    return waits
