"""Ticket printing: layout, ESC/POS rendering, PNG preview and delivery to printers.

Pure package: it takes plain data and knows nothing about the web app.
"""
import os
import tempfile
from pathlib import Path

# python-escpos parses its printer database (YAML, about 2 s) at import unless it finds the
# pickled copy it keeps, by default in a new temporary folder each time: keep one lasting copy.
_ESCPOS_CACHE = Path(tempfile.gettempdir()) / "hall-escpos"
_ESCPOS_CACHE.mkdir(exist_ok=True)
os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(_ESCPOS_CACHE))
