"""The touch kiosk: ticket page, appointment check-in, ticket printing and the kiosk agent."""
from __future__ import annotations

from flask import Flask


def init_kiosk(app: Flask) -> None:
    """Register the kiosk page and its JSON routes."""
    from kiosk import openapi  # noqa: F401  (documents the kiosk routes)
    from kiosk.api import bp as api_bp
    from kiosk.views import bp as page_bp

    app.register_blueprint(page_bp)
    app.register_blueprint(api_bp)
