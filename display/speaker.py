"""The lobby voice of one app process: an Announcer fed by committed call events.

Design: after a call or recall commits, the engine's event goes to the displays
at once (``hall_event``); this module then assembles the call's clips in its own
worker thread - never in a request - and sends a follow-up ``announce`` message
``{seq, kind, number, counter, zone, keys}`` to the hall's rooms. A display
queues the call on ``hall_event``, plays the chime, then the clips named by the
``announce`` with the same ``seq`` (or nothing more when ``keys`` is empty: no
voice on this server). Calls are handled one at a time, in commit order.
"""
from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Any

from flask import Flask

from display.announcer import Announcer, chime_wav
from display.voice.synth import SynthesisError
from hall.config import ROOT
from hall.extensions import socketio
from hall.queue.unit import subscribe
from hall.realtime import public_room, staff_room

log = logging.getLogger(__name__)
CALL_KINDS = ("called", "recalled")
CHIME_FILE = "chime.wav"


class Speaker:
    """Turns call events into `announce` messages; owns the process's Announcer."""

    def __init__(self, settings: dict[str, Any], enabled: bool = True):
        cache_dir = Path(settings["cache_dir"])
        self.cache_dir = cache_dir if cache_dir.is_absolute() else ROOT / cache_dir
        languages = settings["languages"]
        self.announcer = Announcer(
            self.cache_dir, {lang: settings[lang] for lang in languages}, languages, rate=settings["rate"],
            voices={lang: settings.get(f"voice_{lang}", "") for lang in languages})
        self.chime_path = chime_wav(self.cache_dir / CHIME_FILE)
        self.enabled = enabled
        self.prerender_counters = settings["prerender_counters"]
        self._calls: queue.Queue[dict[str, Any]] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self._silence_explained = False

    def start_prerender(self) -> threading.Thread:
        """Render the fixed pieces in the background, so that calls need no synthesis."""
        thread = threading.Thread(target=self._prerender, name="voice-prerender", daemon=True)
        thread.start()
        return thread

    def on_event(self, event: dict[str, Any]) -> None:
        """Engine subscriber (runs after commit): queue a call for announcing."""
        if event.get("kind") not in CALL_KINDS or not event.get("ticket") or not event.get("counter"):
            return
        if not self.enabled:  # nothing to assemble: the chime-only answer needs no worker
            self._send(self.announcement(event), event["hall"])
            return
        self._ensure_worker()
        self._calls.put(event)

    def announcement(self, event: dict[str, Any]) -> dict[str, Any]:
        """The `announce` message of a call event (assembles its clips)."""
        counter = event["counter"]
        keys = self.announcer.announce(event["ticket"]["number"], counter["number"]) if self.enabled else []
        if not keys:
            self._explain_silence()
        return {"seq": event["seq"], "kind": event["kind"], "number": event["ticket"]["number"],
                "counter": counter["number"], "zone": counter.get("zone"), "keys": keys}

    def path_for(self, key: str) -> Path | None:
        return self.announcer.path_for(key)

    @staticmethod
    def _send(message: dict[str, Any], slug: str) -> None:
        socketio.emit("announce", message, to=public_room(slug))
        socketio.emit("announce", message, to=staff_room(slug))

    def _prerender(self) -> None:
        if not self.enabled:
            self._explain_silence()
            return
        try:
            if self.announcer.available:
                self.announcer.prerender(self.prerender_counters)
                log.info("voice ready: announcement pieces rendered in %s", self.cache_dir)
            else:
                self._explain_silence()
        except (SynthesisError, OSError) as exc:
            log.warning("voice prerender stopped, calls will render missing pieces: %s", exc)

    def _explain_silence(self) -> None:
        if self._silence_explained:
            return
        self._silence_explained = True
        reason = "voice is disabled ([voice] enabled = false)" if not self.enabled else \
            self.announcer.unavailable_reason
        if reason:
            log.warning("displays play the chime without voice: %s", reason)

    def _ensure_worker(self) -> None:
        with self._worker_lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._serve_calls, name="voice-calls", daemon=True)
                self._worker.start()

    def _serve_calls(self) -> None:
        while True:
            event = self._calls.get()
            try:
                self._send(self.announcement(event), event["hall"])
            except Exception:  # one bad call must not silence the following ones
                log.exception("announcement of event %s failed", event.get("seq"))


def init_speaker(app: Flask) -> Speaker:
    """One Speaker per app: subscribed to events; prerendering in servers (not in TESTING apps).

    Flask config `VOICE_ENABLED` overrides `[voice] enabled` (tests switch voice on with it).
    """
    settings = app.config["HALL"]["voice"]
    enabled = app.config.get("VOICE_ENABLED", settings["enabled"] and not app.testing)
    speaker = Speaker(settings, enabled=enabled)
    app.extensions["hall_speaker"] = speaker
    subscribe(app, speaker.on_event)
    if enabled:
        speaker.start_prerender()
    return speaker
