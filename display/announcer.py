"""Spoken call announcements for the lobby display.

A call such as ticket A023 at counter 3 becomes one WAV clip per language
("请 A 零 二 三 号到 3 号窗口办理", "Ticket A zero two three, please go to
counter 3"). Each clip is assembled from short pieces - the template words,
every letter and digit, counters 1..N - that ``prerender`` renders once with
pyttsx3/espeak-ng. Serving a call is then only joining cached WAV pieces, a
few milliseconds, and the joined clip is cached too. ``announce`` returns one
key per language, in ``languages`` order; the display plays the chime
(``chime_wav``) and then those clips in order, fetching each from
``path_for(key)``.

Synthesis runs in a separate worker process (``display.voice.synth``), never
in the calling thread's interpreter, and is only needed for pieces that were
not pre-rendered (e.g. a counter named "VIP").
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from display.voice.audio import join, read_wav, trim_silence, write_wav
from display.voice.cache import ClipCache, clip_key
from display.voice.chime import chime_wav
from display.voice.phrases import call_pieces, fixed_pieces, spell_number
from display.voice.synth import SpeechWorker, Synthesiser, SynthesisError

__all__ = ["Announcer", "chime_wav", "spell_number"]

log = logging.getLogger(__name__)

# espeak-ng's plain "cmn" voice reads many characters as English-spoken pinyin
# (e.g. 请 as "king three"); the pinyin variant pronounces them in Mandarin.
DEFAULT_VOICES = {"zh": "cmn-latn-pinyin", "en": "en"}
GAP_MS = 90  # pause between pieces of one announcement
TAIL_MS = 400  # pause after an announcement, before the next language's clip
MAX_AGE_DAYS = 30  # clips unused this long are removed by ``prerender``


class Announcer:
    """Makes and caches the audio of call announcements. Safe to use from several threads."""

    def __init__(
        self,
        cache_dir: Path,
        templates: Mapping[str, str],
        languages: Sequence[str] = ("zh", "en"),
        rate: int = 150,
        voices: Mapping[str, str] | None = None,
        *,
        synthesiser: Synthesiser | None = None,
    ):
        """``voices`` maps a language to an espeak-ng voice name; languages not
        in it use ``DEFAULT_VOICES`` or else the language code itself.
        ``synthesiser`` replaces the default speech worker process."""
        missing = [lang for lang in languages if lang not in templates]
        if missing:
            raise ValueError(f"no phrase template for language(s) {missing}")
        self.languages = list(languages)
        self.templates = {lang: templates[lang] for lang in self.languages}
        for lang, template in self.templates.items():
            fixed_pieces(template, lang, 0)  # rejects unknown {fields} now rather than at the first call
        self.rate = rate
        self.voices = {lang: (voices or {}).get(lang) or DEFAULT_VOICES.get(lang, lang) for lang in self.languages}
        self._cache = ClipCache(Path(cache_dir))
        self._own_worker = SpeechWorker() if synthesiser is None else None
        self._synth: Synthesiser = synthesiser or self._own_worker
        self._probe_lock = threading.Lock()
        self._reason: str | None = None  # None until the engine has been tried

    @property
    def available(self) -> bool:
        """Whether speech works here: tried once, on first use, by rendering a word per language."""
        return not self.unavailable_reason

    @property
    def unavailable_reason(self) -> str:
        """Why there is no voice ("" when there is one)."""
        with self._probe_lock:
            if self._reason is None:
                self._reason = self._probe()
        return self._reason

    def prerender(self, max_counter: int = 30) -> None:
        """Render every fixed piece, then drop clips unused for ``MAX_AGE_DAYS``.

        Blocking (a few seconds); run it in a background thread at start-up.
        Raises ``SynthesisError`` if the engine fails midway.
        """
        if not self.available:
            return
        for lang in self.languages:
            for text in fixed_pieces(self.templates[lang], lang, max_counter):
                self._piece(text, lang)
        self._cache.prune(MAX_AGE_DAYS * 24 * 3600)

    def announce(self, number: str, counter: str | int) -> list[str]:
        """Keys of the announcement clips, one per language; [] when there is no voice."""
        if not self.available:
            return []
        try:
            return [self._clip(lang, number, counter) for lang in self.languages]
        except (SynthesisError, OSError) as exc:
            log.warning("announcement of ticket %s at counter %s failed: %s", number, counter, exc)
            return []

    def path_for(self, key: str) -> Path | None:
        """The WAV file of ``key``; None for a malformed or unknown key."""
        return self._cache.find(key)

    def close(self) -> None:
        """Stop the speech worker this announcer started, if any."""
        if self._own_worker is not None:
            self._own_worker.close()

    def _probe(self) -> str:
        for lang in self.languages:
            scratch = self._cache.scratch()
            try:
                self._synth.render(spell_number("1", lang), self.voices[lang], self.rate, scratch)
            except SynthesisError as exc:
                return f"no voice for language {lang!r} (voice {self.voices[lang]!r}): {exc}"
            finally:
                scratch.unlink(missing_ok=True)
        return ""

    def _clip(self, lang: str, number: str, counter: str | int) -> str:
        piece_keys = [self._piece(text, lang) for text in call_pieces(self.templates[lang], number, counter, lang)]
        key = clip_key("call", str(GAP_MS), str(TAIL_MS), *piece_keys)
        if not self._cache.hit(key):
            pieces = [read_wav(self._cache.path(piece)) for piece in piece_keys]
            write_wav(self._cache.path(key), join(pieces, GAP_MS, TAIL_MS))
        return key

    def _piece(self, text: str, lang: str) -> str:
        """Key of one spoken piece, rendering it if it is not cached yet."""
        key = clip_key("piece", self.voices[lang], str(self.rate), text)
        if not self._cache.hit(key):
            scratch = self._cache.scratch()
            try:
                self._synth.render(text, self.voices[lang], self.rate, scratch)
                write_wav(self._cache.path(key), trim_silence(read_wav(scratch)))
            finally:
                scratch.unlink(missing_ok=True)
        return key
