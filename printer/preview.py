"""The ticket layout drawn as a PNG, to show on screen what the printer prints."""

from __future__ import annotations

import io

import qrcode
from PIL import Image

from printer.layout import QR_MODULE_DOTS, QrCode, TicketPrint, ticket_layout
from printer.raster import PAPER_DOTS, line_image

#: White margin above and below the printed area, in dots at 576 wide.
MARGIN_DOTS = 24


def _qr_image(data: str, width_px: int) -> Image.Image:
    """The QR code centred on a strip `width_px` wide, modules sized like the printer's."""
    module = max(1, round(QR_MODULE_DOTS * width_px / PAPER_DOTS))
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=module, border=2
    )
    code.add_data(data)
    code.make(fit=True)
    symbol = code.make_image().get_image().convert("1")
    strip = Image.new("1", (width_px, symbol.height), 1)
    strip.paste(symbol, ((width_px - symbol.width) // 2, 0))
    return strip


def render_png(ticket: TicketPrint, width_px: int = PAPER_DOTS) -> bytes:
    """PNG bytes of `ticket` as printed on paper `width_px` dots wide."""
    strips = [
        _qr_image(block.data, width_px) if isinstance(block, QrCode) else line_image(block, width_px)
        for block in ticket_layout(ticket)
    ]
    margin = round(MARGIN_DOTS * width_px / PAPER_DOTS)
    page = Image.new("1", (width_px, sum(s.height for s in strips) + 2 * margin), 1)
    y = margin
    for strip in strips:
        page.paste(strip, (0, y))
        y += strip.height
    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()
