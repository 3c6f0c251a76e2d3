"""QR codes as inline SVG (no image files, works offline): one <path> of the dark modules."""
from __future__ import annotations

import qrcode

#: Modules of light margin around the code.
BORDER = 2
#: The mask pattern every code uses (checkerboard). Readers take the mask from the code's format
#: bits, so any of the eight reads the same; qrcode's search for the one with the fewest penalty
#: points builds and scores the code eight times, two thirds of a kiosk issue's CPU (~5 ms).
MASK_PATTERN = 0


def qr_svg(data: str) -> str:
    """The QR code of `data` (error correction M, smallest version that fits) as an SVG element
    scaled by CSS: what qrcode's SvgPathImage writes, built straight from the modules (its
    drawing code took another ~2 ms a code)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=BORDER, mask_pattern=MASK_PATTERN)
    code.add_data(data)
    code.make(fit=True)
    return svg_of_modules(code.modules, BORDER)


def svg_of_modules(modules: list[list[bool | None]], border: int) -> str:
    """One square subpath per dark module, row by row, as SvgPathImage draws them."""
    size = len(modules) + 2 * border
    path = "".join(f"M{x},{y}H{x + 1}V{y + 1}H{x}z"
                   for y, row in enumerate(modules, border) for x, dark in enumerate(row, border) if dark)
    return (f'<svg width="{size}mm" height="{size}mm" version="1.1" viewBox="0 0 {size} {size}"'
            f' xmlns="http://www.w3.org/2000/svg"><path d="{path}" id="qr-path" fill="#000000" fill-opacity="1"'
            f' fill-rule="nonzero" stroke="none" /></svg>')
