"""Every text of the kiosk page in each language, so the page switches language without a round trip."""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

STRINGS = {
    "title": _l("Take a number"),
    "choose": _l("Tap the service you need"),
    "waiting": _l("Waiting"),
    "wait_min": _l("About %(minutes)s min"),
    "wait_range": _l("About %(minutes)s min (%(low)s–%(high)s)"),
    "no_wait": _l("No wait"),
    "closed": _l("Not taking tickets"),
    "closed_hours": _l("Outside opening hours"),
    "closed_capacity": _l("Today's numbers are all taken"),
    "closed_inactive": _l("Not available"),
    "your_number": _l("Your number"),
    "people_ahead": _l("People ahead"),
    "estimated_wait": _l("Estimated wait"),
    "scan_phone": _l("Scan to follow your turn on your phone"),
    "take_ticket": _l("Please take your ticket"),
    "printing": _l("Printing your ticket…"),
    "printer_down": _l("Printer unavailable: please photograph or remember your number"),
    "no_printer": _l("Please photograph or remember your number"),
    "done": _l("Done"),
    "please_wait": _l("Please wait…"),
    "retrying": _l("Connecting to the server, please wait"),
    "failed": _l("Sorry, no number could be taken. Please try again or ask the staff."),
    "not_registered": _l("This kiosk is not registered. Please ask the staff."),
    "checkin": _l("I have an appointment"),
    "checkin_title": _l("Appointment check-in"),
    "checkin_hint": _l("Scan the QR code of your appointment or type its code"),
    "checkin_go": _l("Check in"),
    "appointment": _l("Appointment"),
    "appointment_unknown": _l("This appointment code is unknown. Please check it."),
    "appointment_early": _l("Too early: check-in opens at %(opens)s on %(day)s."),
    "appointment_late": _l("Too late: check-in for this appointment closed at %(closes)s on %(day)s."),
    "appointment_used": _l("This appointment has already been checked in."),
    "appointment_cancelled": _l("This appointment was cancelled."),
    "priority": _l("Priority service (elderly, disabled, pregnant)"),
    "priority_title": _l("Priority number"),
    "priority_pick": _l("Choose the service for the priority number"),
    "pin_prompt": _l("Staff PIN"),
    "wrong_pin": _l("The PIN is wrong"),
    "priority_off": _l("Priority numbers are not offered here"),
    "id_title": _l("Real-name ticket"),
    "id_hint": _l("This service needs your ID card: place it on the reader or type its 18-character number"),
    "id_hint_optional": _l("You may give your ID card number (place the card on the reader or type it)"),
    "id_go": _l("Get my number"),
    "id_skip": _l("Continue without ID"),
    "invalid_id_number": _l("This ID number is not valid. Please check it and try again."),
    "id_number_required": _l("This service needs your ID card number."),
    "daily_limit_reached": _l("This ID number has already taken %(limit)s numbers of this service today: "
                              "that is the limit per person."),
    "cancel": _l("Cancel"),
    "ok": _l("OK"),
    "clear": _l("Clear"),
}


def strings_by_locale() -> dict[str, dict[str, str]]:
    """locale → key → text, for every locale the hall offers."""
    table = {}
    for locale in current_app.config["HALL"]["i18n"]["locales"]:
        with force_locale(locale):
            table[locale] = {key: str(text) for key, text in STRINGS.items()}
    return table
