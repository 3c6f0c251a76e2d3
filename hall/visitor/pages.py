"""Visitor pages: booking, an appointment by code, the staff's day list, the phone ticket page, the rating pad."""
from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from hall.api.public import public_ticket_view
from hall.api.stats import date_arg
from hall.auth import role_required
from hall.extensions import db, login
from hall.models import Service
from hall.queue.booking import appointment_by_code, closed_reason, local_today, normalise_code
from hall.queue.errors import NotFound
from hall.queue.lookup import counter_by_number, hall_by_slug, ticket_by_token
from hall.visitor import bp
from hall.visitor.api_booking import day_list, public_view
from hall.visitor.api_tickets import rating_pad
from hall.visitor.feedback import choices, has_rated
from hall.visitor.qr import qr_svg


def _hall_or_404(slug: str):
    try:
        return hall_by_slug(slug)
    except NotFound:
        abort(404)


def _bookable_days(hall) -> list[dict]:
    first = local_today(hall)
    days = [first.fromordinal(first.toordinal() + n)
            for n in range(current_app.config["HALL"]["booking"]["days_ahead"] + 1)]
    return [{"day": d.isoformat(), "date": d, "closed": closed_reason(hall, d)} for d in days]


@bp.get("/book/<hall>")
def book(hall: str):
    record = _hall_or_404(hall)
    services = [s for s in record.services if s.active and s.stages]
    return render_template("visitor/book.html", hall=record, services=services, days=_bookable_days(record),
                           lang=str(get_locale()))


@bp.get("/book/<hall>/find")
def find_appointment(hall: str):
    code = normalise_code(request.args.get("code", ""))
    return redirect(url_for("visitor.appointment", hall=hall, code=code) if code else url_for("visitor.book", hall=hall))


@bp.get("/book/<hall>/a/<code>")
def appointment(hall: str, code: str):
    record = _hall_or_404(hall)
    try:
        found = appointment_by_code(code)
    except NotFound:
        found = None
    if found is None or found.hall_id != record.id:
        return render_template("visitor/appointment.html", hall=record, appointment=None, code=code), 404
    return render_template("visitor/appointment.html", hall=record, appointment=public_view(found),
                           qr=qr_svg(found.code), lang=str(get_locale()))


@bp.get("/book/<hall>/day")
def day(hall: str):
    if not current_user.is_authenticated:
        return login.unauthorized()
    return _day(hall=hall)


@role_required("staff")
def _day(hall: str):
    record = _hall_or_404(hall)
    chosen = date_arg("day", local_today(record))
    services = {s.id: s for s in db.session.query(Service).filter_by(hall_id=record.id)}
    return render_template("visitor/day.html", hall=record, day=chosen, appointments=day_list(record.id, chosen),
                           services=services, lang=str(get_locale()))


@bp.get("/t/<token>")
def ticket(token: str):
    try:
        found = ticket_by_token(token)
    except NotFound:
        return render_template("visitor/ticket_missing.html"), 404
    notify = current_app.config["HALL"]["notify"]
    return render_template("visitor/ticket.html", ticket=public_ticket_view(found), hall=found.service.hall,
                           token=token, rated=has_rated(found), choices=choices(), lang=str(get_locale()),
                           notify_enabled=notify["backend"] != "none", near_ahead=notify["near_ahead"])


@bp.get("/rate/<hall>/<int:counter>")
def rate_pad(hall: str, counter: int):
    record = _hall_or_404(hall)
    try:
        found = counter_by_number(record.id, counter)
    except NotFound:
        abort(404)
    token = request.args.get("device")
    rating_pad(record, found, token)
    db.session.commit()
    return render_template("visitor/pad.html", hall=record, counter=found, device=token, choices=choices(),
                           timeout_s=current_app.config["HALL"]["feedback"]["pad_timeout_s"], lang=str(get_locale()))
