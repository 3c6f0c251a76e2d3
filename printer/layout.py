"""The ticket layout: what a printed ticket says, line by line.

The layout is described once, as a sequence of blocks, and drawn by two
renderers: ESC/POS bytes for the printer and a PNG preview.  Text is wrapped
here, in printer character cells, so both renderers break lines identically.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

#: Character cells per line in the printer's standard font (12 x 24 dots)
#: on 80 mm paper (576 dots).  A full-width (Chinese) character takes two.
COLUMNS = 48

#: Size multiplier of the ticket number (ESC/POS allows 1..8).
NUMBER_SCALE = 4

#: Dot size of one QR module (ESC/POS allows 1..16).
QR_MODULE_DOTS = 6

Align = Literal["left", "center", "right"]


@dataclass(frozen=True)
class TicketPrint:
    """Everything printed on one ticket, as plain data."""

    hall_name: str
    service_name_zh: str
    service_name_en: str
    number: str
    issued_at: datetime
    people_ahead: int
    estimated_wait_s: int
    status_url: str
    footer: str = ""
    notice_lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Line:
    """One printed line; `scale` multiplies both character width and height."""

    text: str
    scale: int = 1
    bold: bool = False
    align: Align = "center"


@dataclass(frozen=True)
class QrCode:
    """A QR code, centred."""

    data: str


Block = Line | QrCode


def cell_width(char: str) -> int:
    """Character cells a character occupies: 2 for full-width (CJK), else 1."""
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def text_width(text: str) -> int:
    """Character cells a string occupies."""
    return sum(cell_width(c) for c in text)


def _tokens(text: str) -> list[str]:
    """Split into wrap units: runs of half-width non-space characters
    (words), single spaces, and single full-width characters."""
    tokens: list[str] = []
    for char in text:
        joins_word = (
            tokens
            and cell_width(char) == 1
            and not char.isspace()
            and cell_width(tokens[-1][-1]) == 1
            and not tokens[-1][-1].isspace()
        )
        if joins_word:
            tokens[-1] += char
        else:
            tokens.append(char)
    return tokens


def _split_long(token: str, columns: int) -> list[str]:
    """Break a word wider than a whole line into line-sized pieces."""
    pieces = [""]
    for char in token:
        if text_width(pieces[-1] + char) > columns:
            pieces.append("")
        pieces[-1] += char
    return pieces


def wrap(text: str, columns: int) -> list[str]:
    """Wrap text to `columns` cells, breaking between words or between
    Chinese characters; never returns an empty list."""
    lines = [""]
    for token in _tokens(text):
        for piece in _split_long(token, columns):
            if text_width(lines[-1] + piece) > columns:
                lines.append("")
                if piece.isspace():
                    continue
            lines[-1] += piece
    return [line.rstrip() for line in lines]


def _lines(text: str, scale: int = 1, bold: bool = False, align: Align = "center") -> list[Line]:
    return [Line(part, scale, bold, align) for part in wrap(text, COLUMNS // scale)]


def wait_minutes(estimated_wait_s: int) -> int:
    """Estimated wait rounded up to whole minutes, at least one."""
    return max(1, math.ceil(estimated_wait_s / 60))


def ticket_layout(ticket: TicketPrint) -> tuple[Block, ...]:
    """The blocks of a ticket, top to bottom."""
    minutes = wait_minutes(ticket.estimated_wait_s)
    issued = ticket.issued_at.strftime("%Y-%m-%d %H:%M")
    blocks: list[Block] = [
        *_lines(ticket.hall_name, bold=True),
        Line("-" * COLUMNS),
        *_lines(ticket.service_name_zh, scale=2, bold=True),
        *_lines(ticket.service_name_en),
        Line(""),
        *_lines(ticket.number, scale=NUMBER_SCALE, bold=True),
        Line(""),
        *_lines(f"前面还有 {ticket.people_ahead} 人 / People ahead: {ticket.people_ahead}"),
        *_lines(f"预计等待约 {minutes} 分钟 / Estimated wait: {minutes} min"),
        *_lines(f"取号时间 / Issued: {issued}"),
    ]
    for notice in ticket.notice_lines:
        blocks += _lines(notice, align="left")
    blocks += [
        Line(""),
        QrCode(ticket.status_url),
        *_lines("扫码查看排队进度 / Scan to follow your turn"),
    ]
    if ticket.footer:
        blocks += [Line("-" * COLUMNS), *_lines(ticket.footer)]
    return tuple(blocks)
