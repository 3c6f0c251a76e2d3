"""Every screen at its real size in Chinese and English: no text overflows its box or is cut, axe-core
finds no serious or critical accessibility violation; kiosk buttons are at least 9 mm; the called
number on the displays has a contrast of at least 7:1; every screen shows hall time (the server's
clock in the hall's zone) in a browser of another zone and clock. One server and one browser."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.counter_support import shared  # noqa: F401  (the module's hall and server)
from tests.screens import (AXE, CONTRAST, KIOSK_MM_PER_PX, LANGUAGES, LAYOUT_PROBLEMS, MIN_TARGET_MM, SCREENS,
                           Visitors, fill_the_hall)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def tokens(shared):
    return fill_the_hall()


@pytest.fixture(scope="module")
def visitors(shared, chromium):
    opened = Visitors(chromium, shared.url, shared.passwords)
    yield opened
    opened.close()


def _axe_violations(page) -> list[str]:
    page.evaluate("""() => document.getAnimations().forEach(a => {
        if (a.effect && a.effect.getComputedTiming().iterations !== Infinity) a.finish(); })""")  # a notice fading in
    page.evaluate(AXE.read_text())  # not a <script> tag: the page's Content-Security-Policy forbids inline scripts
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_screen_fits_its_size_and_passes_axe(tokens, visitors, lang):
    problems = []
    for screen in SCREENS:
        page, response = visitors.show(screen, tokens, lang)
        assert response.status == (404 if screen.name == "not-found" else 200), screen.name
        problems += [f"{screen.name} {lang} {screen.width}×{screen.height}: {p}"
                     for p in page.evaluate(LAYOUT_PROBLEMS, screen.fixed)]
        if lang == LANGUAGES[0]:  # the rules axe checks do not depend on the words
            problems += [f"{screen.name}: axe {v}" for v in _axe_violations(page)]
    assert problems == [], "\n".join(problems)


def test_kiosk_buttons_are_at_least_9_mm(shared, tokens, visitors):
    page = visitors.page(None)
    page.set_viewport_size({"width": 1080, "height": 1920})
    page.goto(f"{shared.url}/kiosk/demo?device={tokens['kiosk']}")
    page.wait_for_selector(".k-svc")
    for opener in (None, "#k-open-checkin"):
        if opener:
            page.click(opener)
        sizes = page.evaluate("""() => [...document.querySelectorAll('button')].filter(b => b.offsetParent)
            .map(b => { const r = b.getBoundingClientRect(); return [b.id || b.className || b.textContent, r.width, r.height]; })""")
        assert len(sizes) > 3
        small = [(name, round(min(w, h) * KIOSK_MM_PER_PX, 1)) for name, w, h in sizes
                 if min(w, h) * KIOSK_MM_PER_PX < MIN_TARGET_MM]
        assert small == [], f"kiosk buttons under {MIN_TARGET_MM} mm: {small}"


def test_the_called_number_has_a_contrast_of_at_least_7_to_1(shared, tokens, visitors):
    page = visitors.page(None)
    for path, selector in ((f"/display/demo?device={tokens['display']}", "#current-number"),
                           ("/display/demo/counter/2", "#window-number")):
        page.goto(shared.url + path)
        page.wait_for_function(f"() => /\\d/.test(document.querySelector('{selector}').textContent)")
        ratio = page.evaluate(CONTRAST, selector)
        assert ratio >= 7, f"{path} {selector}: contrast {ratio:.2f}:1"
    # While a call flashes on the lobby display: both frames of the flash.
    page.goto(f"{shared.url}/display/demo?device={tokens['display']}")
    page.wait_for_function("() => /\\d/.test(document.getElementById('current-number').textContent)")
    page.evaluate("document.getElementById('current').classList.add('flash')")
    for at_ms in (0, 500):
        page.evaluate("ms => document.getAnimations().forEach(a => { a.pause(); a.currentTime = ms; })", at_ms)
        ratio = page.evaluate(CONTRAST, "#current-number")
        assert ratio >= 7, f"flashing call at {at_ms} ms: contrast {ratio:.2f}:1"


def test_the_layout_check_finds_text_that_overflows_or_is_cut(visitors):
    page = visitors.page(None)
    page.set_viewport_size({"width": 400, "height": 300})
    page.goto("about:blank")  # leave the hall's pages: their Content-Security-Policy forbids these style attributes
    page.set_content("""<body style="margin:0;font-size:16px">
      <p id="fits" style="width:200px">短的文字 fits</p>
      <p id="wide" style="width:80px;white-space:nowrap">这段文字比它的框宽得多 wider than its box</p>
      <div style="height:20px;overflow:hidden"><p id="cut" style="margin:0;font-size:40px">被裁掉 Cut</p></div>
      <p id="spills" style="height:20px;width:120px">这段文字会换很多行，溢出它那固定高度的框 and spills out of its box</p>
      <p id="off" style="position:absolute;left:360px;white-space:nowrap">off the screen</p></body>""")
    problems = page.evaluate(LAYOUT_PROBLEMS, True)
    flagged = {p.split(":")[0] for p in problems}
    assert {"#wide", "#cut", "#spills", "#off"} <= flagged and "#fits" not in flagged, problems


HALL_ZONE = ZoneInfo("Asia/Shanghai")
BROWSER_ZONE = "America/New_York"
BROWSER_CLOCK_OFF_BY = timedelta(hours=-5, minutes=-17)

#: Each screen and its clock (public screens first; staff screens need the admin signed in).
CLOCKS = [
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
        for url, selector in CLOCKS:
            page.goto(shared.url + url)
            clock = page.locator(selector)
            try:
                page.wait_for_function("([el, times]) => times.includes(el.textContent.slice(0, 5))",
                                       arg=[clock.element_handle(), sorted(_hall_times())], timeout=5000)
            except Exception:
                pytest.fail(f"{url} shows {clock.inner_text()!r}, the hall's time is {sorted(_hall_times())}")
    finally:
        context.close()
