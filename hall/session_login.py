"""Flask-Login as Hall uses it: session protection only where there is a session to protect."""
from __future__ import annotations

from flask import session
from flask_login import LoginManager


class SessionLoginManager(LoginManager):
    """Skips session protection for a request without a session (kiosks, screens, bearer calls).

    Flask-Login hashes the caller's address and browser (SHA-512) on every request that looks for
    its user, and compares the hash only with a session's stored one: an empty session has none.
    """

    def _session_protection_failed(self) -> bool:
        return bool(session) and super()._session_protection_failed()
