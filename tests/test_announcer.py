"""Announcements rendered for real with pyttsx3 and espeak-ng, checked as audio."""
import time
import wave
from pathlib import Path

import pytest

from display.announcer import Announcer, chime_wav
from display.voice.audio import read_wav, rms
from display.voice.synth import SpeechWorker, SynthesisError

TEMPLATES = {"zh": "请 {number} 号到 {counter} 号窗口办理", "en": "Ticket {number}, please go to counter {counter}"}
SPEECH_RMS = 0.02  # espeak-ng speech sits around 0.08-0.12 of full scale; silence is 0


class CountingSynthesiser:
    """The real speech worker, with a record of what it was asked to say."""

    def __init__(self, worker: SpeechWorker):
        self.worker = worker
        self.texts: list[str] = []

    def render(self, text: str, voice: str, rate: int, out: Path) -> None:
        self.texts.append(text)
        self.worker.render(text, voice, rate, out)


@pytest.fixture(scope="module")
def worker():
    worker = SpeechWorker()
    yield worker
    worker.close()


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("voice-cache")


@pytest.fixture(scope="module")
def synth(worker):
    return CountingSynthesiser(worker)


@pytest.fixture(scope="module")
def announcer(cache_dir, synth):
    announcer = Announcer(cache_dir, TEMPLATES, synthesiser=synth)
    assert announcer.available, f"speech must work here (apt-get install espeak-ng): {announcer.unavailable_reason}"
    return announcer


def test_announcements_are_spoken_audio_in_each_language(announcer):
    keys = announcer.announce("A023", 3)
    assert len(keys) == 2 and keys[0] != keys[1]
    for key in keys:
        clip = read_wav(announcer.path_for(key))
        assert clip.seconds > 1.0
        assert rms(clip) > SPEECH_RMS


def test_repeated_call_is_served_from_the_cache_without_synthesis(announcer, synth, cache_dir):
    first = announcer.announce("B100", 7)
    rendered = len(synth.texts)
    assert announcer.announce("B100", 7) == first
    assert len(synth.texts) == rendered

    fresh_synth = CountingSynthesiser(synth.worker)
    restarted = Announcer(cache_dir, TEMPLATES, synthesiser=fresh_synth)
    assert restarted.available
    probed = len(fresh_synth.texts)
    assert restarted.announce("B100", 7) == first
    assert len(fresh_synth.texts) == probed


def test_prerendered_pieces_make_a_new_call_quick_and_synthesis_free(announcer, synth):
    announcer.prerender(max_counter=3)
    rendered = len(synth.texts)
    started = time.perf_counter()
    keys = announcer.announce("Z987", 2)
    elapsed = time.perf_counter() - started
    assert len(synth.texts) == rendered
    assert elapsed < 0.3
    assert all(rms(read_wav(announcer.path_for(key))) > SPEECH_RMS for key in keys)


def test_rate_and_voice_are_part_of_the_key(announcer, worker, cache_dir):
    base = announcer.announce("A023", 3)
    faster = Announcer(cache_dir, TEMPLATES, rate=190, synthesiser=worker).announce("A023", 3)
    american = Announcer(cache_dir, TEMPLATES, voices={"en": "en-us"}, synthesiser=worker).announce("A023", 3)
    assert faster[0] != base[0] and faster[1] != base[1]
    assert american[0] == base[0] and american[1] != base[1]
    assert read_wav(announcer.path_for(faster[1])).seconds < read_wav(announcer.path_for(base[1])).seconds


def test_chime_is_a_short_audible_wav_written_once(tmp_path):
    path = chime_wav(tmp_path / "chime.wav")
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
    chime = read_wav(path)
    assert 0.5 <= chime.seconds <= 1.5
    assert rms(chime) > 0.05
    written = path.stat().st_mtime_ns
    assert chime_wav(path) == path and path.stat().st_mtime_ns == written


@pytest.mark.parametrize(
    ("make", "reason_mentions"),
    [
        (lambda worker: {"synthesiser": SpeechWorker(driver="no_such_driver")}, "no_such_driver"),
        (lambda worker: {"synthesiser": SpeechWorker(python="/nonexistent/python")}, "cannot start"),
        (lambda worker: {"synthesiser": worker, "voices": {"zh": "klingon"}}, "klingon"),
    ],
    ids=["broken-driver", "no-worker", "unknown-voice"],
)
def test_without_a_working_engine_there_is_no_voice_and_no_error(tmp_path, worker, make, reason_mentions):
    announcer = Announcer(tmp_path, TEMPLATES, **make(worker))
    assert not announcer.available
    assert reason_mentions in announcer.unavailable_reason
    assert announcer.announce("A023", 3) == []
    announcer.prerender(max_counter=3)
    assert list(tmp_path.iterdir()) == []


def test_a_worker_that_does_not_answer_in_time_is_reported():
    worker = SpeechWorker(timeout=0.001)
    with pytest.raises(SynthesisError, match="no answer"):
        worker.render("one", "en", 150, Path("/nonexistent/clip.wav"))
