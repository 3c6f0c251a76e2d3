"""Every screen of the demo hall at its real size, with the login it needs; the hall filled with a few
tickets so the screens show something; the in-page checks for text that overflows its box and for
contrast. Shared by the look-and-reach browser test and `make screenshots`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from hall import queue
from hall.extensions import db
from hall.models import Counter, Device, Hall, Staff, Ticket

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
LANGUAGES = ("zh", "en")

#: A 21.5-inch 1080×1920 kiosk panel: 0.248 mm per pixel, so 9 mm is 36.3 CSS pixels.
KIOSK_MM_PER_PX = 21.5 * 25.4 / (1080 ** 2 + 1920 ** 2) ** 0.5
MIN_TARGET_MM = 9


@dataclass(frozen=True)
class Screen:
    name: str
    path: str          # {kiosk}, {display}, {pad}, {ticket}: the demo's device and ticket tokens
    width: int
    height: int
    login: str | None = None
    fixed: bool = False  # a device screen nobody scrolls: everything must fit the viewport
    ready: str = "true"  # a script expression that holds once the screen has drawn its live data


LIVE_DISPLAY = "window.hallDisplay && hallDisplay.live.lastSeq() !== null"


SCREENS = [
    Screen("start", "/", 1280, 800),
    Screen("sign-in", "/login", 360, 640),
    Screen("kiosk", "/kiosk/demo?device={kiosk}", 1080, 1920, fixed=True, ready="document.querySelector('.k-svc')"),
    Screen("lobby-display", "/display/demo?zone=main&device={display}", 1920, 1080, fixed=True, ready=LIVE_DISPLAY),
    Screen("led-strip", "/display/demo/led", 384, 64, fixed=True, ready=LIVE_DISPLAY),
    Screen("counter-top", "/display/demo/counter/2", 1280, 800, fixed=True, ready=LIVE_DISPLAY),
    Screen("rating-pad", "/rate/demo/2?device={pad}", 1280, 800, fixed=True),
    Screen("phone-ticket", "/t/{ticket}", 360, 640),
    Screen("booking", "/book/demo", 360, 640),
    Screen("counter", "/counter/demo/2", 800, 900, login="staff2",
           ready="document.querySelector('#live-status.online')"),
    Screen("monitor", "/monitor/demo", 1920, 1080, login="supervisor",
           ready="document.querySelector('#live-status[data-online=true]')"),
    Screen("reports", "/reports/demo", 1920, 1080, login="supervisor"),
    Screen("what-if", "/reports/demo/whatif", 1920, 1080, login="supervisor"),
    Screen("complaints", "/complaints/demo", 1920, 1080, login="supervisor"),
    Screen("administration", "/admin/demo", 1920, 1080, login="admin"),
    Screen("not-found", "/no/such/page", 360, 640),
]


def fill_the_hall() -> dict[str, str]:
    """A few waiting tickets and one being served at counter 2 (by staff2); the tokens screens need."""
    hall = db.session.scalar(select(Hall).where(Hall.slug == "demo"))
    for prefix in "AABBC":  # C is a real-name service: a valid test ID number (GB 11643)
        queue.issue_ticket(hall.id, prefix, id_number="11010519491231002X" if prefix == "C" else None)
    staff2 = db.session.scalar(select(Staff).where(Staff.login == "staff2"))
    queue.open_counter(hall.id, 2, staff_id=staff2.id)
    queue.call_next(hall.id, 2, staff_id=staff2.id)
    queue.start(hall.id, 2, staff_id=staff2.id)
    devices = dict(db.session.execute(select(Device.kind, Device.token).where(Device.hall_id == hall.id,
                                                                            Device.kind != "rating_pad")).all())
    pad = db.session.scalar(select(Device.token).join(Counter, Counter.id == Device.counter_id)
                            .where(Counter.hall_id == hall.id, Counter.number == 2))
    waiting = db.session.scalar(select(Ticket.token).where(Ticket.hall_id == hall.id, Ticket.status == "waiting")
                                .order_by(Ticket.id.desc()))
    return {"kiosk": devices["kiosk"], "display": devices["display"], "pad": pad, "ticket": waiting}


def address(screen: Screen, tokens: dict[str, str], lang: str) -> str:
    path = screen.path.format(**tokens)
    return f"{path}{'&' if '?' in path else '?'}lang={lang}"


class Visitors:
    """One browser page per login (None: anonymous), signed in once and reused for every screen."""

    def __init__(self, browser, base_url: str, passwords: dict[str, str]) -> None:
        self.browser, self.base_url, self.passwords = browser, base_url, passwords
        self.contexts, self.pages = [], {}

    def page(self, login: str | None):
        if login not in self.pages:
            context = self.browser.new_context(locale="zh-CN")
            self.contexts.append(context)
            page = self.pages[login] = context.new_page()
            if login:
                page.goto(f"{self.base_url}/login")
                page.fill("input[name=login]", login)
                page.fill("input[name=password]", self.passwords[login])
                page.click("input[type=submit]")
                page.wait_for_url(lambda url: "/login" not in url)
            if login == "staff2":  # counter 2 is staff2's (fill_the_hall): confirm it on the chooser
                page.goto(f"{self.base_url}/counter/demo")
                page.click("button.choice[data-counter='2']")
                page.wait_for_url("**/counter/demo/2")
        return self.pages[login]

    def show(self, screen: Screen, tokens: dict[str, str], lang: str):
        """The screen's page at its size and language, settled (fonts, live data, the first notice)."""
        page = self.page(screen.login)
        page.set_viewport_size({"width": screen.width, "height": screen.height})
        response = page.goto(self.base_url + address(screen, tokens, lang))
        page.wait_for_load_state("load")
        page.wait_for_function(f"() => !!({screen.ready})", timeout=15000)
        page.evaluate("document.fonts.ready")
        page.wait_for_timeout(400)
        return page, response

    def close(self) -> None:
        for context in self.contexts:
            context.close()


#: Text wider than its box, text cut by a box that clips (beyond what the font's line spacing explains),
#: text spilling far out of its box, and a page wider (or, on a fixed screen, taller) than the screen.
LAYOUT_PROBLEMS = """(fixed) => {
  const problems = [], root = document.documentElement;
  const where = el => el.id ? '#' + el.id : el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const say = (el, what) => problems.push(`${where(el)}: ${what}: ${el.textContent.trim().slice(0, 40)}`);
  if (root.scrollWidth > root.clientWidth + 1) problems.push(`page is ${root.scrollWidth}px wide in ${root.clientWidth}px`);
  if (fixed && root.scrollHeight > root.clientHeight + 1)
    problems.push(`page is ${root.scrollHeight}px tall on a ${root.clientHeight}px screen`);
  const screen = {left: 0, top: 0, right: root.clientWidth, bottom: fixed ? root.clientHeight : Infinity};
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('script, style, svg, canvas, [hidden], dialog:not([open]), [data-scrolls]')) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const texts = [...el.childNodes].filter(n => n.nodeType === 3 && n.textContent.trim());
    if (!texts.length) continue;
    const range = document.createRange();
    range.setStartBefore(texts[0]); range.setEndAfter(texts[texts.length - 1]);
    const ink = range.getBoundingClientRect();
    if (ink.width === 0 || ink.height === 0) continue;
    const slack = Math.max(2, 0.15 * parseFloat(style.fontSize));
    if (style.display !== 'inline') {
      if (el.scrollWidth > el.clientWidth + 1) say(el, `text ${el.scrollWidth}px wide in a ${el.clientWidth}px box`);
      if (el.scrollHeight > el.clientHeight + Math.max(slack, 0.2 * el.clientHeight))
        say(el, `text ${el.scrollHeight}px tall in a ${el.clientHeight}px box`);
    }
    for (let box = el; box; box = box.parentElement) {
      const clips = box === el ? null : getComputedStyle(box);
      const rect = box === el ? screen : box.getBoundingClientRect();
      if (box !== el && clips.overflowX === 'visible' && clips.overflowY === 'visible') continue;
      if (ink.left < rect.left - slack || ink.right > rect.right + slack || ink.top < rect.top - slack
          || ink.bottom > rect.bottom + slack) { say(el, box === el ? 'outside the screen' : `cut by ${where(box)}`); break; }
    }
  }
  return problems;
}"""

#: Contrast ratio (WCAG) of an element's text against the first opaque background behind it.
CONTRAST = """(selector) => {
  const el = document.querySelector(selector);
  const rgb = c => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
      .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  let back = el, bg;
  while (back) { bg = rgb(getComputedStyle(back).backgroundColor); if (bg.length < 4 || bg[3] > 0.99) break; back = back.parentElement; }
  if (!back) bg = [255, 255, 255];
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(bg)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""
