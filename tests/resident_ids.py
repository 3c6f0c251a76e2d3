"""Valid resident ID numbers (GB 11643) for tests: distinct for each n, with a correct check digit."""
from __future__ import annotations

import itertools

from hall.queue.realname import simulated_id_number

_next = itertools.count(500_000)


def resident_id(n: int = 0) -> str:
    """The n-th test visitor's ID number."""
    return simulated_id_number(n)


def issue_args(prefix: str, n: int | None = None) -> dict[str, str]:
    """Keyword arguments that let an issue of `prefix` pass the demo hall's real-name service C
    (two tickets per ID and day): the n-th visitor's ID, or a new visitor's each time."""
    return {"id_number": resident_id(next(_next) if n is None else n)} if prefix.upper() == "C" else {}
