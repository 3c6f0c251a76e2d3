"""Flask-Login as Hall uses it: session protection only where there is a session to protect, and
no search for a user where the request carries nothing to find one by."""
from __future__ import annotations

from flask import current_app, request, session
from flask_login import LoginManager, current_user, user_accessed


class SessionLoginManager(LoginManager):
    """Skips session protection for a request without a session (kiosks, screens, bearer calls),
    and the whole search for a user for a request with neither cookie nor Authorization header.

    Flask-Login hashes the caller's address and browser (SHA-512) on every request that looks for
    its user, and compares the hash only with a session's stored one: an empty session has none.
    Hall's users come from the session cookie, the remember-me cookie or a bearer token
    (hall/auth.py's request loader reads only the Authorization header): a request with none of
    them is anonymous, which is what the library finds after reading the session, parsing the
    cookies and asking the request loader (a kiosk's or screen's every request).
    """

    def _load_user(self) -> None:
        environ = request.environ
        if "HTTP_COOKIE" in environ or "HTTP_AUTHORIZATION" in environ:
            return super()._load_user()
        user_accessed.send(current_app._get_current_object())
        return self._update_request_context_with_user()

    def _update_remember_cookie(self, response):
        """Nothing to set or clear with an empty session (every call without a session cookie): the
        library looks its keys up to find that out. Looking at the session marks it accessed, as the
        library's look does (the answer varies on Cookie)."""
        if not session and not current_app.config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST"):
            return response
        return super()._update_remember_cookie(response)

    def _session_protection_failed(self) -> bool:
        return bool(session) and super()._session_protection_failed()


def signed_in():
    """The signed-in user of the request, or None: where the request carries neither cookie nor Authorization
    header (every kiosk's issue) None at once, without Flask-Login's look-up and its anonymous user (two
    reads of `current_user` were a fiftieth of an issue's Python), which would find nobody either."""
    environ = request.environ
    if "HTTP_COOKIE" not in environ and "HTTP_AUTHORIZATION" not in environ:
        return None
    return current_user if current_user.is_authenticated else None
