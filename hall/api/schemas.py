"""Validated request bodies of the API (pydantic); their JSON Schemas feed the OpenAPI document."""
from __future__ import annotations

from typing import Any, Literal

from annotated_types import MinLen
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.fields import FieldInfo

from hall.validation import MAX_INT, refuse_control_characters


class Body(BaseModel):
    """A request body. Unknown fields and control characters in any text are refused; lengths and
    patterns are checked on the text as sent (as the OpenAPI document says), then the text is
    trimmed, and a field that must not be empty must not be blank either."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def plain_text(cls, value: Any, info: ValidationInfo) -> Any:
        refuse_control_characters(value)
        value = trimmed(value)
        if value == "" and min_length(cls.model_fields[info.field_name]):
            raise ValueError("must not be blank")
        return value


def trimmed(value: Any) -> Any:
    """Text without surrounding whitespace, also inside lists."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [trimmed(item) for item in value]
    return value


def min_length(field: FieldInfo) -> int:
    return next((rule.min_length for rule in field.metadata if isinstance(rule, MinLen)), 0)


class IssueTicket(Body):
    service: str = Field(min_length=1, max_length=4, description="service prefix, e.g. A")
    priority: Literal["normal", "appointment", "priority", "vip"] = "normal"
    channel: Literal["kiosk", "web", "staff"] = "kiosk"
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=80,
                                        description="same key → same ticket (a kiosk retrying one tap)")
    id_number: str | None = Field(default=None, max_length=40, description=(
        "the visitor's 18-character resident ID number (GB 11643), for services with real-name tickets; "
        "kept only as a keyed hash (daily limit per person) and masked (3201**********123X)"))


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
    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": [name], "properties": {name: {"type": kind}}}
        for name, kind in (("service", "string"), ("stage", "string"), ("counter", "integer"))]})

    service: str | None = Field(default=None, min_length=1, max_length=4)
    stage: str | None = Field(default=None, min_length=1, max_length=30)
    counter: int | None = Field(default=None, ge=1, le=MAX_INT)
    keep_place: bool = True
    note: str = Field(default="", max_length=500)


class CallNumber(Body):
    number: str = Field(min_length=2, max_length=12)
