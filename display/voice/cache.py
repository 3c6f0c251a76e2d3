"""On-disk cache of rendered clips: one ``<key>.wav`` file per key in one folder."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from pathlib import Path

KEY_PATTERN = re.compile(r"[0-9a-f]{32}")
FORMAT_VERSION = "1"  # change when the way clips are made changes, to leave old files behind


def clip_key(*parts: str) -> str:
    """A stable key for the clip described by ``parts`` (e.g. text, voice, rate)."""
    return hashlib.sha256("\x1f".join((FORMAT_VERSION, *parts)).encode()).hexdigest()[:32]


class ClipCache:
    """Clips are written atomically, so several app processes may share the folder."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.wav"

    def find(self, key: str) -> Path | None:
        """The clip file of a well-formed, existing key; None for anything else."""
        if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
            return None
        path = self.path(key)
        return path if path.is_file() else None

    def hit(self, key: str) -> bool:
        """Whether the clip exists; marks it used so that ``prune`` keeps it."""
        try:
            os.utime(self.path(key))
        except FileNotFoundError:
            return False
        return True

    def scratch(self) -> Path:
        """A fresh temporary file in the cache folder, removed by the caller."""
        fd, name = tempfile.mkstemp(dir=self.root, prefix=".", suffix=".tmp")
        os.close(fd)
        return Path(name)

    def prune(self, max_age_seconds: float) -> int:
        """Delete clips (and stray temporary files) unused for ``max_age_seconds``; return how many.

        Other files in the folder, such as a chime placed there, are left alone.
        """
        cutoff = time.time() - max_age_seconds
        removed = 0
        clips = [path for path in self.root.glob("*.wav") if KEY_PATTERN.fullmatch(path.stem)]
        for path in [*clips, *self.root.glob(".*.tmp")]:
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed
