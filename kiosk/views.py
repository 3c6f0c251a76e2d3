"""The kiosk page and the print preview of a ticket."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template
from flask_babel import get_locale

from hall.queue.lookup import hall_by_slug, ticket_by_token
from kiosk.printing import preview_png
from kiosk.strings import strings_by_locale

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates", static_folder="static",
               static_url_path="/static")

#: Seconds without a touch after which the kiosk goes back to its start screen and language.
IDLE_RESET_S = 45
#: Seconds the confirmation stays up (longer when the printer failed: the visitor must note the number).
CONFIRM_S = 12
CONFIRM_UNPRINTED_S = 30


@bp.get("/<hall>")
def kiosk(hall: str):
    record = hall_by_slug(hall)
    settings = {"hall": record.slug, "idle_reset_s": IDLE_RESET_S, "confirm_s": CONFIRM_S,
                "confirm_unprinted_s": CONFIRM_UNPRINTED_S,
                "default_lang": current_app.config["HALL"]["i18n"]["default_locale"], "lang": str(get_locale())}
    return render_template("kiosk/kiosk.html", hall=record, settings=settings, strings=strings_by_locale())


@bp.get("/<hall>/tickets/<token>/print-preview")
def print_preview(hall: str, token: str):
    """A PNG of the ticket laid out as the printer prints it, so staff can check it without paper."""
    ticket = ticket_by_token(token)
    if ticket.hall_id != hall_by_slug(hall).id:
        abort(404)
    return Response(preview_png(ticket), mimetype="image/png", headers={"Cache-Control": "no-store"})
