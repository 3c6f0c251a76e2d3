"""The figures of a simulated day, computed by the reports' own code (hall.reports.engine)."""
from __future__ import annotations

from datetime import date
from typing import Any

from hall.reports.engine import Filters, figures

#: Names of `flask hall simulate --json` (a public contract) and of the what-if page.
FIELDS = ("counters", "issued", "served", "wait_avg_s", "wait_p90_s", "served_within_limit_pct", "utilisation_pct",
          "estimate_mae_pct")


def day_figures(hall_id: int, day: date, staffing: dict[str, int]) -> dict[str, Any]:
    """One option's figures: the report's figures of the day under the simulator's names."""
    report = figures(Filters(hall_id, day, day))[0]
    wait = report["wait_s"]
    mae = report["estimate"]["mae_s"]
    return {
        "counters": staffing, "issued": report["issued"], "served": report["served"],
        "no_show": report["no_show"], "not_served": report["not_served"],
        "wait_avg_s": wait["avg"], "wait_p50_s": wait["p50"], "wait_p90_s": wait["p90"], "wait_max_s": wait["max"],
        "served_within_limit_pct": report["served_within_target_pct"],
        "utilisation_pct": report["utilisation_pct"],
        "estimate_mae_s": mae,
        "estimate_mae_pct": round(100 * mae / wait["avg"], 1) if mae is not None and wait["avg"] else None,
    }
