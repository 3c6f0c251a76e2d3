from dataclasses import replace

from printer.layout import COLUMNS, NUMBER_SCALE, Line, QrCode, text_width, ticket_layout, wait_minutes, wrap
from tests.printer_sample import SAMPLE_TICKET


def test_wrap_breaks_between_words_and_chinese_characters():
    assert wrap("请携带身份证 / Please bring your ID card", 20) == [
        "请携带身份证 /",
        "Please bring your ID",
        "card",
    ]
    assert wrap("一二三四五六", 5) == ["一二", "三四", "五六"]
    assert wrap("x" * 12, 5) == ["xxxxx", "xxxxx", "xx"]
    assert wrap("", 5) == [""]


def test_every_line_fits_the_paper():
    long = "很长的提示" * 20
    ticket = replace(SAMPLE_TICKET, notice_lines=(long,))
    for block in ticket_layout(ticket):
        if isinstance(block, Line):
            assert text_width(block.text) * block.scale <= COLUMNS


def test_layout_shows_number_large_and_qr_of_status_url():
    blocks = ticket_layout(SAMPLE_TICKET)
    assert Line("A023", scale=NUMBER_SCALE, bold=True) in blocks
    assert QrCode(SAMPLE_TICKET.status_url) in blocks
    texts = [b.text for b in blocks if isinstance(b, Line)]
    assert "社保业务" in texts and "Social Insurance" in texts
    assert "预计等待约 21 分钟 / Estimated wait: 21 min" in texts
    assert texts[-1] == SAMPLE_TICKET.footer


def test_wait_is_rounded_up_to_whole_minutes():
    assert [wait_minutes(s) for s in (0, 59, 60, 61)] == [1, 1, 1, 2]
