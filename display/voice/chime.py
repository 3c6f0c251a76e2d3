"""The two-tone chime played before every announcement, generated rather than shipped."""
from __future__ import annotations

import math
import wave
from array import array
from pathlib import Path

from display.voice.audio import FULL_SCALE, Pcm, read_wav, write_wav

RATE = 22050
TONES_HZ = (659.25, 523.25)  # E5 then C5: the familiar descending "ding-dong"
TONE_SECONDS = 0.45
LEVEL = 0.5  # of full scale, leaves headroom next to the voice


def _tone(freq: float) -> array:
    """A bell-like tone: fast attack, exponential decay, a soft octave overtone.

    The short attack and release ramps keep the tone edges free of clicks.
    """
    count = int(RATE * TONE_SECONDS)
    attack = release = int(RATE * 0.01)
    samples = array("h")
    for i in range(count):
        t = i / RATE
        envelope = min(1.0, i / attack, (count - i) / release) * math.exp(-4.0 * t)
        tone = math.sin(2 * math.pi * freq * t) + 0.3 * math.sin(4 * math.pi * freq * t)
        samples.append(int(LEVEL * (FULL_SCALE - 1) * envelope * tone / 1.3))
    return samples


def chime_wav(path: Path) -> Path:
    """Write the chime WAV to ``path`` unless a readable one is already there."""
    path = Path(path)
    try:
        read_wav(path)
        return path
    except (OSError, EOFError, ValueError, wave.Error):
        pass
    frames = b"".join(_tone(freq).tobytes() for freq in TONES_HZ)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_wav(path, Pcm(frames, RATE))
