"""ESC/POS bytes of a ticket, checked against a committed golden file.

Regenerate the golden file after an intended layout change with
HALL_REGEN_GOLDEN=1 python -m pytest tests/test_printer_escpos.py
"""

import os
from pathlib import Path

import pytest

from printer.escpos_ticket import KANJI_OFF, KANJI_ON, render_escpos
from tests.printer_sample import SAMPLE_TICKET

GOLDEN = Path(__file__).parent / "golden" / "ticket_a023.bin"

ESC_INIT = b"\x1b@"
BOLD_ON = b"\x1bE\x01"
NUMBER_SIZE_4X = b"\x1d!\x33"  # GS ! : width x4, height x4
CUT = b"\x1dV"
RASTER_IMAGE = b"\x1dv0"


def qr_store_command(data: str) -> bytes:
    """GS ( k, function 180: store the QR symbol data."""
    payload = b"1P0" + data.encode()
    return b"\x1d(k" + len(payload).to_bytes(2, "little") + payload


def test_bytes_match_golden_file():
    data = render_escpos(SAMPLE_TICKET)
    if os.environ.get("HALL_REGEN_GOLDEN") == "1":
        GOLDEN.write_bytes(data)
    assert data == GOLDEN.read_bytes()


def test_gb18030_ticket_holds_the_expected_commands():
    data = render_escpos(SAMPLE_TICKET)
    assert data.startswith(ESC_INIT)
    assert NUMBER_SIZE_4X + BOLD_ON + b"\x1ba\x01" + b"A023\n" in data
    assert qr_store_command(SAMPLE_TICKET.status_url) in data
    assert b"\x1d(k\x03\x001Q0" in data  # print the stored symbol
    assert KANJI_ON + "社保业务".encode("gb18030") + KANJI_OFF in data
    assert data.index(ESC_INIT) < data.index(b"A023") < data.rindex(CUT)
    assert data.endswith(CUT + b"\x00")


def test_raster_mode_sends_chinese_as_images():
    data = render_escpos(SAMPLE_TICKET, chinese_mode="raster")
    assert RASTER_IMAGE + b"\x00" + (576 // 8).to_bytes(2, "little") in data
    assert "社保业务".encode("gb18030") not in data
    assert KANJI_ON not in data
    assert b"A023\n" in data and qr_store_command(SAMPLE_TICKET.status_url) in data
    assert data.startswith(ESC_INIT) and data.endswith(CUT + b"\x00")


def test_unknown_chinese_mode_is_refused():
    with pytest.raises(ValueError, match="chinese_mode"):
        render_escpos(SAMPLE_TICKET, chinese_mode="utf8")
