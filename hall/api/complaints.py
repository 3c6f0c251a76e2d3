"""Supervisor API of complaint cases: the list, a case, and its steps (return visit, rectification, closing)."""
from __future__ import annotations

from typing import Literal

from flask import jsonify, request
from flask_login import current_user
from pydantic import Field

from hall.api import bp, body
from hall.api.openapi import ROUTES
from hall.api.schemas import Body
from hall.auth import role_required
from hall.complaints.cases import advance, case_of, case_view, close, list_cases
from hall.models import CASE_STATUSES
from hall.queue.errors import QueueError
from hall.queue.lookup import hall_by_slug


class CaseNote(Body):
    note: str = Field(min_length=1, max_length=2000, description="what was done (回访 / 整改 / 结案 note)")


class CaseClose(CaseNote):
    reason: Literal["resolved", "mistaken"] = Field(
        default="resolved", description="resolved once rectified; mistaken: a mistaken rating after review (申诉复核)")


@bp.get("/halls/<hall>/complaints")
@role_required("supervisor")
def complaints(hall: str):
    record = hall_by_slug(hall)
    status = request.args.get("status") or None
    if status is not None and status not in CASE_STATUSES:
        raise QueueError(f"status must be one of {', '.join(CASE_STATUSES)}")
    return jsonify({"complaints": [case_view(case, record) for case in list_cases(record.id, status)]})


@bp.get("/halls/<hall>/complaints/<int:case_id>")
@role_required("supervisor")
def complaint(hall: str, case_id: int):
    record = hall_by_slug(hall)
    return jsonify(case_view(case_of(record.id, case_id), record))


@bp.post("/halls/<hall>/complaints/<int:case_id>/contact", defaults={"step": "contact"})
@bp.post("/halls/<hall>/complaints/<int:case_id>/rectify", defaults={"step": "rectify"})
@role_required("supervisor")
def complaint_step(hall: str, case_id: int, step: str):
    record = hall_by_slug(hall)
    data = body(CaseNote)
    return jsonify(case_view(advance(case_of(record.id, case_id), step, data.note, current_user), record))


@bp.post("/halls/<hall>/complaints/<int:case_id>/close")
@role_required("supervisor")
def complaint_close(hall: str, case_id: int):
    record = hall_by_slug(hall)
    data = body(CaseClose)
    return jsonify(case_view(close(case_of(record.id, case_id), data.note, current_user, data.reason), record))


ROUTES.extend([
    ("/halls/{hall}/complaints", "get", "Complaint cases opened by bad ratings (?status=open|contacted|rectified|closed)",
     None, "supervisor", ("200",)),
    ("/halls/{hall}/complaints/{case_id}", "get", "One complaint case with its history", None, "supervisor",
     ("200",)),
    ("/halls/{hall}/complaints/{case_id}/contact", "post", "Record the return visit (回访) of a case", CaseNote,
     "supervisor", ("200",)),
    ("/halls/{hall}/complaints/{case_id}/rectify", "post", "Record the rectification (整改) of a case", CaseNote,
     "supervisor", ("200",)),
    ("/halls/{hall}/complaints/{case_id}/close", "post", "Close a case (resolved, or mistaken after review)",
     CaseClose, "supervisor", ("200",)),
])
