"""Complaint cases opened by bad ratings (好差评 差评整改): the supervisor's list and case pages."""
from flask import Blueprint

from hall.clock import local_minute

bp = Blueprint("complaints", __name__, template_folder="templates")
bp.add_app_template_filter(local_minute, "hall_minute")

from hall.complaints import views  # noqa: E402,F401  (routes register on bp)
