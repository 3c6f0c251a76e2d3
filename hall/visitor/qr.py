"""QR codes as inline SVG in the visitor's pages."""
from __future__ import annotations

from markupsafe import Markup

from hall import qr


def qr_svg(data: str) -> Markup:
    """An SVG <svg> element of a QR code for `data`, scaled by CSS."""
    return Markup(qr.qr_svg(data))
