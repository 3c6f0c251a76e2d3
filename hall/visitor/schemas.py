"""Request bodies of the visitor API."""
from __future__ import annotations

from datetime import date, time
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from hall.api.schemas import Body
from hall.ratings import REASONS

PHONE_PATTERN = r"^\+?[0-9][0-9 \-]{4,19}$"

#: A phone number as visitors type it; spaces and dashes are dropped.
Phone = Annotated[str, Field(pattern=PHONE_PATTERN, description="digits, optionally +, spaces or dashes"),
                  AfterValidator(lambda value: value.replace(" ", "").replace("-", ""))]


class Booking(Body):
    service: str = Field(min_length=1, max_length=4, description="service prefix, e.g. B")
    day: date = Field(description="YYYY-MM-DD")
    slot: time = Field(description="slot start, HH:MM")
    name: str = Field(min_length=1, max_length=60)
    phone: Phone
    id_number: str | None = Field(default=None, max_length=40, description=(
        "resident ID number, for services with real-name tickets (counts against the daily limit per person)"))


class Rating(Body):
    rating: int = Field(ge=1, le=5, description="5 very satisfied … 1 very dissatisfied")
    reasons: list[str] = Field(default_factory=list, max_length=len(REASONS),
                               json_schema_extra={"items": {"type": "string", "enum": list(REASONS)}})
    comment: str = Field(default="", max_length=500)
    efficiency: int | None = Field(default=None, ge=1, le=5, description="服务效率 service efficiency, 1–5")
    competence: int | None = Field(default=None, ge=1, le=5, description="服务水平 service competence, 1–5")
    attitude: int | None = Field(default=None, ge=1, le=5, description="服务态度 service attitude, 1–5")

    def aspects(self) -> dict[str, int | None]:
        return {"efficiency": self.efficiency, "competence": self.competence, "attitude": self.attitude}

    @field_validator("reasons")
    @classmethod
    def known_reasons(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(REASONS))
        if unknown:
            raise ValueError(f"unknown reasons {', '.join(unknown)}; choose from {', '.join(REASONS)}")
        return list(dict.fromkeys(value))


class PadRating(Rating):
    number: str = Field(min_length=2, max_length=12, description="the ticket number the pad was asked to rate")


class NotifyContact(Body):
    phone: Phone
