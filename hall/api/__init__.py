"""REST API /api/v1: JSON in and out."""
from __future__ import annotations

from typing import Any, TypeVar

import ujson
from flask import Blueprint, Response, abort, current_app, jsonify, request
from flask_login import current_user
from pydantic import BaseModel, ValidationError

from hall.auth import csrf_exempt_for_bearer
from hall.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

Model = TypeVar("Model", bound=BaseModel)


@bp.before_request
def protect_cookie_sessions() -> None:
    """Bearer calls need no CSRF token; calls riding a staff session cookie do. A call without
    cookies rides no session: it is let through before the caller is looked up."""
    if "HTTP_COOKIE" in request.environ and request.method in {"POST", "PUT", "PATCH", "DELETE"} \
            and not csrf_exempt_for_bearer() and current_user.is_authenticated:
        csrf.protect()


def _parsed_json():
    """The JSON body, or None when it is not JSON; nesting past Python's recursion limit is refused."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        abort(400, description="the body is nested too deeply")


def body(model: type[Model]) -> Model:
    """The request's JSON body validated against a model (an empty body means {}).

    A body the model takes as it is (nearly every one) is parsed and validated in one go by pydantic's own
    JSON reader, in half the time of Python's parser and then the model's. Any other (not JSON, not an
    object, not UTF-8, a field refused...) takes the general way, which answers why as before."""
    if not request.content_length:  # parsed from the headers at each look: looked at once
        data = {}
    elif not request.is_json:
        abort(415, description="send the body as application/json")
    else:
        try:
            return model.model_validate_json(request.get_data(cache=True))
        except ValidationError:
            data = _parsed_json()
    if data is None:
        abort(400, description="the body is not valid JSON")
    if not isinstance(data, dict):
        abort(400, description="the body must be a JSON object")
    return model.model_validate(data)


def plain_json(view: dict[str, Any], status: int) -> tuple[Response, int]:
    """`jsonify(view), status` for a view made only of str, int, bool, None, lists and dicts (a ticket's
    view), written by ujson's encoder in a third of the time the stdlib's takes for an issue's 25 fields
    (the stdlib's was the largest single item of an issue's CPU): the same bytes (compact, keys sorted,
    non-ASCII escaped), but for the DEL character, which ujson leaves as it is (the same JSON). A view
    holding anything else (a date, a Decimal) goes through `jsonify`, which converts those as Flask
    does; so does every answer while the app's JSON is not compact (debug)."""
    provider = current_app.json
    if provider.compact is False or (provider.compact is None and current_app.debug):
        return jsonify(view), status
    text = ujson.dumps(view, sort_keys=provider.sort_keys, ensure_ascii=provider.ensure_ascii,
                       escape_forward_slashes=False)
    return current_app.response_class(f"{text}\n", mimetype=provider.mimetype), status


from hall.api import (checkin, complaints, counters, events, openapi, public, stats,  # noqa: E402,F401
                      supervision)  # routes register on bp
