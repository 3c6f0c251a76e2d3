"""Speech synthesis from the app's side: a client for the speech worker process."""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Protocol

WORKER_SCRIPT = Path(__file__).with_name("worker.py")


class SynthesisError(RuntimeError):
    """A clip could not be rendered; the message says why, for the app's log."""


class Synthesiser(Protocol):
    def render(self, text: str, voice: str, rate: int, out: Path) -> None:
        """Write ``text`` spoken by ``voice`` at ``rate`` words/minute to the WAV file ``out``."""


class SpeechWorker:
    """Renders clips in a child process running pyttsx3 (see ``worker.py``).

    Thread-safe: requests are served one at a time. The child starts on the
    first request, so creating this object before a server forks is harmless.
    A request that overruns ``timeout`` seconds kills the child; the next
    request starts a fresh one. POSIX only (uses select on the pipe).
    """

    def __init__(self, driver: str = "", timeout: float = 15.0, python: str = sys.executable):
        self._command = [python, str(WORKER_SCRIPT), driver]
        self._timeout = timeout
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending = b""

    def render(self, text: str, voice: str, rate: int, out: Path) -> None:
        request = json.dumps({"text": text, "voice": voice, "rate": rate, "out": str(out)})
        with self._lock:
            proc = self._running()
            try:
                assert proc.stdin is not None
                proc.stdin.write(request.encode() + b"\n")
                proc.stdin.flush()
            except OSError as exc:
                self._stop()
                raise SynthesisError(f"speech worker is gone ({exc})") from exc
            self._expect_ok()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _running(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            try:
                self._proc = subprocess.Popen(
                    self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
                )
            except OSError as exc:
                raise SynthesisError(f"cannot start the speech worker ({exc})") from exc
            self._pending = b""
            try:
                self._expect_ok()
            except SynthesisError:
                self._stop()
                raise
        return self._proc

    def _expect_ok(self) -> None:
        reply = json.loads(self._read_line())
        if not reply["ok"]:
            raise SynthesisError(reply["error"])

    def _read_line(self) -> bytes:
        """Read one reply line, killing the worker if it does not answer in time."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + self._timeout
        while b"\n" not in self._pending:
            remaining = deadline - time.monotonic()
            ready = remaining > 0 and select.select([fd], [], [], remaining)[0]
            if not ready:
                self._stop()
                raise SynthesisError(f"speech worker gave no answer within {self._timeout:g} s")
            chunk = os.read(fd, 4096)
            if not chunk:
                code = self._proc.wait()
                self._stop()
                raise SynthesisError(f"speech worker exited (code {code})")
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line

    def _stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            for pipe in (self._proc.stdin, self._proc.stdout):
                if pipe is not None:
                    pipe.close()
            self._proc = None
