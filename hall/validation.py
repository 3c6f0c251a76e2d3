"""Input rules shared by the API's bodies (pydantic), the pages' forms (WTForms) and query
arguments: text without control characters, ASCII digits, integers the database can hold."""
from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.routing import IntegerConverter
from wtforms import StringField

#: The largest integer a path, a query or a body may carry (a PostgreSQL/SQLite-safe INTEGER).
MAX_INT = 2**31 - 1
#: C0 and C1 control characters (tab, line feed and carriage return are text) and DEL.
_CONTROL_RANGES = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
#: What the OpenAPI document says of every free-text string.
TEXT_PATTERN = f"^[^{_CONTROL_RANGES}]*$"
#: ... and of text that must not be empty: something besides whitespace (it is trimmed).
NONBLANK_TEXT_PATTERN = f"^[^{_CONTROL_RANGES}]*[^\\s{_CONTROL_RANGES}][^{_CONTROL_RANGES}]*$"
#: Lone surrogates (JSON "\ud800") cannot be stored as UTF-8 either.
_REFUSED = re.compile(f"[{_CONTROL_RANGES}\ud800-\udfff]")
CONTROL_MESSAGE = "control characters are not allowed in text"


def has_control_characters(value: Any) -> bool:
    """Whether a string, or any string inside a list or mapping, holds a refused character."""
    if isinstance(value, str):
        return _REFUSED.search(value) is not None
    if isinstance(value, (list, tuple, set)):
        return any(has_control_characters(item) for item in value)
    if isinstance(value, dict):
        return any(has_control_characters(k) or has_control_characters(v) for k, v in value.items())
    return False


def refuse_control_characters(value: Any) -> Any:
    """A validator for pydantic: the value, or ValueError naming the rule."""
    if has_control_characters(value):
        raise ValueError(CONTROL_MESSAGE)
    return value


def ascii_int(raw: str, low: int = 0, high: int = MAX_INT) -> int | None:
    """`raw` as an integer in [low, high] when it is ASCII digits only ("²".isdigit() is true
    but int("²") fails), else None."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(high)):
        return None
    value = int(raw)
    return value if low <= value <= high else None


class CheckedForm(FlaskForm):
    """Every form of the pages: no text field accepts control characters."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field, StringField) and has_control_characters(field.data):
                field.errors = [*field.errors, _l("Control characters are not allowed here.")]
                valid = False
        return valid


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in routes: ASCII digits up to MAX_INT. A larger number is no such page (404)
    instead of an overflow in the database driver."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_INT,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)
