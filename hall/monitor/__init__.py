"""Live monitor of a hall for the supervisor (DESIGN §7, issue #7)."""
from flask import Blueprint

bp = Blueprint("monitor", __name__, template_folder="templates")

from hall.monitor import views  # noqa: E402,F401  (routes register on bp)
