"""The supervisor's complaint list and case page; the same steps are JSON under /api/v1 (hall/api/complaints.py)."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from hall.auth import role_required
from hall.complaints import bp
from hall.complaints.cases import advance, case_of, case_view, close, list_cases
from hall.models import CASE_STATUSES
from hall.queue.errors import QueueError
from hall.queue.lookup import hall_by_slug
from hall.ratings import ASPECTS, LEVELS, REASONS
from hall.validation import CheckedForm


STATUS_LABELS = {"open": _l("Awaiting contact"), "contacted": _l("Contacted"), "rectified": _l("Rectified"),
                 "closed": _l("Case closed")}


class StepForm(CheckedForm):
    step = SelectField(_l("Step"), choices=[SelectChoice("contact", _l("Visitor contacted (return visit)")),
                                            SelectChoice("rectify", _l("Rectified")),
                                            SelectChoice("close", _l("Close the case")),
                                            SelectChoice("mistaken", _l("Close as a mistaken rating (after review)"))])
    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=2000)])


def _next_steps(status: str) -> list[str]:
    """What the form offers for a case in `status`."""
    return {"open": ["contact", "mistaken"], "contacted": ["rectify", "mistaken"],
            "rectified": ["close", "mistaken"]}.get(status, [])


@bp.get("/complaints/<hall>")
@role_required("supervisor")
def complaint_list(hall: str):
    record = hall_by_slug(hall)
    status = request.args.get("status") if request.args.get("status") in CASE_STATUSES else None
    cases = [case_view(case, record) for case in list_cases(record.id, status)]
    return render_template("complaints/list.html", hall=record, cases=cases, status=status,
                           statuses=CASE_STATUSES, levels=LEVELS, labels=STATUS_LABELS)


@bp.route("/complaints/<hall>/<int:case_id>", methods=["GET", "POST"])
@role_required("supervisor")
def complaint_case(hall: str, case_id: int):
    record = hall_by_slug(hall)
    case = case_of(record.id, case_id)
    form = StepForm()
    form.step.choices = [c for c in form.step.choices if c.value in _next_steps(case.status)]
    error = None
    if form.validate_on_submit():
        try:
            if form.step.data in ("contact", "rectify"):
                advance(case, form.step.data, form.note.data, current_user)
            else:
                close(case, form.note.data, current_user, "mistaken" if form.step.data == "mistaken" else "resolved")
            return redirect(url_for("complaints.complaint_case", hall=hall, case_id=case_id))
        except QueueError as exc:
            error = exc.message
    status = 400 if form.is_submitted() else 200
    return render_template("complaints/case.html", hall=record, case=case_view(case, record), form=form,
                           error=error, levels=LEVELS, aspects=ASPECTS, reasons=REASONS,
                           labels=STATUS_LABELS), status
