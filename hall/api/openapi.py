"""The OpenAPI 3 document of /api/v1, built from the routes' table and the pydantic bodies."""
from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import jsonify
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

from hall.api import bp
from hall.api.schemas import CallNumber, CheckIn, Finish, IssueTicket, Transfer
from hall.validation import MAX_INT, NONBLANK_TEXT_PATTERN, TEXT_PATTERN

ERROR = {"type": "object", "required": ["error", "message"],
         "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}
TICKET_FIELDS = ["id", "number", "token", "service", "status", "people_ahead", "estimated_wait_s", "issued_at"]
ERRORS_OF_EVERY_OPERATION = ("400", "404", "409", "422", "503")
ERRORS_OF_A_ROLE = ("401", "403")
ERRORS_OF_A_BODY = ("413", "415")
REF_TEMPLATE = "#/components/schemas/{model}"
INTEGER_PARAMETERS = ("number", "case_id")

# path, method, summary, body model, staff role needed, statuses: its success codes and the error
# codes it has beyond those of every operation (ERRORS_OF_EVERY_OPERATION, 401/403 with a role, 413/415
# with a body)
ROUTES: list[tuple[str, str, str, Any, str | None, tuple[str, ...]]] = [
    ("/halls/{hall}/services", "get", "Active services with waiting count and estimated wait", None, None, ("200",)),
    ("/halls/{hall}/clock", "get", "Server time and the hall's time zone (screens show hall time)", None, None,
     ("200",)),
    ("/halls/{hall}/tickets", "post", "Issue a ticket", IssueTicket, None, ("201", "200", "401", "403")),
    ("/halls/{hall}/appointments/{code}/check-in", "post",
     "Check in an appointment due now: an appointment-priority ticket", CheckIn, None, ("201", "200")),
    ("/tickets/{token}", "get", "Public status of one ticket", None, None, ("200",)),
    ("/halls/{hall}/queue", "get", "Waiting count and tickets per service", None, None, ("200",)),
    ("/halls/{hall}/events", "get", "Calls of the day after ?since=<seq> (a screen catching up), with the "
     "public snapshot", None, None, ("200",)),
    ("/halls/{hall}/counters/{number}/call-next", "post", "Call the next ticket", None, "staff", ("200", "204")),
    ("/halls/{hall}/counters/{number}/call", "post", "Call a given number", CallNumber, "staff", ("200",)),
    ("/halls/{hall}/counters/{number}/recall", "post", "Repeat the call", None, "staff", ("200",)),
    ("/halls/{hall}/counters/{number}/start", "post", "Start handling", None, "staff", ("200",)),
    ("/halls/{hall}/counters/{number}/finish", "post", "Finish the current stage", Finish, "staff", ("200",)),
    ("/halls/{hall}/counters/{number}/no-show", "post", "Mark the called ticket no-show", None, "staff", ("200",)),
    ("/halls/{hall}/counters/{number}/transfer", "post", "Transfer to a service, stage or counter", Transfer,
     "staff", ("200",)),
    ("/halls/{hall}/counters/{number}/pause", "post", "Pause the counter", None, "staff", ("200",)),
    ("/halls/{hall}/counters/{number}/open", "post", "Open the counter", None, "staff", ("200",)),
    ("/halls/{hall}/counters/{number}/close", "post", "Close the counter", None, "staff", ("200",)),
    ("/halls/{hall}/tickets/{ticket_number}/reinstate", "post", "Reinstate a no-show", None, "staff", ("200",)),
    ("/halls/{hall}/stats/summary", "get", "Headline figures over ?from=&to= (YYYY-MM-DD)", None, "supervisor",
     ("200",)),
]


class TextJsonSchema(GenerateJsonSchema):
    """Free text as the API takes it: no control characters, and not blank where it may not be empty."""

    def str_schema(self, schema) -> dict[str, Any]:
        json_schema = super().str_schema(schema)
        if "pattern" not in json_schema and "format" not in json_schema:
            json_schema["pattern"] = NONBLANK_TEXT_PATTERN if json_schema.get("minLength") else TEXT_PATTERN
        return json_schema


def body_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    """A body model's JSON Schema; the models it nests go to the document's components."""
    schema = model.model_json_schema(ref_template=REF_TEMPLATE, schema_generator=TextJsonSchema)
    components.update(schema.pop("$defs", {}))
    return schema


def _parameters(path: str) -> list[dict]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [{"name": n, "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 0, "maximum": MAX_INT} if n in INTEGER_PARAMETERS
             else {"type": "string"}}
            for n in names]


def _operation(summary: str, model, role: str | None, codes: tuple[str, ...], components: dict[str, Any]) -> dict:
    responses: dict[str, Any] = {}
    for code in sorted(c for c in codes if c.startswith("2")):
        responses[code] = {"description": "no ticket waiting" if code == "204" else "OK"}
        if code != "204":
            responses[code]["content"] = {"application/json": {"schema": {"type": "object"}}}
    errors = {*ERRORS_OF_EVERY_OPERATION, *(c for c in codes if not c.startswith("2")),
              *(ERRORS_OF_A_ROLE if role else ()), *(ERRORS_OF_A_BODY if model is not None else ())}
    for code in sorted(errors):
        responses[code] = {"description": HTTPStatus(int(code)).phrase,
                           "content": {"application/json": {"schema": ERROR}}}
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if model is not None:
        operation["requestBody"] = {"required": model not in (Finish, Transfer, CheckIn),
                                    "content": {"application/json": {"schema": body_schema(model, components)}}}
    if role:
        operation["security"] = [{"bearer": []}]
        operation["description"] = f"Needs a {role} (bearer token from `flask hall token create <login>`)."
    return operation


def document() -> dict[str, Any]:
    paths: dict[str, dict] = {}
    components: dict[str, Any] = {}
    for path, method, summary, model, role, codes in ROUTES:
        entry = paths.setdefault(path, {"parameters": _parameters(path)})
        entry[method] = _operation(summary, model, role, codes, components)
    paths["/halls/{hall}/tickets"]["post"]["responses"]["201"]["content"]["application/json"]["schema"] = {
        "type": "object", "required": TICKET_FIELDS, "properties": {f: {} for f in TICKET_FIELDS}}
    paths["/halls/{hall}/events"]["get"]["parameters"] = [
        {"name": "since", "in": "query", "required": True, "description": "the last sequence number the screen applied",
         "schema": {"type": "integer", "minimum": 0, "maximum": MAX_INT}}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hall API", "version": "1", "description": "Queue and counter management of a hall."},
        "servers": [{"url": "/api/v1"}],
        "components": {"schemas": components, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())
