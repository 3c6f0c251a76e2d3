"""Validated request bodies of the API (pydantic); their JSON Schemas feed the OpenAPI document."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class IssueTicket(Body):
    service: str = Field(min_length=1, max_length=4, description="service prefix, e.g. A")
    priority: Literal["normal", "appointment", "priority", "vip"] = "normal"
    channel: Literal["kiosk", "web", "staff"] = "kiosk"
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=80,
                                        description="same key → same ticket (a kiosk retrying one tap)")


class CheckIn(Body):
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=80,
                                        description="same key → same ticket (a kiosk retrying one scan)")


class MissingMaterials(Body):
    items: list[str] = Field(default_factory=list, max_length=50)
    note: str = Field(default="", max_length=2000)


class Finish(Body):
    outcome: Literal["done", "incomplete", "rejected"] = "done"
    missing: MissingMaterials | None = Field(default=None, description="one-time notice of what is missing")


class Transfer(Body):
    service: str | None = Field(default=None, min_length=1, max_length=4)
    stage: str | None = Field(default=None, min_length=1, max_length=30)
    counter: int | None = Field(default=None, ge=1)
    keep_place: bool = True
    note: str = Field(default="", max_length=500)


class CallNumber(Body):
    number: str = Field(min_length=2, max_length=12)
