"""Announcement timings on this machine.

Run from the repository root:  python -m bench.announce [--calls 200] [--max-counter 30]

Prints the speech engine start, cold synthesis per clip (the pieces rendered by
``prerender`` and, for comparison, whole sentences), then the time ``announce``
takes for random calls once the pieces are cached: first time (clip assembled
from pieces) and repeated (clip already cached).
"""
from __future__ import annotations

import argparse
import random
import statistics
import string
import tempfile
import time
from pathlib import Path

from display.announcer import Announcer, spell_number
from display.voice.audio import read_wav
from display.voice.synth import SpeechWorker

TEMPLATES = {"zh": "请 {number} 号到 {counter} 号窗口办理", "en": "Ticket {number}, please go to counter {counter}"}


class TimedSynthesiser:
    """The real speech worker, timing every clip it renders."""

    def __init__(self, worker: SpeechWorker):
        self.worker = worker
        self.seconds: list[float] = []

    def render(self, text: str, voice: str, rate: int, out: Path) -> None:
        started = time.perf_counter()
        self.worker.render(text, voice, rate, out)
        self.seconds.append(time.perf_counter() - started)


def report(label: str, value: str) -> None:
    print(f"{label:<42} {value}")


def timed(action, *args) -> float:
    started = time.perf_counter()
    action(*args)
    return time.perf_counter() - started


def summary(seconds: list[float]) -> str:
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return f"p50 {cuts[49] * 1000:7.2f} ms   p95 {cuts[94] * 1000:7.2f} ms   max {max(seconds) * 1000:7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--max-counter", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(7)
    calls = [
        (rng.choice(string.ascii_uppercase) + f"{rng.randrange(1000):03d}", rng.randint(1, args.max_counter))
        for _ in range(args.calls)
    ]
    worker = SpeechWorker()
    synth = TimedSynthesiser(worker)
    with tempfile.TemporaryDirectory() as cache:
        announcer = Announcer(Path(cache), TEMPLATES, synthesiser=synth)
        start = timed(lambda: announcer.available)
        if not announcer.available:
            raise SystemExit(f"no voice: {announcer.unavailable_reason}")
        report("engine start + one word per language", f"{start * 1000:.1f} ms")

        synth.seconds.clear()
        total = timed(announcer.prerender, args.max_counter)
        report(f"prerender, {len(synth.seconds)} pieces", f"{total:.2f} s")
        report("  cold synthesis per piece", summary(synth.seconds))

        sentences = []
        for lang, template in TEMPLATES.items():
            text = template.format(number=spell_number("A023", lang), counter=3)
            out = Path(cache) / f"sentence-{lang}.wav"
            sentences.append(timed(worker.render, text, announcer.voices[lang], announcer.rate, out))
        report("  cold synthesis, whole sentence zh / en", f"{sentences[0] * 1000:.1f} ms / {sentences[1] * 1000:.1f} ms")

        synth.seconds.clear()
        first = [timed(announcer.announce, number, counter) for number, counter in calls]
        repeat = [timed(announcer.announce, number, counter) for number, counter in calls]
        if synth.seconds:
            raise SystemExit("announce needed synthesis after prerender")
        report(f"announce, {args.calls} new calls (assembly)", summary(first))
        report("announce, same calls again (cached)", summary(repeat))

        keys = announcer.announce(*calls[0])
        lengths = " / ".join(f"{read_wav(announcer.path_for(key)).seconds:.1f} s" for key in keys)
        size = sum(announcer.path_for(key).stat().st_size for key in keys) / 1024
        report("one call's clips zh / en", f"{lengths}, {size:.0f} KiB on disk")
    worker.close()


if __name__ == "__main__":
    main()
