"""Chinese and English through Flask-Babel; catalogs are compiled from the .po files at start."""
from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request, session
from flask_babel import get_locale
from flask_login import current_user

from hall.extensions import babel

from hall.config import ROOT

PACKAGES = ("hall", "kiosk", "display")


def translation_folders() -> list[Path]:
    """Every `translations/` folder of the packages: each screen keeps its own catalog."""
    return sorted(path for package in PACKAGES for path in (ROOT / package).glob("**/translations"))


def compile_catalogs() -> None:
    """Write each messages.mo next to its .po when missing or older, so a checkout needs no build step."""
    for po_path in (po for folder in translation_folders() for po in folder.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)


def select_locale() -> str:
    """?lang= (remembered in the session), then the staff member's language, then the browser's."""
    locales = _locales()
    asked = request.args.get("lang")
    if asked in locales:
        session["lang"] = asked
        return asked
    if session.get("lang") in locales:
        return session["lang"]
    if current_user and current_user.is_authenticated and current_user.language in locales:
        return current_user.language
    return request.accept_languages.best_match(locales) or locales[0]


def _locales() -> list[str]:
    from flask import current_app

    return current_app.config["HALL"]["i18n"]["locales"]


def init_i18n(app: Flask) -> None:
    compile_catalogs()
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=";".join(map(str, translation_folders())))
    app.jinja_env.globals["get_locale"] = get_locale
