"""Complaint cases opened by bad ratings (好差评 差评整改): the supervisor's list and case pages."""
from flask import Blueprint

bp = Blueprint("complaints", __name__, template_folder="templates")

from hall.complaints import views  # noqa: E402,F401  (routes register on bp)
