"""Ticket printing: layout, ESC/POS rendering, PNG preview and delivery to printers.

Pure package: it takes plain data and knows nothing about the web app.
"""
import fcntl
import os
import pickle
import platform
import tempfile
from pathlib import Path


def _load_escpos_capabilities() -> None:
    """Import python-escpos's printer database through one lasting, shared pickle.

    python-escpos parses its database (YAML, about 2 s) at import unless it finds the pickled
    copy it keeps, by default in a new temporary folder each time. The copy kept here is shared
    by every process of the machine (server workers, test workers), and python-escpos writes it
    in place: the first import happens under a file lock, so no process reads a half-written
    copy, and a copy cut short by a killed process is thrown away and written again.
    """
    cache = Path(os.environ.setdefault(
        "ESCPOS_CAPABILITIES_PICKLE_DIR", str(Path(tempfile.gettempdir()) / "hall-escpos")))
    cache.mkdir(exist_ok=True)
    with open(cache / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        copy = cache / f"{platform.python_version()}.capabilities.pickle"
        try:
            with open(copy, "rb") as kept:
                pickle.load(kept)
        except FileNotFoundError:
            pass
        except (EOFError, pickle.UnpicklingError):
            copy.unlink()
        import escpos.capabilities  # noqa: F401  (reads or writes the copy while holding the lock)


_load_escpos_capabilities()
