"""Every API failure is JSON: {"error": code, "message": text} with a 4xx status."""
from __future__ import annotations

from flask import Flask, jsonify
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from hall.queue.errors import QueueError
from hall.error_pages import html_error, wants_json


def json_error(status: int, code: str, message: str, **details):
    response = jsonify({"error": code, "message": message, **details})
    response.status_code = status
    return response


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(QueueError)
    def queue_error(exc: QueueError):
        return json_error(exc.status, exc.code, exc.message, **exc.details)

    @app.errorhandler(ValidationError)
    def validation_error(exc: ValidationError):
        return json_error(422, "invalid", _validation_message(exc),
                          fields=[{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()])

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if not wants_json():
            return html_error(exc)
        return http_json_error(exc)


def http_json_error(exc: HTTPException):
    """An HTTP error as API JSON, keeping the headers the error carries (Allow on a 405,
    Retry-After on a 429 or 503)."""
    code = (exc.name or "error").lower().replace(" ", "_")
    response = json_error(exc.code or 400, code, exc.description or exc.name)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
