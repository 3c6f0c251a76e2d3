"""The ticket layout as an ESC/POS byte stream, built with python-escpos."""

from __future__ import annotations

from escpos.capabilities import Profile, get_profile
from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy

from printer.layout import QR_MODULE_DOTS, Line, QrCode, TicketPrint, ticket_layout
from printer.raster import PAPER_DOTS, line_image

#: FS & / FS . : enter and leave the printer's Chinese (Kanji) character mode.
KANJI_ON = b"\x1c&"
KANJI_OFF = b"\x1c."

CHINESE_MODES = ("gb18030", "raster")


class _Paper80mm(Profile):
    """python-escpos' default command set with the paper width declared,
    which `Escpos.image` needs to accept full-width images."""

    def __init__(self) -> None:
        default = get_profile("default").profile_data
        super().__init__(features=default["features"])
        self.profile_data = {
            **default,
            "media": {"dpi": 203, "width": {"mm": 80, "pixels": PAPER_DOTS}},
        }


def _write_line(printer: Dummy, line: Line, chinese_mode: str) -> None:
    # GS ! is sent for every line, so each line states its own size.
    printer.set(
        align=line.align,
        bold=line.bold,
        custom_size=True,
        width=line.scale,
        height=line.scale,
    )
    if line.text.isascii():
        printer.textln(line.text)
    elif chinese_mode == "gb18030":
        # python-escpos encodes text through single-byte code pages only, so
        # Chinese goes out as raw bytes between the Kanji mode commands.
        printer._raw(KANJI_ON + line.text.encode("gb18030", errors="replace") + KANJI_OFF)
        printer.ln()
    else:
        printer.image(line_image(line), impl="bitImageRaster")


def render_escpos(ticket: TicketPrint, *, chinese_mode: str = "gb18030") -> bytes:
    """The ESC/POS bytes printing `ticket`, ending with a paper cut.

    `chinese_mode` "gb18030" prints Chinese with the printer's own GB18030
    font; "raster" sends lines holding Chinese as images (GS v 0), for
    printers without a Chinese font.
    """
    if chinese_mode not in CHINESE_MODES:
        raise ValueError(f"chinese_mode must be one of {CHINESE_MODES}, not {chinese_mode!r}")
    printer = Dummy(profile=_Paper80mm())
    printer.hw("INIT")
    for block in ticket_layout(ticket):
        if isinstance(block, QrCode):
            printer.set(align="center")
            printer.qr(block.data, ec=QR_ECLEVEL_M, size=QR_MODULE_DOTS, native=True)
            printer.ln()
        else:
            _write_line(printer, block, chinese_mode)
    printer.cut()
    return printer.output
