"""A counter's planned day: its opening hours and planned breaks, in the hall's local time.

Supervisors write breaks one per line ("12:00-12:30"); the counter keeps them as
[["12:00", "12:30"], ...] (`Counter.breaks`). The wait estimate reads them: a counter gives no
time during a planned break or after it closes, and gives time from its opening when that is later.
"""
from __future__ import annotations

import re
from datetime import time

from flask_babel import lazy_gettext as _l

Break = tuple[time, time]

#: "12:00-12:30" (also with –, —, ~, 至 or 到 between the times, spaces allowed).
_BREAK_LINE = re.compile(r"^(\d{1,2}):(\d{2})\s*(?:-|–|—|~|～|至|到)\s*(\d{1,2}):(\d{2})$", re.ASCII)


class ScheduleError(ValueError):
    """A schedule that cannot be kept, with the message shown to the supervisor."""


def _time(hour: str, minute: str) -> time | None:
    h, m = int(hour), int(minute)
    return time(h, m) if h < 24 and m < 60 else None


def parse_breaks(text: str | None) -> list[Break]:
    """Breaks written one per line, in the order written (`check_schedule` checks their order)."""
    breaks = []
    for number, line in enumerate((l.strip() for l in (text or "").splitlines() if l.strip()), start=1):
        found = _BREAK_LINE.match(line)
        times = found and (_time(*found.group(1, 2)), _time(*found.group(3, 4)))
        if not times or None in times:
            raise ScheduleError(_l("Line %(n)s: write a break as 12:00-12:30.", n=number))
        breaks.append(times)
    return breaks


def check_schedule(opens: time | None, closes: time | None, breaks: list[Break]) -> None:
    """Breaks in order, not overlapping and inside the opening hours, or ScheduleError (the hours'
    own order is the form's `closing_after_opening`; give hours here only when they are in order)."""
    for start, end in breaks:
        if end <= start:
            raise ScheduleError(_l("The break %(start)s–%(end)s ends before it starts.",
                                   start=_hhmm(start), end=_hhmm(end)))
        if (opens and start < opens) or (closes and end > closes):
            raise ScheduleError(_l("The break %(start)s–%(end)s is outside the counter's opening hours.",
                                   start=_hhmm(start), end=_hhmm(end)))
    ordered = sorted(breaks)
    for (start, end), (later, later_end) in zip(ordered, ordered[1:]):
        if later < end:
            raise ScheduleError(_l("The breaks %(first)s and %(second)s overlap.",
                                   first=f"{_hhmm(start)}–{_hhmm(end)}", second=f"{_hhmm(later)}–{_hhmm(later_end)}"))


def _hhmm(moment: time) -> str:
    return moment.strftime("%H:%M")


def stored(breaks: list[Break]) -> list[list[str]] | None:
    """Breaks as the counter keeps them (in time order; None for none)."""
    return [[_hhmm(start), _hhmm(end)] for start, end in sorted(breaks)] or None


def breaks_of(kept: list | None) -> list[Break]:
    """The breaks a counter keeps, as times."""
    return [(time.fromisoformat(start), time.fromisoformat(end)) for start, end in kept or ()]


def schedule_view(opens: time | None, closes: time | None, kept: list | None) -> dict:
    """A counter's schedule in JSON (None: with the hall; breaks as [["12:00", "12:30"], ...])."""
    return {"opens_at": opens and _hhmm(opens), "closes_at": closes and _hhmm(closes), "breaks": kept or []}


def breaks_text(kept: list | None) -> str:
    """The breaks a counter keeps as the form shows them, one per line."""
    return "\n".join(f"{start}-{end}" for start, end in kept or ())
