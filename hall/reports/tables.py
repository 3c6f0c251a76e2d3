"""Report tables: the same rows for the page, CSV and XLSX."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from hall.extensions import db
from hall.models import Hall
from hall.ratings import LEVELS
from hall.reports.complaints import COMPLAINT_LABELS, complaint_figures, rating_levels
from hall.reports.engine import DIMENSIONS, Filters, figures, labels, stage_rows

#: Table name → title; `summary` is the whole selection, `stage` the handling per stage.
TABLES = {"summary": _l("Summary"), "day": _l("By day"), "hour": _l("By hour of day"), "service": _l("By service"),
          "counter": _l("By counter"), "staff": _l("By staff"), "stage": _l("Handling time per stage")}

FIGURE_COLUMNS = [
    ("issued", _l("Issued")), ("served", _l("Served")), ("no_show", _l("No-show")), ("cancelled", _l("Cancelled")),
    ("not_served", _l("Not served")), ("wait_avg", _l("Wait avg (s)")), ("wait_p50", _l("Wait p50 (s)")),
    ("wait_p90", _l("Wait p90 (s)")), ("wait_max", _l("Wait max (s)")),
    ("within_pct", _l("Served within committed time (%)")), ("throughput", _l("Served per hour")),
    ("utilisation_pct", _l("Utilisation (%)")), ("ratings", _l("Ratings")), ("rating_avg", _l("Average rating")),
    ("satisfied_pct", _l("Satisfied (%)")), ("estimate_mae", _l("Estimate error (s)")),
]
STAGE_COLUMNS = [
    ("service", _l("Service")), ("stage", _l("Stage")), ("count", _l("Passes")), ("avg", _l("Handling avg (s)")),
    ("p50", _l("Handling p50 (s)")), ("p90", _l("Handling p90 (s)")), ("max", _l("Handling max (s)")),
    ("limit_s", _l("Limit (s)")), ("over_limit_pct", _l("Over limit (%)")),
]


@dataclass
class Table:
    name: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[list[Any]]

    def column(self, key: str) -> list[Any]:
        index = [k for k, _ in self.columns].index(key)
        return [row[index] for row in self.rows]


def figure_values(f: dict[str, Any]) -> list[Any]:
    wait, rating = f["wait_s"], f["satisfaction"]
    return [f["issued"], f["served"], f["no_show"], f["cancelled"], f["not_served"], wait["avg"], wait["p50"],
            wait["p90"], wait["max"], f["served_within_target_pct"], f["throughput_per_hour"], f["utilisation_pct"],
            rating["count"], rating["average"], rating["satisfied_pct"], f["estimate"]["mae_s"]]


def breakdown_table(filters: Filters, by: str | None, lang: str) -> Table:
    results = figures(filters, by)
    names = labels(filters.hall_id, by, results.keys(), lang) if by else {0: str(_l("All"))}
    rows = [[names.get(key, "—") if key is not None else "—", *figure_values(f)] for key, f in results.items()]
    first_column = ("group", str(TABLES[by] if by else _l("Selection")))
    return Table(by or "summary", str(TABLES[by or "summary"]), [first_column] +
                 [(k, str(label)) for k, label in FIGURE_COLUMNS], rows)


def stage_table(filters: Filters, lang: str) -> Table:
    rows = []
    for r in stage_rows(filters):
        service = r["service_name_en"] if lang == "en" and r["service_name_en"] else r["service_name_zh"]
        stage = r["stage_name_en"] if lang == "en" and r["stage_name_en"] else r["stage_name_zh"]
        rows.append([f"{r['service']} {service}", stage, r["count"], r["avg"], r["p50"], r["p90"], r["max"],
                     r["limit_s"], r["over_limit_pct"]])
    return Table("stage", str(TABLES["stage"]), [(k, str(label)) for k, label in STAGE_COLUMNS], rows)


def report_table(filters: Filters, name: str, lang: str) -> Table:
    if name not in TABLES:
        raise KeyError(name)
    if name == "stage":
        return stage_table(filters, lang)
    return breakdown_table(filters, None if name == "summary" else name, lang)


def complaints_table(filters: Filters) -> Table:
    """好差评 of the selection's days: visits rated per level, then the complaint case figures."""
    hall = db.session.get(Hall, filters.hall_id)
    levels = rating_levels(hall.id, filters.first, filters.last)
    cases = complaint_figures(hall, filters.first, filters.last)
    rows = [[f"{level} {LEVELS[level]}", count] for level, count in levels.items()] + \
        [[str(label), cases[key]] for key, label in COMPLAINT_LABELS.items()]
    return Table("complaints", str(_l("Ratings and complaint cases")),
                 [("figure", str(_l("Figure"))), ("value", str(_l("Value")))], rows)


def all_tables(filters: Filters, lang: str) -> list[Table]:
    return [*(report_table(filters, name, lang) for name in ("summary", *DIMENSIONS, "stage")),
            complaints_table(filters)]
