"""What a report selects: a hall, a range of business days, optional filters, and how rows group."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func

DIMENSIONS = ("day", "hour", "service", "counter", "staff")
COLUMN = {"day": "day", "hour": "hour", "service": "service_id", "counter": "counter_id", "staff": "staff_id"}


@dataclass(frozen=True)
class Filters:
    hall_id: int
    first: date
    last: date
    service_id: int | None = None
    counter_id: int | None = None
    staff_id: int | None = None
    hour: int | None = None

    def named(self) -> dict[str, int]:
        """The dimensions the selection is narrowed to, with their values."""
        values = {"service": self.service_id, "counter": self.counter_id, "staff": self.staff_id, "hour": self.hour}
        return {name: value for name, value in values.items() if value is not None}

    def where(self, model) -> list:
        conditions = [model.hall_id == self.hall_id, model.day >= self.first, model.day <= self.last]
        for name, value in self.named().items():
            conditions.append(getattr(model, COLUMN[name]) == value)
        return conditions


def grouped(model, column: str | None, query: Select) -> Select:
    """The query with the group key as its last column (0 for the whole selection)."""
    if column is None:
        return query.add_columns(func.min(0).label("g"))  # one group for the whole selection
    key = getattr(model, COLUMN[column])
    return query.add_columns(key.label("g")).group_by(key)
