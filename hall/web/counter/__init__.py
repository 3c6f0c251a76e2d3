"""Counter staff screen: choose a counter, then call, serve, transfer and finish tickets."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("counter", __name__, url_prefix="/counter", template_folder="templates",
               static_folder="static", static_url_path="/static")

from hall.web.counter import presence, views  # noqa: E402,F401  (routes and hooks register on bp)
