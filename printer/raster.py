"""Drawing layout lines as images, for the PNG preview and for printers
without a Chinese font."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from printer.layout import COLUMNS, Line

FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
#: Face "WenQuanYi Zen Hei Mono": half-width glyphs fill exactly one cell,
#: as in the printer's own font, so wrapped lines fit the paper.
FONT_INDEX = 1

#: Paper width of an 80 mm printer at 203 dpi.
PAPER_DOTS = 576


@lru_cache(maxsize=32)
def _font(size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size_px, index=FONT_INDEX)


def line_image(line: Line, width_px: int = PAPER_DOTS) -> Image.Image:
    """A white 1-bit strip `width_px` wide holding one line of black text.

    Glyphs are sized like the printer's own font: a full-width character is
    two cells wide and as tall as it is wide, so `COLUMNS` cells fill the width.
    """
    cell = width_px / COLUMNS
    size = round(2 * cell * line.scale)
    height = round(size * 1.25)
    image = Image.new("1", (width_px, height), 1)
    draw = ImageDraw.Draw(image)
    font = _font(size)
    stroke = max(1, size // 24) if line.bold else 0
    text_px = draw.textlength(line.text, font=font) + 2 * stroke
    x = {"left": 0, "center": (width_px - text_px) / 2, "right": width_px - text_px}[line.align]
    draw.text(
        (x + stroke, height / 2),
        line.text,
        font=font,
        fill=0,
        anchor="lm",
        stroke_width=stroke,
        stroke_fill=0,
    )
    return image
