"""Who is asking: staff by session cookie (pages) or bearer token (API); role checks."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import wraps
from typing import Callable

from flask import Flask, abort, g, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, user_loaded_from_request
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from hall import clock
from hall.database import begin_write
from hall.extensions import db, login
from hall.models import ApiToken, Staff
from hall.error_pages import wants_json


#: last_used_at is written at most this often, so API calls do not each take the write lock.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(staff: Staff) -> str:
    """A new bearer token for a staff member; only its hash is stored, so show it once."""
    token = secrets.token_urlsafe(32)
    begin_write(db.session())
    db.session.add(ApiToken(staff_id=staff.id, token_hash=_hash(token)))
    db.session.commit()
    return token


def staff_from_bearer(header: str | None) -> Staff | None:
    if not header or not header.startswith("Bearer "):
        return None
    found = db.session.execute(
        select(ApiToken, Staff).join(Staff, Staff.id == ApiToken.staff_id).options(joinedload(Staff.hall))
        .where(ApiToken.token_hash == _hash(header[7:].strip()), ApiToken.revoked.is_(False))).first()
    if found is None:  # one statement: the token, its staff and their hall (which every guard checks)
        return None
    row, staff = found
    if not staff.active:
        return None
    now = clock.utcnow()
    if row.last_used_at is None or now - row.last_used_at > TOKEN_USE_RESOLUTION:
        token_id = row.id
        begin_write(db.session())
        db.session.get(ApiToken, token_id).last_used_at = now
        db.session.commit()
    return staff


def staff_of_session(session_id: str) -> Staff | None:
    """The signed-in staff member of a session, while active and with the password the session
    was signed in with; otherwise the session has ended (deactivated, or the password changed)."""
    staff_id, _, stamp = session_id.partition(":")
    if not staff_id.isascii() or not staff_id.isdigit() or len(staff_id) > 12:
        return None
    staff = db.session.get(Staff, int(staff_id), options=[joinedload(Staff.hall)])
    if staff is None or not staff.active or not secrets.compare_digest(stamp, staff.session_stamp):
        return None
    return staff


class BearerAwareSessionInterface(SecureCookieSessionInterface):
    """Never write a session cookie for a request authenticated by bearer token: an API
    call must not turn into a cookie login for the next, anonymous, request.

    The cookie's signer is built once per set of keys, not on every request (Flask builds a new
    one, a tenth of a millisecond, even for a request that carries no cookie)."""

    def __init__(self) -> None:
        self._signers: dict[tuple, URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys not in self._signers:
            self._signers[keys] = super().get_signing_serializer(app)
        return self._signers[keys]

    def get_cookie_secure(self, app) -> bool:
        """Secure when [server] https says so, and whenever the request itself came over HTTPS."""
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)

    def open_session(self, app, request):
        """A request without cookies has an empty session: its cookies need no parsing."""
        if "HTTP_COOKIE" not in request.environ and self.get_signing_serializer(app) is not None:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if g.get("login_via_bearer"):
            return None
        if not session and not session.modified:  # no cookie to write or delete (every anonymous API call)
            if session.accessed:
                vary_on_cookie(response)
            return None
        return super().save_session(app, session, response)


def vary_on_cookie(response) -> None:
    """`Vary: Cookie` on a response; added at once when the view set no Vary (werkzeug's `vary.add`
    parses and rewrites the header, a fifth of the request's own work on an anonymous API call)."""
    if "Vary" in response.headers:
        response.vary.add("Cookie")
    else:
        response.headers.add("Vary", "Cookie")


def _mark_bearer_login(_app, user=None) -> None:
    g.login_via_bearer = True


def init_auth(app: Flask) -> None:
    login.login_view = "web.login"
    login.login_message = "You are not signed in or your session has expired. Please sign in."
    login.localize_callback = gettext
    app.session_interface = BearerAwareSessionInterface()
    user_loaded_from_request.connect(_mark_bearer_login, app)

    @login.user_loader
    def load_staff(session_id: str) -> Staff | None:
        return staff_of_session(session_id)

    @login.request_loader
    def load_from_bearer(req) -> Staff | None:
        return staff_from_bearer(req.headers.get("Authorization"))


ROLE_NAMES = {"staff": _l("counter staff"), "supervisor": _l("supervisors"), "admin": _l("administrators")}


def role_required(role: str, hall_arg: str | None = "hall") -> Callable:
    """Refuse anonymous callers (401: pages send them to sign in) and callers below `role` or of
    another hall (403: pages say so in the visitor's language, the API in English).

    `hall_arg` names the view argument holding the hall slug, checked against the staff's hall.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                abort(401)
            if not current_user.has_role(role):
                abort(403, description=f"this needs the {role} role" if wants_json() else
                      gettext("This page is for %(role)s. You are signed in as %(name)s.",
                              role=ROLE_NAMES[role], name=current_user.name))
            if hall_arg and hall_arg in kwargs and current_user.hall.slug != kwargs[hall_arg]:
                abort(403, description="you are staff of another hall" if wants_json() else
                      gettext("You are staff of another hall (%(name)s).", name=current_user.name))
            return view(*args, **kwargs)

        return wrapped

    return decorator


def csrf_exempt_for_bearer() -> bool:
    """API calls with a bearer token carry no cookie, so they need no CSRF token."""
    return request.headers.get("Authorization", "").startswith("Bearer ")
