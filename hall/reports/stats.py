"""Statistics helpers with one stated definition."""
from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float | None:
    """Percentile by linear interpolation between closest ranks (numpy's default,
    PostgreSQL's percentile_cont): rank = p/100 × (n − 1) on the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = p / 100 * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def describe(values: Sequence[float]) -> dict[str, float | None]:
    """avg / p50 / p90 / max, rounded to 0.1 s; None where there are no values."""
    if not values:
        return {"count": 0, "avg": None, "p50": None, "p90": None, "max": None}
    return {"count": len(values), "avg": round(sum(values) / len(values), 1),
            "p50": round(percentile(values, 50), 1), "p90": round(percentile(values, 90), 1),
            "max": round(max(values), 1)}


def percentile_of_counts(counts: Sequence[tuple[float, int]], p: float) -> float | None:
    """The same percentile over a histogram of (value, how many), values ascending."""
    total = sum(n for _, n in counts)
    if not total:
        return None
    rank = p / 100 * (total - 1)
    low, high = math.floor(rank), math.ceil(rank)
    low_value = high_value = None
    seen = 0
    for value, n in counts:
        if low_value is None and low < seen + n:
            low_value = value
        if high < seen + n:
            high_value = value
            break
        seen += n
    return low_value + (high_value - low_value) * (rank - low)


def describe_counts(counts: Sequence[tuple[float, int]]) -> dict[str, float | None]:
    """`describe` over a histogram of (value, how many)."""
    ordered = sorted(counts)
    total = sum(n for _, n in ordered)
    if not total:
        return {"count": 0, "avg": None, "p50": None, "p90": None, "max": None}
    return {"count": total, "avg": round(sum(v * n for v, n in ordered) / total, 1),
            "p50": round(percentile_of_counts(ordered, 50), 1), "p90": round(percentile_of_counts(ordered, 90), 1),
            "max": round(ordered[-1][0], 1)}
