"""Building blocks of the lobby voice: spelling, speech worker, clip cache, WAV helpers."""
