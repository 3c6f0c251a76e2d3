"""`flask hall …` commands: init, demo, user add, user password, token create, serve, day close,
backup, restore."""
from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import select

from hall.auth import create_api_token
from hall.connection_budget import DatabaseUnreachable, connection_budget_problem
from hall.extensions import db
from hall.models import ROLES, Counter, Device, Hall, Staff
from hall.queue import close_business_day
from hall.queue.lookup import hall_by_slug, staff_by_login
from hall.secret_key import WeakSecretKey, require_strong_secret_key
from hall.server.launch import bind_addresses, run_many, run_one

hall_cli = AppGroup("hall", help="Run and administer Hall.")
user_cli = AppGroup("user", help="Staff accounts.")
token_cli = AppGroup("token", help="API bearer tokens.")
day_cli = AppGroup("day", help="Business days.")
hall_cli.add_command(user_cli)
hall_cli.add_command(token_cli)
hall_cli.add_command(day_cli)


@hall_cli.command("init")
def init_command() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    upgrade()
    click.echo("database is at the latest schema")


@hall_cli.command("demo")
@click.option("--slug", default="demo", show_default=True)
@click.option("--history-days", type=click.IntRange(0, 366), default=30, show_default=True,
              help="simulate the working days among this many past days (0: a hall without history)")
def demo_command(slug: str, history_days: int) -> None:
    """Load the demo hall with a simulated history; prints the staff passwords once."""
    from hall.demo import create_demo_hall
    from hall.sim.history import load_history

    try:
        passwords = create_demo_hall(slug, planned=True)
    except ValueError as exc:
        click.echo(f"{exc}; nothing changed", err=True)
        return
    if history_days:
        click.echo(f"simulating the working days of the last {history_days} days through the queue engine "
                   "(on a first start in two processes at once: about half a minute on an idle 2-core machine; "
                   "--history-days 0 skips it) …")
        started = time.monotonic()
        days = load_history(hall_by_slug(slug), history_days)
        click.echo(f"simulated {len(days)} working days of history in {time.monotonic() - started:.1f} s")
    click.echo(f"demo hall {slug!r} created. Staff logins (shown once):")
    for login, password in passwords.items():
        click.echo(f"  {login:12} {password}")
    click.echo("Registered devices (open these addresses on the device):")
    for path in device_paths(hall_by_slug(slug)):
        click.echo(f"  {path}")


@user_cli.command("add")
@click.argument("login")
@click.option("--hall", "hall_slug", default="demo", show_default=True)
@click.option("--name", default=None)
@click.option("--role", type=click.Choice(ROLES), default="staff", show_default=True)
@click.password_option()
def user_add(login: str, hall_slug: str, name: str | None, role: str, password: str) -> None:
    """Add a staff member."""
    hall = hall_by_slug(hall_slug)
    if db.session.query(Staff).filter_by(login=login).first():
        raise click.ClickException(f"login {login!r} is taken")
    staff = Staff(hall_id=hall.id, login=login, name=name or login, role=role)
    staff.set_password(password)
    db.session.add(staff)
    db.session.commit()
    click.echo(f"added {role} {login} to hall {hall_slug}")


@user_cli.command("password")
@click.argument("login")
@click.option("--password", default=None, help="the new password (default: a random one, printed once)")
def user_password(login: str, password: str | None) -> None:
    """Set a staff member's password, e.g. a forgotten demo password."""
    staff = _staff_or_fail(login)
    new_password = password or secrets.token_urlsafe(9)
    staff.set_password(new_password)
    db.session.commit()
    click.echo(f"{login}: {new_password}" if password is None else f"password of {login} changed")


def _staff_or_fail(login: str) -> Staff:
    from hall.queue.errors import NotFound

    try:
        return staff_by_login(login)
    except NotFound as exc:
        raise click.ClickException(exc.message) from exc


@token_cli.command("create")
@click.argument("login")
def token_create(login: str) -> None:
    """Print a new API bearer token for a staff member (shown once)."""
    click.echo(create_api_token(_staff_or_fail(login)))


@day_cli.command("close")
@click.option("--hall", "hall_slug", default="demo", show_default=True)
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="close this day and earlier (default: every day before today)")
def day_close(hall_slug: str, day) -> None:
    """Close open tickets of past business days as not served."""
    event = close_business_day(hall_by_slug(hall_slug).id, day.date() if day else None)
    click.echo(f"closed business days up to {event['day']}: {event['not_served']} tickets not served")


@hall_cli.command("serve")
@click.option("--host", default=None)
@click.option("--port", type=int, default=None, help="port of the first process; process i listens on port + i")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="server processes ([server] workers); more than one needs [redis] url")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Production server: gunicorn with a gevent worker, one process per port.

    Every live connection (screen, phone page) is a greenlet, so one process holds thousands.
    Several processes share realtime events through Redis ([redis] url); put them behind
    the sticky-session proxy of deploy/nginx/hall.conf.
    """
    try:
        require_strong_secret_key(current_app)
    except WeakSecretKey as exc:
        raise click.ClickException(f"refusing to serve: {exc}") from exc
    settings = current_app.config["HALL"]["server"]
    workers = workers or settings["workers"]
    if workers > 1 and not current_app.config["HALL"]["redis"]["url"]:
        raise click.UsageError("several server processes share events through Redis: set [redis] url "
                               "(HALL_REDIS_URL)")
    _require_connection_budget(workers)
    binds = bind_addresses(host or settings["host"], port or settings["port"], workers)
    click.echo("serving Hall on " + ", ".join(f"http://{bind}" for bind in binds))
    if workers == 1:
        run_one(binds[0], settings)
    sys.exit(run_many(binds, settings))


def _require_connection_budget(workers: int) -> None:
    """Refuse to serve when the processes' pools together can overrun PostgreSQL's max_connections.

    A database that cannot be reached now does not stop the start: the server answers 503 until it
    is back (hall/unavailable.py), so only a warning says the figures were not checked."""
    try:
        problem = connection_budget_problem(db.engine.url, workers, current_app.config["HALL"]["database"])
    except DatabaseUnreachable as exc:
        click.echo(f"warning: the database cannot be reached ({exc}); starting without checking that "
                   "the connection pools fit its max_connections", err=True)
        return
    if problem:
        raise click.ClickException(f"refusing to serve: {problem}")


def device_paths(hall: Hall) -> list[str]:
    """The page address of each active device of a hall, token included."""
    pages = {"kiosk": "/kiosk/{hall}?device={token}", "display": "/display/{hall}?device={token}",
             "rating_pad": "/rate/{hall}/{counter}?device={token}"}
    rows = db.session.execute(select(Device, Counter.number).outerjoin(Counter, Counter.id == Device.counter_id)
                              .where(Device.hall_id == hall.id, Device.active.is_(True))
                              .order_by(Device.kind, Device.id)).all()
    return [f"{device.name:16} " + pages[device.kind].format(hall=hall.slug, token=device.token, counter=counter)
            for device, counter in rows if device.kind != "rating_pad" or counter]


@hall_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def backup_command(path: Path) -> None:
    """Back up the whole database to PATH while the server runs (SQLite: online backup; PostgreSQL: pg_dump)."""
    from hall.backup import BackupError, backup

    try:
        click.echo(backup(db.engine, path))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@hall_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.confirmation_option(prompt="Replace everything in the configured database with this backup? "
                                  "(stop the server first)")
def restore_command(path: Path) -> None:
    """Replace the database's content with a backup made by `hall backup`."""
    from hall.backup import BackupError, restore

    try:
        click.echo(restore(db.engine, path))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc


def init_cli(app: Flask) -> None:
    from hall.sim.cli import simulate_command

    hall_cli.add_command(simulate_command)
    app.cli.add_command(hall_cli)
