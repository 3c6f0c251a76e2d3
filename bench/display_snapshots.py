"""What real display pages cost a busy hall: events delivered and snapshots read per display per minute.

    python bench/display_snapshots.py [--seconds 60] [--issues-per-s 5] [--call-every 10] [--root OTHER_CHECKOUT]

A real `flask hall serve` on a fresh SQLite demo hall; the lobby (1920×1080), an LED strip and a
counter-top screen (counter 1) in headless Chromium, with the display pages' own scripts; kiosks
issue --issues-per-s A tickets a second and counter 1 finishes and calls the next every
--call-every s, for --seconds. Each page counts the `hall_event`s it hears, the whole-hall
snapshots it asks for (`snapshot`, or `events` with `snapshot: true`: a resync) and the other
`events` requests (catch-ups). Prints them per display and minute, and the last waiting count of A
the lobby shows against the server's. --root runs another checkout's server and pages.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
from pathlib import Path

import requests
import sqlalchemy as sa
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fanout import HALL, staff_headers  # noqa: E402
from bench.servers import database  # noqa: E402
from tests.conftest import CHROMIUM_ARGS  # noqa: E402
from tests.live import ROOT, LiveServer  # noqa: E402

PAGES = {"lobby": ("/display/demo?lang=zh&device={device}", (1920, 1080)),
         "led": ("/display/demo/led?lang=zh", (384, 64)),
         "counter-top": ("/display/demo/counter/1?lang=zh&device={device}", (1280, 800))}

#: Counts, on a display page, the hall events it hears and the requests it sends.
WATCH = """() => {
  const socket = hallDisplay.live.socket, emit = socket.emit;
  window.watched = {events: 0, snapshots: 0, catchUps: 0};
  socket.on("hall_event", () => { watched.events += 1; });
  socket.emit = function (name, body) {
    if (name === "snapshot" || (name === "events" && body && body.snapshot)) watched.snapshots += 1;
    else if (name === "events") watched.catchUps += 1;
    return emit.apply(socket, arguments);
  };
}"""

LOBBY_WAITING_A = """() => {
  const row = [...document.querySelectorAll('#waiting li')].find((li) => li.querySelector('.prefix').textContent === 'A');
  return row ? parseInt(row.querySelector('.count').firstChild.textContent, 10) : null;
}"""


def busy_hall(url: str, headers: dict[str, str], issues_per_s: float, call_every: float, stop: threading.Event) -> None:
    """Kiosks issue at a steady rate; counter 1 finishes and calls the next every `call_every` s."""
    session, started, issued, next_call = requests.Session(), time.monotonic(), 0, time.monotonic()
    session.post(f"{url}{HALL}/counters/1/open", headers=headers, timeout=10)
    while not stop.is_set():
        now = time.monotonic()
        if now >= next_call:
            with contextlib.suppress(requests.RequestException):
                session.post(f"{url}{HALL}/counters/1/finish", headers=headers, timeout=10)
                session.post(f"{url}{HALL}/counters/1/call-next", headers=headers, timeout=10)
            next_call += call_every
        if issued < (now - started) * issues_per_s:
            with contextlib.suppress(requests.RequestException):
                session.post(f"{url}{HALL}/tickets", json={"service": "A"}, timeout=10)
            issued += 1
        else:
            time.sleep(0.01)


def waiting_a(url: str) -> int:
    """The server's own count of A tickets waiting (the public snapshot over HTTP)."""
    snapshot = requests.get(f"{url}{HALL}/events?since=0", timeout=10).json()["snapshot"]
    return next(s["waiting"] for s in snapshot["services"] if s["service"] == "A")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--issues-per-s", type=float, default=5)
    parser.add_argument("--call-every", type=float, default=10)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose server runs")
    args = parser.parse_args()
    with database("sqlite", args.root) as db_url, sync_playwright() as pw:
        device = sa.create_engine(db_url).connect().execute(
            sa.text("SELECT token FROM devices WHERE kind = 'display' LIMIT 1")).scalar_one()
        headers = staff_headers(db_url, args.root)
        server = LiveServer(db_url, root=args.root, HALL_VOICE_ENABLED="false").start(timeout=180)
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            pages = {}
            for name, (path, (width, height)) in PAGES.items():
                page = browser.new_context(viewport={"width": width, "height": height}).new_page()
                page.goto(server.url + path.format(device=device))
                page.wait_for_function("() => window.hallDisplay && window.hallDisplay.live.lastSeq() !== null")
                pages[name] = page
            time.sleep(2)
            for page in pages.values():
                page.evaluate(WATCH)
            stop = threading.Event()
            load = threading.Thread(target=busy_hall, args=(server.url, headers, args.issues_per_s, args.call_every,
                                                             stop), daemon=True)
            load.start()
            time.sleep(args.seconds)
            stop.set()
            load.join(15)
            time.sleep(3)  # the last waiting counts arrive
            per_minute = 60 / args.seconds
            print(f"{args.root}: {args.issues_per_s} issues/s, a call every {args.call_every} s, {args.seconds:.0f} s")
            for name, page in pages.items():
                watched = page.evaluate("() => watched")
                print(f"  {name:<12} per minute: {watched['events'] * per_minute:6.1f} hall events, "
                      f"{watched['snapshots'] * per_minute:5.1f} snapshots, {watched['catchUps'] * per_minute:5.1f} "
                      f"catch-ups", flush=True)
            print(f"  lobby shows {pages['lobby'].evaluate(LOBBY_WAITING_A)} waiting for A; the server "
                  f"{waiting_a(server.url)}")
        finally:
            browser.close()
            server.stop()


if __name__ == "__main__":
    main()
