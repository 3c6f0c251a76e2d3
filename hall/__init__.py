"""Hall: queue and counter management for service halls."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from hall.app_class import HallFlask
from hall.config import ROOT, flask_config, load_settings
from hall.database import configure_engine
from hall.extensions import babel, csrf, db, limiter, login, migrate, socketio
from hall.wal_checkpoints import CheckpointSettings


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """App factory; `config` overrides Flask config keys (tests pass a database URL)."""
    app = HallFlask(__name__)
    settings = load_settings()
    app.config.update(flask_config(settings))
    if config:
        app.config.update(config)
    _ensure_sqlite_folder(app.config["SQLALCHEMY_DATABASE_URI"])

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    with app.app_context():
        database = app.config["HALL"]["database"]
        configure_engine(db.engine, database["sqlite_busy_timeout_s"], CheckpointSettings.of(database))

    from hall import auth, cli
    from hall.api import bp as api_bp
    from hall.api.errors import register_error_handlers
    from hall.web import bp as web_bp
    from display.views import bp as display_bp
    from hall.admin import bp as admin_bp
    from hall.http_security import init_http_security
    from hall.i18n import init_i18n
    from hall.complaints import bp as complaints_bp
    from hall.monitor import bp as monitor_bp
    from hall.realtime import init_catch_up, init_realtime
    from hall.secret_key import warn_on_weak_secret_key
    from hall.reports import bp as reports_bp
    from hall.reports.rollup import init_rollup
    from hall.unavailable import init_unavailable
    from hall.visitor import init_visitor
    from hall.web.counter import bp as counter_bp
    from kiosk import init_kiosk

    init_http_security(app)
    register_error_handlers(app)
    warn_on_weak_secret_key(app)
    init_unavailable(app)
    init_i18n(app)
    init_realtime(app)
    init_catch_up()
    init_rollup(app)
    auth.init_auth(app)
    app.register_blueprint(api_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(counter_bp)
    app.register_blueprint(display_bp)
    app.register_blueprint(monitor_bp)
    app.register_blueprint(complaints_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(admin_bp)
    init_kiosk(app)
    init_visitor(app)
    cli.init_cli(app)
    return app


def _ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
