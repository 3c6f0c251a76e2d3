"""Speech worker process: owns the one pyttsx3 engine and renders WAV files on request.

pyttsx3 engines are not thread-safe and their run loop can hang, so the engine
lives in this child process; ``display.voice.synth.SpeechWorker`` talks to it
and kills it when a request overruns. Runs as a plain script (no package
imports) so it starts the same way wherever the app is installed.

Protocol, one JSON object per line:
  -> {"text": ..., "voice": ..., "rate": ..., "out": "/path/clip.wav"}
  <- {"ok": true} or {"ok": false, "error": "..."}
One reply is sent before any request, telling whether the engine started.
"""
import json
import os
import sys
import wave


def _reply(channel, error=None):
    channel.write(json.dumps({"ok": error is None, "error": error}) + "\n")
    channel.flush()


def _voice_ids(engine):
    """Map every accepted voice name (id, file name, language) to the engine's voice id."""
    ids = {}
    for voice in engine.getProperty("voices"):
        names = [voice.id, voice.id.rsplit("/", 1)[-1], *(voice.languages or [])]
        for name in names:
            ids.setdefault(str(name).lower(), voice.id)
    return ids


# pyttsx3's espeak driver now and then writes an empty file for a short text
# (it saves before appending the samples that came with the end-of-message
# event); such a clip is simply rendered again.
ATTEMPTS = 3


def _frames(path):
    try:
        with wave.open(path, "rb") as clip:
            return clip.getnframes()
    except (OSError, EOFError, wave.Error):
        return 0


def _render(engine, voice_ids, request):
    voice = voice_ids.get(str(request["voice"]).lower())
    if voice is None:
        raise ValueError(f"no espeak-ng voice named {request['voice']!r}")
    engine.setProperty("voice", voice)
    engine.setProperty("rate", int(request["rate"]))
    for _attempt in range(ATTEMPTS):
        engine.save_to_file(request["text"], request["out"])
        engine.runAndWait()
        if _frames(request["out"]):
            return
    raise RuntimeError(f"the speech engine produced no audio for {request['text']!r}")


def main(driver):
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # pyttsx3 prints progress on stdout: keep it off the reply channel
    sys.stdout = sys.stderr
    try:
        import pyttsx3

        engine = pyttsx3.init(driver or None)
        voice_ids = _voice_ids(engine)
    except Exception as exc:  # any failure here means: no voice on this machine
        _reply(replies, f"speech engine did not start ({type(exc).__name__}: {exc})")
        return 1
    _reply(replies)
    for line in sys.stdin:
        try:
            _render(engine, voice_ids, json.loads(line))
        except Exception as exc:  # reported to the app, which decides what to do
            _reply(replies, f"{type(exc).__name__}: {exc}")
        else:
            _reply(replies)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
