"""Valid resident ID numbers (GB 11643) for tests: distinct for each n, with a correct check digit."""
from __future__ import annotations

import itertools
from datetime import date, timedelta

from hall.queue.realname import check_digit

_next = itertools.count(500_000)


def resident_id(n: int = 0, region: str = "320102", born: date = date(1980, 1, 1)) -> str:
    """The n-th test visitor's ID: 1000 sequence numbers per birth date, then the next day."""
    birth = born + timedelta(days=n // 1000)
    first17 = f"{region}{birth:%Y%m%d}{n % 1000:03d}"
    return first17 + check_digit(first17)


def issue_args(prefix: str, n: int | None = None) -> dict[str, str]:
    """Keyword arguments that let an issue of `prefix` pass the demo hall's real-name service C
    (two tickets per ID and day): the n-th visitor's ID, or a new visitor's each time."""
    return {"id_number": resident_id(next(_next) if n is None else n)} if prefix.upper() == "C" else {}
