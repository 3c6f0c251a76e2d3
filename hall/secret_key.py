"""The secret that signs session cookies and CSRF tokens: production refuses a guessable one.

Anyone who knows the secret can sign a session cookie for any staff member, so the key
shipped in config.toml, an empty key or a short one must never reach a production server.
"""
from __future__ import annotations

import os

from flask import Flask

ENV_NAME = "HALL_SERVER_SECRET_KEY"
SHIPPED_SECRET_KEY = "change-me-in-production"
MIN_LENGTH = 32


class WeakSecretKey(RuntimeError):
    """The configured secret key must not be used to serve."""


def secret_key_problem(key: str | None) -> str | None:
    """Why `key` is unfit to sign sessions, or None when it is fine."""
    hint = (f"set {ENV_NAME} to a random string of at least {MIN_LENGTH} characters, e.g. "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(48))' (make run creates var/secret_key)")
    if not key:
        return f"no secret key is set: {hint}"
    if key == SHIPPED_SECRET_KEY:
        return f"the secret key is the example shipped in config.toml, known to everyone: {hint}"
    if len(key) < MIN_LENGTH:
        return f"the secret key is only {len(key)} characters long: {hint}"
    return None


def require_strong_secret_key(app: Flask) -> None:
    """Called where production serving starts: refuse to serve with a guessable key."""
    problem = secret_key_problem(app.config.get("SECRET_KEY"))
    if problem:
        raise WeakSecretKey(problem)


def warn_on_weak_secret_key(app: Flask) -> None:
    """The development server (`flask run`) only warns: its sessions are for trying things out."""
    problem = secret_key_problem(app.config.get("SECRET_KEY"))
    if problem and os.environ.get("FLASK_RUN_FROM_CLI"):
        app.logger.warning("development server with a weak secret key: %s", problem)
