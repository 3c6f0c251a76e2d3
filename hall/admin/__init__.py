"""Administration of a hall: settings, services, counters, staff, devices, notices (admin role)."""
from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates")

from hall.admin import views  # noqa: E402,F401  (routes register on bp)
