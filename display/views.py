"""Display pages: lobby TV, LED strip, counter-top window screen; their audio and heartbeat.

Pages render an empty frame plus a JSON config; the state comes from the hall's
snapshot over Socket.IO (hall-live.js) and is kept current by its events.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request, send_file, url_for
from flask_babel import force_locale, get_locale, gettext as _

from display.devices import display_device
from display.speaker import init_speaker
from hall import clock
from hall.extensions import db
from hall.models import Counter, Device, Hall
from hall.queue.lookup import counter_by_number, hall_by_slug

bp = Blueprint("display", __name__, url_prefix="/display", template_folder="templates",
               static_folder="static", static_url_path="/static")
bp.record_once(lambda state: init_speaker(state.app))

AUDIO_MAX_AGE_S = 365 * 24 * 3600  # clip keys name their content, so a clip never changes
CHIME_MAX_AGE_S = 24 * 3600  # the chime keeps its URL when it changes


def _strings(lang: str) -> dict[str, str]:
    """The words the display scripts show, in one language ({n} = counter number)."""
    with force_locale(lang):
        return {"counter": _("Counter {n}"), "now_calling": _("Now calling"), "please_go": _("Please go to"),
                "recent": _("Recent calls"), "waiting": _("Waiting"), "people": _("people"),
                "no_calls": _("No calls yet"), "offline": _("Offline, reconnecting…"),
                "serving": _("Now serving"), "called": _("Calling"), "idle": _("Please wait to be called"),
                "paused": _("Paused, back soon"), "closed": _("Counter closed"),
                "recall": _("Recall"), "welcome": _("Welcome")}


def _visitor(slug: str) -> tuple[Hall, Device | None]:
    """The hall of a display URL and the registered display asking (None: anonymous)."""
    hall = hall_by_slug(slug)
    return hall, display_device(hall, request.args.get("device"))


def _page(template: str, hall: Hall, device: Device | None, **extra: Any):
    lang = str(get_locale())
    settings = current_app.config["HALL"]["display"]
    config = {
        "hall": hall.slug, "lang": lang, "timezone": hall.timezone,
        "zone": request.args.get("zone") or (device.zone if device else "") or "",
        "device": device.token if device else None,
        "recent_calls": settings["recent_calls"], "flash_s": settings["flash_s"], "notice_s": settings["notice_s"],
        "strings": _strings(lang), "languages": hall.languages, "strings_by_lang": {code: _strings(code) for code in hall.languages},
        "heartbeat_url": url_for("display.heartbeat", hall=hall.slug, device=device.token if device else None),
        "chime_url": url_for("display.chime"), "audio_url": url_for("display.audio", key="KEY"),
        **extra.pop("config", {}),
    }
    return render_template(template, hall=hall, device=device, config=config, theme=settings["theme"], **extra)


@bp.get("/<hall>")
def lobby(hall: str):
    """Lobby TV (1920×1080): current call, recent calls, waiting per service, notices, voice."""
    return _page("display/lobby.html", *_visitor(hall))


@bp.get("/<hall>/led")
def led(hall: str):
    """Narrow LED board: the latest call scrolling, alternating languages; ?lines=2 adds the previous call."""
    lines = 2 if request.args.get("lines") == "2" else 1
    return _page("display/led.html", *_visitor(hall), config={"lines": lines})


@bp.get("/<hall>/counter/<int:number>")
def counter_screen(hall: str, number: int):
    """Counter-top window screen: the number served here and the supervision card (一卡)."""
    record, device = _visitor(hall)
    counter = counter_by_number(record.id, number)
    card = supervision_card(record, counter, device)
    card_url = url_for("display.counter_card", hall=hall, number=number, device=device.token if device else None)
    return _page("display/counter.html", record, device, counter=counter, card=card,
                 config={"counter": number, "card_url": card_url, "card": card})


@bp.get("/<hall>/counter/<int:number>/card")
def counter_card(hall: str, number: int):
    """The supervision card as JSON (refreshed by the screen when the counter changes hands)."""
    record, device = _visitor(hall)
    return jsonify(supervision_card(record, counter_by_number(record.id, number), device))


def supervision_card(hall: Hall, counter: Counter, device: Device | None) -> dict[str, Any]:
    """Counter and complaint phone for everyone; the staff member's card only for a registered display."""
    db.session.refresh(counter)
    staff = counter.staff if device is not None and counter.status != "closed" else None
    return {
        "counter": counter.number, "name": counter.name, "status": counter.status,
        "complaint_phone": hall.complaint_phone,
        "staff": {"name": staff.name, "position": staff.position, "staff_no": staff.staff_no,
                  "photo_url": staff.photo_url} if staff else None,
    }


@bp.get("/<hall>/heartbeat")
def heartbeat(hall: str):
    """Polled by every display page: keeps the device's last_seen and gives the server clock."""
    record, _device = _visitor(hall)
    return jsonify({"now": clock.iso(clock.utcnow()), "seq": record.event_seq})


@bp.get("/audio/chime.wav")
def chime():
    return _wav(current_app.extensions["hall_speaker"].chime_path, max_age=CHIME_MAX_AGE_S, immutable=False)


@bp.get("/audio/<key>.wav")
def audio(key: str):
    """One announcement clip by key; keys are content hashes, so clips are cached for a year."""
    path = current_app.extensions["hall_speaker"].path_for(key)
    if path is None:
        abort(404, description="no such announcement clip")
    return _wav(path, max_age=AUDIO_MAX_AGE_S, immutable=True)


def _wav(path: Path, *, max_age: int, immutable: bool):
    response = send_file(path, mimetype="audio/wav", max_age=max_age, conditional=True)
    response.cache_control.public = True
    response.cache_control.immutable = immutable
    return response
