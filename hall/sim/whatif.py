"""Staffing options of a what-if: `B=3..8` (or `B=5`) per service, every combination tried."""
from __future__ import annotations

import itertools
import re

from hall.sim.layout import Layout

_SPEC = re.compile(r"^\s*([A-Za-z]{1,4})\s*=\s*(\d{1,2})(?:\s*\.\.\s*(\d{1,2}))?\s*$")
MAX_OPTIONS = 12


class WhatIfError(ValueError):
    """A staffing option that cannot be read or built."""


def parse_staffing(spec: str) -> tuple[str, range]:
    match = _SPEC.match(spec)
    if not match:
        raise WhatIfError(f"{spec!r} is not SERVICE=N or SERVICE=N..M (e.g. B=3..8)")
    low = int(match[2])
    high = int(match[3]) if match[3] is not None else low
    if high < low:
        raise WhatIfError(f"{spec!r}: the range ends before it starts")
    return match[1].upper(), range(low, high + 1)


def staffing_options(base: Layout, specs: list[str]) -> list[Layout]:
    """One layout per combination of the asked numbers of counters (just `base` without specs)."""
    ranges = [parse_staffing(spec) for spec in specs]
    if len({prefix for prefix, _ in ranges}) < len(ranges):
        raise WhatIfError("name each service once")
    combos = list(itertools.product(*(r for _, r in ranges)))
    if len(combos) > MAX_OPTIONS:
        raise WhatIfError(f"{len(combos)} options asked; at most {MAX_OPTIONS} at once")
    options = []
    for combo in combos:
        layout = base
        try:
            for (prefix, _), wanted in zip(ranges, combo):
                layout = layout.with_counters(prefix, wanted)
        except ValueError as exc:
            raise WhatIfError(str(exc)) from exc
        options.append(layout)
    return options
