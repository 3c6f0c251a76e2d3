"""QR codes as inline SVG (no image files, works offline)."""
from __future__ import annotations

import qrcode
import qrcode.image.svg
from markupsafe import Markup


def qr_svg(data: str) -> Markup:
    """An SVG <svg> element of a QR code for `data`, scaled by CSS."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2,
                         image_factory=qrcode.image.svg.SvgPathImage)
    code.add_data(data)
    code.make(fit=True)
    return Markup(code.make_image().to_string(encoding="unicode"))
