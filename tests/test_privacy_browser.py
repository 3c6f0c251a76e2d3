"""Privacy on public screens in real Chromium against a real server: the lobby shows an appointment's
masked name (张*三), never the full one; a silent zone shows the call with the chime and asks for no voice."""
from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from hall import clock
from hall.extensions import db
from hall.models import Hall
from tests.display_support import DisplayHall, wait_for
from tests.kiosk_support import book

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hall(sqlite_template, tmp_path_factory):
    hall = DisplayHall(sqlite_template, tmp_path_factory.mktemp("privacy"))
    hall.live = hall.server()
    yield hall
    hall.close()


@pytest.fixture
def tv(chromium, hall):
    context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = context.new_page()
    page.audio_requests = []
    page.on("request", lambda r: "/display/audio/" in r.url and page.audio_requests.append(r.url))
    page.goto(f"{hall.live.url}/display/demo?lang=zh&zone=main&device={hall.display_token}")
    page.wait_for_function("() => window.hallDisplay && window.hallDisplay.live.lastSeq() !== null")
    yield page
    context.close()


def test_lobby_shows_an_appointments_masked_name(tv, hall, screenshot):
    db.session.rollback()  # a fresh snapshot: the server has written since (its alarm scans)
    db.session.scalar(select(Hall).where(Hall.slug == "demo")).public_name_mode = "masked_name"
    db.session.commit()
    now = clock.to_local(clock.utcnow(), "Asia/Shanghai")
    appointment = book(hall.hall_id, day=now.date(), slot=(now - timedelta(minutes=1)).time().replace(microsecond=0))
    checked_in = requests.post(f"{hall.live.url}/api/v1/halls/demo/kiosk/check-in", timeout=10,
                               json={"code": appointment.code, "idempotency_key": "privacy-check-in-1"})
    assert checked_in.status_code == 201, checked_in.text
    number = checked_in.json()["ticket"]["number"]
    hall.call(hall.live, 3)
    tv.wait_for_function(f"() => document.getElementById('current-number').textContent === {number!r}")
    assert tv.inner_text("#current-name") == "王*明"
    assert tv.inner_text("#recent li:first-child").split()[:2] == [number, "王*明"]
    assert "王小明" not in tv.content()
    screenshot(tv, "display-lobby-masked-name")
    tv.reload()                                   # the snapshot after a reload shows it masked too
    tv.wait_for_selector("#recent li .name")
    assert tv.inner_text("#recent li:first-child .name") == "王*明" and "王小明" not in tv.content()


def _voice(tv) -> list[str]:
    """Voice clips the lobby played or asked the server for (anything but the chime)."""
    played = tv.evaluate("() => hallDisplay.player.played")
    return [url for url in played + tv.audio_requests if not url.endswith("/chime.wav")]


def test_a_silent_zone_calls_with_the_chime_and_no_voice(tv, hall):
    # First a spoken call, so the test knows this server speaks (its voice clips are rendered).
    number = hall.issue(hall.live, "A")
    hall.call_number(hall.live, 1, number)
    played_clips = "() => hallDisplay.player.played.filter((url) => !url.endsWith('/chime.wav')).length"
    wait_for(lambda: tv.evaluate(played_clips) >= 2, timeout=90)   # said in Chinese, then in English
    spoken, played = len(_voice(tv)), tv.evaluate("() => hallDisplay.player.played.length")
    # The monitor's toggle silences the zone: the open display shows the next call, chimes, asks for no clip.
    assert hall.post(hall.live, "/zones/main/silent", {"silent": True})["silent_zones"] == ["main"]
    number = hall.issue(hall.live, "A")
    hall.call_number(hall.live, 1, number)
    tv.wait_for_function(f"() => document.getElementById('current-number').textContent === {number!r}")
    wait_for(lambda: tv.evaluate("() => hallDisplay.player.played.length") > played, timeout=20)
    tv.wait_for_timeout(4000)                     # longer than the player waits for a call's clips
    assert len(_voice(tv)) == spoken
    assert tv.evaluate("() => hallDisplay.player.played")[-1].endswith("/chime.wav")
    hall.post(hall.live, "/zones/main/silent", {"silent": False})
