"""Display pages in the real Chromium against a real server: calls within a second, gaps,
restarts, voice in order, the sound overlay, devices, and screenshots of every page."""
from __future__ import annotations

import contextlib
import re
import shutil
import time

import pytest
import requests
import sqlalchemy as sa

from display.voice.audio import read_wav, rms
from hall import queue
from hall.extensions import db
from hall.models import Device
from hall.queue.errors import Conflict
from tests.display_support import DisplayHall, wait_for
from tests.resident_ids import issue_args

pytestmark = pytest.mark.browser
SPEECH_RMS = 0.02


@pytest.fixture(scope="module")
def hall(sqlite_template, tmp_path_factory):
    hall = DisplayHall(sqlite_template, tmp_path_factory.mktemp("display"))
    hall.live = hall.server(HALL_DISPLAY_RECENT_CALLS="5", HALL_DISPLAY_FLASH_S="2")
    yield hall
    hall.close()


def _open(chromium, url: str, width: int, height: int, locale: str = "zh-CN"):
    context = chromium.new_context(viewport={"width": width, "height": height}, locale=locale)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_function("() => window.hallDisplay && window.hallDisplay.live.lastSeq() !== null")
    page.errors = errors
    return page


@pytest.fixture
def tv(chromium, hall):
    page = _open(chromium, f"{hall.live.url}/display/demo?lang=zh&device={hall.display_token}", 1920, 1080)
    yield page
    assert page.errors == []
    page.context.close()


def _current(page) -> str:
    return page.inner_text("#current-number")


def test_the_lobby_shows_a_call_within_a_second(tv, hall):
    number = hall.issue(hall.live, "A")
    started = time.monotonic()
    hall.call(hall.live, 1)
    tv.wait_for_function(f"() => document.getElementById('current-number').textContent === {number!r}",
                         timeout=1000)
    elapsed = time.monotonic() - started
    print(f"call visible on the lobby display after {elapsed * 1000:.0f} ms")
    assert tv.inner_text("#current-counter") == "1号窗口"
    assert "flash" in tv.get_attribute("#current", "class")
    assert tv.inner_text("#recent li:first-child").split() == [number, "1号窗口"]
    db.session.rollback()  # read what the server committed, not this session's older snapshot
    seen = db.session.scalar(sa.select(Device.last_seen_at).where(Device.token == hall.display_token))
    assert seen is not None


@pytest.mark.slow
def test_voice_plays_chime_then_both_languages_and_repeats_on_recall_in_order(tv, hall):
    number = hall.issue(hall.live, "C")
    hall.call(hall.live, 6)
    hall.post(hall.live, "/counters/6/recall")
    played = wait_for(lambda: (lambda urls: urls if len(urls) >= 6 else None)(
        tv.evaluate("() => hallDisplay.player.played")), timeout=40)
    chime = "/display/audio/chime.wav"
    assert [url.endswith(chime) for url in played] == [True, False, False] * 2, played
    assert played[1:3] == played[4:6]  # the recall says the same clips again, after its own chime
    for url in played[1:3]:  # zh then en: real speech, over a second, not silence
        clip = requests.get(hall.live.url + url, timeout=10)
        assert clip.status_code == 200
        assert "immutable" in clip.headers["Cache-Control"] and "max-age=31536000" in clip.headers["Cache-Control"]
        wav = _wav(clip.content)
        assert wav.seconds > 1.0 and rms(wav) > SPEECH_RMS
    assert tv.inner_text("#current-number") == number


def _wav(content: bytes):
    import tempfile
    from pathlib import Path

    with tempfile.NamedTemporaryFile(suffix=".wav") as handle:
        handle.write(content)
        handle.flush()
        return read_wav(Path(handle.name))


#: Records, on a display page, the hall events it hears and the catch-ups and snapshots it asks for.
WATCH = """() => {
  const socket = hallDisplay.live.socket, emit = socket.emit;
  window.watched = {heard: [], asked: []};
  socket.on("hall_event", (event) => watched.heard.push(event.kind + ":" + (event.ticket || {}).priority));
  socket.emit = function (name, body) {
    watched.asked.push(name === "snapshot" || (body && body.snapshot) ? "snapshot" : name);
    return emit.apply(socket, arguments);
  };
}"""


def _waiting(page, prefix: str) -> int:
    return page.evaluate("""(prefix) => {
      const row = [...document.querySelectorAll('#waiting li')].find((li) => li.querySelector('.prefix').textContent === prefix);
      return parseInt(row.querySelector('.count').firstChild.textContent, 10);
    }""", prefix)


def test_a_gap_in_the_public_chain_brings_the_missed_call_and_no_issue_reaches_the_lobby(tv, hall):
    """A call committed by another process that nobody published: the lobby hears of no normal issue,
    yet the next public event (a counter opening) shows the gap, and the missed call is replayed."""
    tv.evaluate(WATCH)
    hidden = queue.issue_ticket(hall.hall_id, "A")["number"]
    queue.open_counter(hall.hall_id, 2)
    queue.call_ticket(hall.hall_id, 2, hidden)  # committed to the shared file, never sent by the live server
    number = hall.issue(hall.live, "B")
    opened = hall.post(hall.live, "/counters/5/open")
    wait_for(lambda: hidden in tv.inner_text("#recent"), timeout=5)
    tv.wait_for_function("(seq) => hallDisplay.live.lastSeq() >= seq", arg=opened["seq"])
    assert number not in tv.inner_text("#recent")  # issued, not called
    watched = tv.evaluate("() => watched")
    assert watched["heard"] == ["counter_open:undefined"], "a normal issue reached a public screen"
    assert "events" in watched["asked"]


def test_the_lobby_counts_follow_issues_and_calls_without_reading_snapshots(tv, hall):
    """Issues reach the lobby's waiting counts within a couple of seconds as `hall_waiting` messages,
    and neither they nor a call make the lobby read the whole hall again."""
    tv.wait_for_timeout(1600)  # the page's first snapshot and anything it set off are over
    tv.evaluate(WATCH)
    waiting = _waiting(tv, "B")
    numbers = [hall.issue(hall.live, "B") for _ in range(4)]
    started = time.monotonic()
    wait_for(lambda: _waiting(tv, "B") == waiting + 4, timeout=4)
    print(f"waiting counts shown {time.monotonic() - started:.1f} s after the last issue")
    hall.call_number(hall.live, 3, numbers[0])
    wait_for(lambda: _current(tv) == numbers[0], timeout=3)
    wait_for(lambda: _waiting(tv, "B") == waiting + 3, timeout=4)
    hall.post(hall.live, "/counters/3/no-show")  # counter 3 is free for the tests after
    tv.wait_for_timeout(1600)  # a snapshot the call set off would have been asked for by now
    watched = tv.evaluate("() => watched")
    assert "snapshot" not in watched["asked"], watched
    assert not any(kind.startswith("issued:normal") for kind in watched["heard"]), watched


def _unpublished_calls(hall, count: int) -> list[str]:
    """Calls committed to the shared file by this process: no server sends them to the displays."""
    queue.open_counter(hall.hall_id, 6)
    with contextlib.suppress(Conflict):  # let go of a ticket an earlier test left there
        queue.no_show(hall.hall_id, 6)
    numbers = []
    for _ in range(count):
        number = queue.issue_ticket(hall.hall_id, "C", **issue_args("C"))["number"]
        queue.call_ticket(hall.hall_id, 6, number)
        queue.no_show(hall.hall_id, 6)
        numbers.append(number)
    return numbers


def _calls_heard(page) -> list[tuple[str, bool]]:
    return [(c["number"], c["replayed"]) for c in page.evaluate("() => hallDisplay.calls")]


def test_the_display_survives_a_server_restart_and_shows_every_call_it_missed(tv, hall):
    hall.live.stop()
    tv.wait_for_selector("#offline", state="visible", timeout=10000)
    while_down = queue.issue_ticket(hall.hall_id, "B")["number"]
    queue.open_counter(hall.hall_id, 3)
    queue.call_ticket(hall.hall_id, 3, while_down)
    missed = _unpublished_calls(hall, 12)  # more than the snapshot's ten recent calls
    hall.live.start()
    tv.wait_for_selector("#offline", state="hidden", timeout=30000)
    wait_for(lambda: _calls_heard(tv)[-13:] == [(n, True) for n in [while_down] + missed], timeout=5)
    assert tv.inner_text("#recent").split()[::2] == missed[::-1][:5], "the newest five, newest first"
    assert _current(tv) == missed[-1], "the last missed call was made seconds ago: it is called again"
    number = hall.issue(hall.live, "B")
    hall.call_number(hall.live, 4, number)
    tv.wait_for_function(f"() => document.getElementById('current-number').textContent === {number!r}",
                         timeout=3000)


def test_a_lost_call_with_nothing_after_it_is_shown_after_a_quiet_spell(tv, hall):
    """Events lost between server processes (Redis away) and no later event to reveal the gap:
    the display asks what it missed after a few seconds of silence."""
    tv.wait_for_timeout(1500)  # the snapshot that follows the page's first events
    [missed] = _unpublished_calls(hall, 1)
    started = time.monotonic()
    tv.wait_for_function(f"() => document.getElementById('current-number').textContent === {missed!r}",
                         timeout=10000)
    print(f"lost call shown after {time.monotonic() - started:.1f} s of silence")
    assert _calls_heard(tv)[-1] == (missed, True)


def test_recent_calls_stay_bounded(tv, hall):
    for _ in range(7):  # counter 1 still holds its ticket from the first test
        hall.post(hall.live, "/counters/1/recall")
    tv.wait_for_function("() => document.querySelectorAll('#recent li').length === 5")
    time.sleep(2)  # the snapshot that follows the events keeps the same bound
    assert tv.evaluate("() => document.querySelectorAll('#recent li').length") == 5


def test_audio_routes(hall):
    chime = requests.get(f"{hall.live.url}/display/audio/chime.wav", timeout=10)
    assert chime.status_code == 200 and chime.headers["Content-Type"] == "audio/wav"
    assert "max-age=86400" in chime.headers["Cache-Control"]
    assert _wav(chime.content).seconds > 0.5
    for bad in ("0" * 32, "nothex", "..%2Fconfig", "A" * 32):
        assert requests.get(f"{hall.live.url}/display/audio/{bad}.wav", timeout=10).status_code == 404


def test_without_a_user_gesture_the_lobby_asks_for_a_click_to_enable_sound(chromium, hall, screenshot):
    """A TV browser without the kiosk autoplay flag: one click on the overlay unlocks the voice."""
    browser = chromium.browser_type.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                           headless=True, args=["--no-sandbox", "--disable-gpu"])
    try:
        page = _open(browser, f"{hall.live.url}/display/demo?lang=zh", 1920, 1080)
        page.wait_for_selector("#sound-overlay", state="visible", timeout=5000)
        screenshot(page, "display-lobby-sound-overlay")
        page.click("#sound-enable")
        page.wait_for_selector("#sound-overlay", state="hidden")
        assert page.evaluate("() => hallDisplay.player.blocked") is False
    finally:
        browser.close()


def test_devices_and_the_public_card(hall):
    base = f"{hall.live.url}/display/demo"
    assert requests.get(f"{base}?device=not-a-display", timeout=10).status_code == 403
    kiosk = db.session.scalar(sa.select(Device.token).where(Device.kind == "kiosk"))
    assert requests.get(f"{base}/led?device={kiosk}", timeout=10).status_code == 403
    assert requests.get(f"{hall.live.url}/display/nowhere", timeout=10).status_code == 404
    assert requests.get(f"{base}/counter/99", timeout=10).status_code == 404
    hall.post(hall.live, "/counters/5/open")
    anonymous = requests.get(f"{base}/counter/5/card", timeout=10).json()
    assert anonymous["staff"] is None and anonymous["complaint_phone"] == "12345"
    registered = requests.get(f"{base}/counter/5/card?device={hall.display_token}", timeout=10).json()
    assert registered["staff"]["name"] == "值班主任" and registered["staff"]["staff_no"] == "0002"
    assert registered["status"] == "open"


SHOTS = [  # (name, path, viewport)
    ("display-lobby-zh", "/display/demo?lang=zh", (1920, 1080)),
    ("display-lobby-en", "/display/demo?lang=en", (1920, 1080)),
    ("display-counter-zh", "/display/demo/counter/5?lang=zh&device={device}", (1280, 800)),
    ("display-counter-en", "/display/demo/counter/5?lang=en&device={device}", (1280, 800)),
    ("display-counter-anonymous-zh", "/display/demo/counter/5?lang=zh", (1024, 600)),
    ("display-counter-paused-en", "/display/demo/counter/6?lang=en&device={device}", (1280, 800)),
    ("display-led-2lines", "/display/demo/led?lines=2", (384, 64)),
]


def test_screenshots_of_every_display_page(chromium, hall, screenshot):
    for prefix in "AAB":
        hall.issue(hall.live, prefix)
    hall.call_number(hall.live, 5, hall.issue(hall.live, "B"))
    hall.post(hall.live, "/counters/6/open")
    hall.post(hall.live, "/counters/6/pause")
    for name, path, (width, height) in SHOTS:
        page = _open(chromium, hall.live.url + path.format(device=hall.display_token), width, height)
        page.wait_for_timeout(600)  # fonts and the first notice
        screenshot(page, name)
        assert page.errors == []
        page.context.close()
    hall.post(hall.live, "/counters/6/open")


@pytest.mark.parametrize("width,height", [(192, 32), (384, 64)])
def test_the_led_strip_alternates_languages(chromium, hall, screenshot, width, height):
    number = hall.issue(hall.live, "C")
    hall.call_number(hall.live, 2, number)
    page = _open(chromium, f"{hall.live.url}/display/demo/led", width, height)
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while len(set(seen)) < 2 and time.monotonic() < deadline:
        text = page.inner_text("#led-line-1")
        if text and text not in seen:
            seen.append(text)
            page.evaluate("() => document.getAnimations().forEach(a => a.pause())")
            screenshot(page, f"display-led-{width}x{height}-{len(seen)}")
            page.evaluate("() => document.getAnimations().forEach(a => a.play())")
        time.sleep(0.1)
    assert len(seen) == 2 and "号窗口" in seen[0] and "Counter" in seen[1], seen
    assert seen == [f"{number} → 2号窗口", f"{number} → Counter 2"]
    page.context.close()


#: Records each call the big box shows (number and counter) and each call handed to the voice.
WATCH_THE_BIG_BOX = """() => {
  window.shown = [];
  const box = document.getElementById('current');
  const seen = () => document.getElementById('current-number').textContent + ' ' + document.getElementById('current-counter').textContent;
  new MutationObserver(() => {
    if (!seen().startsWith('—') && shown[shown.length - 1] !== seen()) shown.push(seen());
  })
    .observe(box, {childList: true, characterData: true, subtree: true});
  window.enqueued = [];
  const enqueue = hallDisplay.player.enqueue.bind(hallDisplay.player);
  hallDisplay.player.enqueue = (seq, silent) => { enqueued.push(seq); enqueue(seq, silent); };
}"""



class HeldFrames:
    """The page's socket through Playwright: its snapshot request and the hall's events can be held
    back, to let a snapshot answer overtake an event it contains, as a busy network does."""

    def __init__(self, page) -> None:
        self.requests: list[str] = []
        self.events: list[str] = []
        self.holding = True
        self.server = None
        page.route_web_socket("**/socket.io/**", self._route)

    def _route(self, socket) -> None:
        self.server = server = socket.connect_to_server()
        socket.on_message(lambda frame: self.requests.append(frame) if self.holding and
                          re.match(r'42\d+\["snapshot"', str(frame)) else server.send(frame))
        server.on_message(lambda frame: self.events.append(frame) if self.holding and
                          str(frame).startswith('42["hall_event"') else socket.send(frame))
        self.page_side = socket

    def release_request(self) -> None:
        for frame in self.requests:
            self.server.send(frame)

    def release_events(self) -> None:
        self.holding = False
        for frame in self.events:
            self.page_side.send(frame)


def test_a_call_the_snapshot_overtook_is_still_shown_and_announced(chromium, hall):
    """The screen asks its snapshot; a call is made; the answer (which has the call) arrives before
    the call's event. The call is shown in the big box, announced once, and listed once."""
    context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = context.new_page()
    held = HeldFrames(page)
    page.goto(f"{hall.live.url}/display/demo?lang=zh&device={hall.display_token}")
    page.wait_for_function("() => window.hallDisplay && hallDisplay.player")
    page.evaluate(WATCH_THE_BIG_BOX)
    wait_for(lambda: held.requests or page.wait_for_timeout(50), timeout=10)
    number = hall.issue(hall.live, "A")
    hall.call_number(hall.live, 2, number)
    wait_for(lambda: any(re.search(r'"kind": ?"called"', str(frame)) for frame in held.events)
             or page.wait_for_timeout(50), timeout=10)
    held.release_request()
    page.wait_for_function("() => hallDisplay.live.lastSeq() !== null")
    held.release_events()
    page.wait_for_function("() => enqueued.length > 0", timeout=5000)
    assert [shown.split()[0] for shown in page.evaluate("shown")] == [number]
    assert "flash" in page.get_attribute("#current", "class")
    [call] = page.evaluate("() => hallDisplay.calls")
    assert page.evaluate("enqueued") == [call["seq"]] and call["number"] == number
    assert page.inner_text("#recent").split().count(number) == 1
    context.close()
