"""Headline figures of a hall over a range of business days (the /stats/summary contract)."""
from __future__ import annotations

from datetime import date
from typing import Any

from hall.reports.engine import Filters, figures

SUMMARY_FIELDS = ("issued", "served", "no_show", "cancelled", "not_served", "waiting", "wait_s", "handling_s",
                  "served_within_target_pct")


def summary(hall_id: int, first: date, last: date) -> dict[str, Any]:
    result = figures(Filters(hall_id, first, last))[0]
    handling = {code: {k: v for k, v in stage.items() if k != "over_limit"}
                for code, stage in result["handling_s"].items()}
    return {"from": first.isoformat(), "to": last.isoformat(),
            **{name: result[name] for name in SUMMARY_FIELDS}, "handling_s": handling}
