"""The visitor's side: appointments, the phone ticket page, satisfaction ratings, notifications."""
from __future__ import annotations

from flask import Blueprint, Flask

from hall.api import protect_cookie_sessions
from hall.extensions import csrf

bp = Blueprint("visitor", __name__, template_folder="templates", static_folder="static",
               static_url_path="/visitor/static")
api = Blueprint("visitor_api", __name__, url_prefix="/api/v1")
csrf.exempt(api)
api.before_request(protect_cookie_sessions)

from hall.visitor import api_booking, api_tickets, openapi, pages  # noqa: E402,F401  (routes register on the blueprints)


def init_visitor(app: Flask) -> None:
    """Register the pages and API routes, and the notifier as an engine subscriber."""
    from hall.visitor.notify.hooks import init_notify

    app.register_blueprint(bp)
    app.register_blueprint(api)
    init_notify(app)
