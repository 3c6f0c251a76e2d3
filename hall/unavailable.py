"""The database is down, or SQLite's write lock is held past the busy timeout.

Requests then answer 503 with `Retry-After` ({"error": "database_unavailable", ...} for
the API, a plain page for screens) instead of a 500 and a traceback each; the outage is
logged once when it starts and once when it ends. Nothing else is needed to recover:
the pool replaces a connection the server has closed before handing it out
(`hall.database.check_pooled_connections`), so the first request after the database is
back gets a fresh one.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from flask import Flask, current_app, render_template, request, session
from flask_babel import force_locale, gettext as _
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

from hall.api.errors import json_error
from hall.extensions import db
from hall.outage import OutageLog

SQLITE_BUSY = ("database is locked", "database is busy", "database table is locked")
#: What a statement raises when the database is away (among other things: see `is_unavailable`).
DATABASE_ERRORS = (exc.DBAPIError, exc.TimeoutError)
F = TypeVar("F", bound=Callable[..., Any])


def database_outage() -> OutageLog:
    return current_app.extensions["hall_database_outage"]


def is_unavailable(error: BaseException) -> bool:
    """True for errors that say the database cannot be reached now, not that a statement is wrong."""
    if isinstance(error, exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, (exc.OperationalError, exc.InterfaceError)):
        return False
    if any(text in str(error.orig).lower() for text in SQLITE_BUSY):  # sqlite3, or the writer queue
        return True
    # other SQLite errors are about the statement; psycopg's are about the connection
    # (refused, reset, server shut down, unreachable)
    return not type(error.orig).__module__.startswith("sqlite3")


def note_failure(error: BaseException) -> bool:
    """Count `error` against the outage if it is one; True when it was."""
    if not is_unavailable(error):
        return False
    database_outage().failed(error)
    return True


def survives_outage(answer: Any) -> Callable[[F], F]:
    """For Socket.IO handlers: during an outage answer `answer` instead of raising (and logging)."""
    def wrap(handler: F) -> F:
        @functools.wraps(handler)
        def guarded(*args, **kwargs):
            try:
                return handler(*args, **kwargs)
            except DATABASE_ERRORS as error:
                if not note_failure(error):
                    raise
                return answer
        return guarded  # type: ignore[return-value]
    return wrap


def _retry_after_s() -> int:
    return int(current_app.config["HALL"]["database"].get("retry_after_s", 5))


def _page_locale() -> str:
    """The page's language without asking the database (the signed-in user's language needs it)."""
    locales = current_app.config["HALL"]["i18n"]["locales"]
    asked = request.args.get("lang")
    if asked in locales:
        return asked
    if session.get("lang") in locales:
        return session["lang"]
    return request.accept_languages.best_match(locales) or locales[0]


def unavailable_response():
    """503 for the current request: JSON for the API and JSON clients, a page for people."""
    retry_after = _retry_after_s()
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        response = json_error(503, "database_unavailable",
                              "The database cannot be reached right now; try again in a few seconds.",
                              retry_after_s=retry_after)
    else:
        with force_locale(_page_locale()):
            response = current_app.make_response(
                (render_template("unavailable.html", retry_after_s=retry_after), 503))
    response.headers["Retry-After"] = str(retry_after)
    return response


def _watch_engine(engine: Engine, outage: OutageLog) -> None:
    # A connection handed out was found open (`check_pooled_connections`, which listens first) or was
    # opened now: once per request, where a listener on every statement would cost each statement its
    # event dispatch.
    @event.listens_for(engine.pool, "checkout")
    def _answered(*_args) -> None:
        outage.succeeded()


def init_unavailable(app: Flask) -> None:
    """Answer 503 during a database outage and log it once; call after the engine exists."""
    outage = app.extensions["hall_database_outage"] = OutageLog("database")
    with app.app_context():
        _watch_engine(db.engine, outage)

    def database_error(error: Exception):
        if not note_failure(error):
            raise error
        return unavailable_response()

    for error_class in DATABASE_ERRORS:
        app.register_error_handler(error_class, database_error)
