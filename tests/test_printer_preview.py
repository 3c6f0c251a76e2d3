import io

import zxingcpp
from PIL import Image

from printer.preview import render_png
from tests.printer_sample import SAMPLE_TICKET


def test_preview_is_a_png_whose_qr_code_reads_as_the_status_url():
    png = render_png(SAMPLE_TICKET)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    assert image.width == 576
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [SAMPLE_TICKET.status_url]


def test_preview_scales_to_narrower_paper():
    image = Image.open(io.BytesIO(render_png(SAMPLE_TICKET, width_px=384)))
    assert image.width == 384
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [SAMPLE_TICKET.status_url]
