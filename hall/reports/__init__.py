"""Supervisor reports: facts, figures, tables, exports, the monthly report and their pages."""
from flask import Blueprint

bp = Blueprint("reports", __name__, template_folder="templates")

from hall.reports import views, whatif  # noqa: E402,F401  (routes register on bp)
