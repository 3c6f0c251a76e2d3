"""Counter pages: choose/confirm a counter, the counter screen and its state, leaving, the
printable one-time notice."""
from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from hall.extensions import db
from hall.models import Counter, Hall
from hall.queue import NotFound, open_counter, release_counter
from hall.queue.lookup import hall_by_slug, ticket_by_number
from hall.queue.rules import today
from hall.web.counter import bp
from hall.web.counter.forms import ChooseCounterForm
from hall.web.counter.presence import flash_release, mark_screen_seen, release_counters_of, screen_timeout_s
from hall.error_pages import html_error
from hall.web.counter.state import counter_state, service_label, transfer_targets


def _lang() -> str:
    return str(get_locale())


@bp.before_request
def remember_language() -> None:
    """The language toggle (?lang=) is the staff member's own choice: keep it on their record."""
    asked = request.args.get("lang")
    if asked in current_app.config["HALL"]["i18n"]["locales"] and current_user.is_authenticated \
            and current_user.language != asked:
        current_user.language = asked
        db.session.commit()


def staff_hall(slug: str) -> Hall:
    """The hall of the URL, once the signed-in staff member belongs to it."""
    try:
        hall = hall_by_slug(slug)
    except NotFound:
        abort(404, description=_("There is no hall %(slug)s.", slug=slug))
    if current_user.hall_id != hall.id:
        abort(403, description=_("You are staff of another hall and cannot use the counters of %(hall)s.",
                                 hall=hall.name(_lang())))
    return hall


def hall_counter(hall: Hall, number: int) -> Counter:
    counter = db.session.scalar(select(Counter).where(Counter.hall_id == hall.id, Counter.number == number,
                                                      Counter.active.is_(True)))
    if counter is None:
        abort(404, description=_("There is no counter %(number)s in this hall.", number=number))
    return counter


@bp.route("/<hall>", methods=["GET", "POST"])
@login_required
def counter_select(hall: str):
    record = staff_hall(hall)
    counters = db.session.scalars(select(Counter).where(Counter.hall_id == record.id, Counter.active.is_(True))
                                  .order_by(Counter.number)).all()
    form = ChooseCounterForm()
    if form.validate_on_submit():
        counter = hall_counter(record, form.number.data)
        taken = counter.staff_id not in (None, current_user.id) and counter.status != "closed"
        if taken and not form.take_over.data:
            form.number.errors.append(_("Counter %(number)s is open for %(name)s. Tick “take over” to confirm.",
                                        number=counter.number, name=counter.staff.name))
        else:
            release_counters_of(current_user, keep=counter)
            open_counter(record.id, counter.number, staff_id=current_user.id)
            return redirect(url_for(".counter_screen", hall=record.slug, number=counter.number))
    mine = next((c for c in counters if c.staff_id == current_user.id and c.status != "closed"), None)
    lang = _lang()
    labels = {c.id: [service_label(link, lang) for link in c.services] for c in counters}
    return render_template("counter/select.html", hall=record, counters=counters, form=form, mine=mine,
                           labels=labels, lang=lang), 400 if form.errors else 200


def heartbeat_ms() -> int:
    """How often the screen asks for its state even when nothing happens: a few times per timeout."""
    timeout = screen_timeout_s()
    return 30_000 if timeout <= 0 else int(max(500, min(30_000, timeout * 1000 / 4)))


@bp.get("/<hall>/<int:number>")
@login_required
def counter_screen(hall: str, number: int):
    record = staff_hall(hall)
    counter = hall_counter(record, number)
    if counter.staff_id != current_user.id or counter.status == "closed":
        flash(_("Choose and confirm your counter first."))
        return redirect(url_for(".counter_select", hall=record.slug))
    mark_screen_seen(counter)
    lang = _lang()
    config = {"hall": record.slug, "number": counter.number, "heartbeatMs": heartbeat_ms(),
              "api": url_for("api.openapi_json").rsplit("/", 1)[0] + f"/halls/{record.slug}",
              "stateUrl": url_for(".counter_state_json", hall=record.slug, number=counter.number),
              "noticeUrl": url_for(".notice", hall=record.slug, number="NUMBER"),
              "screenUrl": url_for(".counter_screen", hall=record.slug, number=counter.number),
              "state": counter_state(counter, current_user, lang), "targets": transfer_targets(counter, lang)}
    return render_template("counter/screen.html", hall=record, counter=counter, config=config, lang=lang)


@bp.get("/<hall>/<int:number>/state")
def counter_state_json(hall: str, number: int):
    """The screen's state; JSON errors (never a sign-in redirect) since the page's script asks."""
    if not current_user.is_authenticated:
        return jsonify(error="unauthorized", message=_("Your session has expired; sign in again.")), 401
    record = staff_hall(hall)
    counter = hall_counter(record, number)
    if counter.staff_id != current_user.id:
        return jsonify(error="not_your_counter",
                       message=_("Counter %(number)s is no longer yours.", number=number)), 409
    mark_screen_seen(counter)
    return jsonify(counter_state(counter, current_user, _lang()))


@bp.post("/<hall>/<int:number>/leave")
@login_required
def leave(hall: str, number: int):
    record = staff_hall(hall)
    counter = hall_counter(record, number)
    if counter.staff_id == current_user.id and counter.status != "closed":
        flash_release(release_counter(record.id, counter.number, staff_id=current_user.id))
    return redirect(url_for(".counter_select", hall=record.slug))


@bp.get("/<hall>/notice/<number>")
@login_required
def notice(hall: str, number: str):
    """The one-time notice of missing materials of today's ticket, ready to print."""
    record = staff_hall(hall)
    try:
        ticket = ticket_by_number(record.id, number, today(record))
    except NotFound:
        abort(404, description=_("There is no ticket %(number)s today.", number=number))
    stage = next((s for s in reversed(ticket.stages) if s.notice), None)
    if stage is None:
        abort(404, description=_("Ticket %(number)s has no notice of missing materials.", number=ticket.number))
    return render_template("counter/notice.html", hall=record, ticket=ticket, stage=stage, lang=_lang())


def _refused(exc: HTTPException):
    """Errors on counter pages lead back to the counter chooser (or, refused, to the start page)."""
    back = url_for(".counter_select", hall=request.view_args["hall"]) \
        if request.view_args and "hall" in request.view_args and exc.code != 403 else url_for("web.index")
    return html_error(exc, back=back)


@bp.errorhandler(CSRFError)
def csrf_refused(exc: CSRFError):
    exc.description = _("The form has expired or lacks its security token. Reload the page and try again.")
    return _refused(exc)


@bp.errorhandler(403)
@bp.errorhandler(404)
def refused(exc: HTTPException):
    return _refused(exc)
