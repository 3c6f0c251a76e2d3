"""Small WAV helpers on 16-bit mono PCM, using only the standard library."""
from __future__ import annotations

import math
import os
import tempfile
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path

SAMPLE_WIDTH = 2  # bytes: 16-bit signed PCM
FULL_SCALE = 32768


@dataclass(frozen=True)
class Pcm:
    """Mono 16-bit PCM frames and their sample rate."""

    frames: bytes
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.frames) / SAMPLE_WIDTH / self.rate


def read_wav(path: Path) -> Pcm:
    with wave.open(str(path), "rb") as wav:
        if wav.getnchannels() != 1 or wav.getsampwidth() != SAMPLE_WIDTH:
            raise ValueError(f"{path}: expected 16-bit mono, got {wav.getnchannels()} ch / {wav.getsampwidth() * 8} bit")
        return Pcm(wav.readframes(wav.getnframes()), wav.getframerate())


def write_wav(path: Path, pcm: Pcm) -> Path:
    """Write atomically, so a concurrent reader never sees a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(SAMPLE_WIDTH)
            wav.setframerate(pcm.rate)
            wav.writeframes(pcm.frames)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def silence(ms: int, rate: int) -> bytes:
    return bytes(SAMPLE_WIDTH * (rate * ms // 1000))


def trim_silence(pcm: Pcm, threshold: int = 300, pad_ms: int = 15) -> Pcm:
    """Cut leading and trailing near-silence, keeping a short pad.

    Speech engines surround every utterance with pauses; pieces joined later
    need tight edges so the pause between them is ours to choose.
    """
    samples = array("h", pcm.frames)
    first = next((i for i, sample in enumerate(samples) if abs(sample) > threshold), None)
    if first is None:
        return Pcm(b"", pcm.rate)
    last = next(i for i in reversed(range(len(samples))) if abs(samples[i]) > threshold)
    pad = pcm.rate * pad_ms // 1000
    start, end = max(first - pad, 0), min(last + pad + 1, len(samples))
    return Pcm(samples[start:end].tobytes(), pcm.rate)


def join(parts: list[Pcm], gap_ms: int, tail_ms: int) -> Pcm:
    """Concatenate clips of one sample rate with a pause between them and after the last."""
    rates = {part.rate for part in parts}
    if len(rates) != 1:
        raise ValueError(f"cannot join clips of different sample rates: {sorted(rates)}")
    rate = rates.pop()
    gap = silence(gap_ms, rate)
    return Pcm(gap.join(part.frames for part in parts) + silence(tail_ms, rate), rate)


def rms(pcm: Pcm) -> float:
    """Root mean square level, 0.0 (silence) to 1.0 (full scale)."""
    samples = array("h", pcm.frames)
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples)) / FULL_SCALE
