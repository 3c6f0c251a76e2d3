"""What gets said: ticket spelling and splitting a call into speakable pieces.

A call is spoken as a sequence of short pieces (template words, one piece per
ticket character, the counter) so that every piece can be rendered once and
reused for any later call.
"""
from __future__ import annotations

import string
from collections.abc import Iterator

DIGIT_WORDS: dict[str, tuple[str, ...]] = {
    "zh": tuple("零一二三四五六七八九"),
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
}
FIELDS = ("number", "counter")


def spell_number(number: str, lang: str) -> str:
    """Spell a ticket number character by character, as halls call them.

    ``"A023"`` becomes ``"A 零 二 三"`` in Chinese and ``"A zero two three"``
    in English. Letters are upper-cased; characters that are neither ASCII
    letters nor digits (dashes, spaces) are not spoken. For a language without
    digit words the digits are left for the voice to read.
    """
    words = DIGIT_WORDS.get(lang, tuple(string.digits))
    tokens = []
    for char in number.upper():
        if char in string.digits:
            tokens.append(words[int(char)])
        elif char in string.ascii_uppercase:
            tokens.append(char)
    return " ".join(tokens)


def _parse(template: str) -> Iterator[tuple[str, str | None]]:
    """Yield (literal text, field name or None) pairs of a phrase template."""
    for literal, field, _spec, _conversion in string.Formatter().parse(template):
        if field is not None and field not in FIELDS:
            raise ValueError(f"unknown field {{{field}}} in phrase template {template!r}; use {FIELDS}")
        yield literal.strip(), field


def call_pieces(template: str, number: str, counter: str | int, lang: str) -> list[str]:
    """The ordered texts to speak for one call."""
    pieces: list[str] = []
    for literal, field in _parse(template):
        if literal:
            pieces.append(literal)
        if field == "number":
            pieces.extend(spell_number(number, lang).split())
        elif field == "counter" and str(counter).strip():
            pieces.append(str(counter).strip())
    return pieces


def fixed_pieces(template: str, lang: str, max_counter: int) -> list[str]:
    """Every piece a call can need: template words, letters, digits, counters 1..max_counter."""
    literals = [literal for literal, _field in _parse(template) if literal]
    characters = spell_number(string.ascii_uppercase + string.digits, lang).split()
    counters = [str(n) for n in range(1, max_counter + 1)]
    return literals + characters + counters
