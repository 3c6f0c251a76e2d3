"""Web pages: index and staff sign-in. Screen blueprints (counter, monitor, admin) live beside it."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__, template_folder="templates", static_folder="../static",
               static_url_path="/static")

from hall.web import auth_views, index  # noqa: E402,F401  (routes register on bp)
