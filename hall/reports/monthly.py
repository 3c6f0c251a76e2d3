"""The monthly service-quality report (月报表): headline figures, trends against last month, worst services."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l

from hall.models import Hall
from hall.ratings import ASPECTS, LEVELS
from hall.reports.complaints import aspect_averages, complaint_figures, ranking, rating_levels
from hall.reports.engine import Filters, figures, labels, stage_rows

WORST_SERVICES = 3


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, raw: str) -> "Month":
        try:
            year, month = (int(part) for part in raw.split("-"))
            date(year, month, 1)
        except ValueError:
            raise ValueError(f"month must be YYYY-MM, not {raw!r}") from None
        return cls(year, month)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def previous(self) -> "Month":
        before = self.first - timedelta(days=1)
        return Month(before.year, before.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


LABELS = {"issued": _l("Tickets issued"), "served": _l("Served"), "wait_avg": _l("Average wait"),
          "wait_p90": _l("Wait p90"), "within_pct": _l("Served within committed time"), "no_show": _l("No-shows"),
          "satisfied_pct": _l("Satisfied"), "rating_avg": _l("Average rating"),
          "utilisation_pct": _l("Staff utilisation"), "estimate_mae": _l("Estimate error")}
UNITS = {"wait_avg": "s", "wait_p90": "s", "within_pct": "%", "satisfied_pct": "%", "utilisation_pct": "%",
         "estimate_mae": "s"}

#: Headline figures of the report: key, how to read it from the figures, whether higher is better.
HEADLINE = [
    ("issued", lambda f: f["issued"], None),
    ("served", lambda f: f["served"], None),
    ("wait_avg", lambda f: f["wait_s"]["avg"], False),
    ("wait_p90", lambda f: f["wait_s"]["p90"], False),
    ("within_pct", lambda f: f["served_within_target_pct"], True),
    ("no_show", lambda f: f["no_show"], False),
    ("satisfied_pct", lambda f: f["satisfaction"]["satisfied_pct"], True),
    ("rating_avg", lambda f: f["satisfaction"]["average"], True),
    ("utilisation_pct", lambda f: f["utilisation_pct"], None),
    ("estimate_mae", lambda f: f["estimate"]["mae_s"], False),
]


def _trend(now: float | None, before: float | None, higher_is_better: bool | None) -> dict[str, Any]:
    if now is None or before is None:
        return {"change": None, "better": None}
    change = round(now - before, 1)
    better = None if higher_is_better is None or change == 0 else (change > 0) == higher_is_better
    return {"change": change, "better": better}


def monthly_report(hall: Hall, month: Month, lang: str) -> dict[str, Any]:
    """Everything the one-page monthly report shows."""
    this = figures(Filters(hall.id, month.first, month.last))[0]
    before = figures(Filters(hall.id, month.previous().first, month.previous().last))[0]
    headline = []
    for key, read, higher in HEADLINE:
        headline.append({"key": key, "value": read(this), "previous": read(before),
                         **_trend(read(this), read(before), higher)})
    by_service = figures(Filters(hall.id, month.first, month.last), by="service")
    names = labels(hall.id, "service", by_service.keys(), lang)
    services = [{"service": names.get(key, "—"), "issued": f["issued"], "served": f["served"],
                 "within_pct": f["served_within_target_pct"], "wait_p90": f["wait_s"]["p90"],
                 "satisfied_pct": f["satisfaction"]["satisfied_pct"]}
                for key, f in by_service.items() if f["served"]]
    worst = sorted(services, key=lambda s: (s["within_pct"], -(s["wait_p90"] or 0)))[:WORST_SERVICES]
    days = figures(Filters(hall.id, month.first, month.last), by="day")
    late_stages = sorted((r for r in stage_rows(Filters(hall.id, month.first, month.last)) if r["over_limit_pct"]),
                         key=lambda r: -r["over_limit_pct"])[:5]
    return {
        "hall": hall, "month": str(month), "previous_month": str(month.previous()), "figures": this,
        "headline": headline, "worst_services": worst, "services": services,
        "days": [{"day": d, "served": days[d]["served"] if d in days else 0}
                 for d in (month.first + timedelta(days=n) for n in range(month.last.day))],
        "late_stages": late_stages, "target_pct": this["satisfaction"]["target_pct"],
        "rating_levels": [{"level": level, "label": str(LEVELS[level]), "count": count}
                          for level, count in rating_levels(hall.id, month.first, month.last).items()],
        "aspects": [{"code": code, "label": str(ASPECTS[code]), **given}
                    for code, given in aspect_averages(hall.id, month.first, month.last).items()],
        "complaints": complaint_figures(hall, month.first, month.last),
        "counter_ranking": ranking(hall.id, month.first, month.last, "counter", lang),
        "staff_ranking": ranking(hall.id, month.first, month.last, "staff", lang),
    }
