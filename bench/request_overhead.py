"""CPU per HTTP issue with and without the request-path cuts, alternating in one process.

    python bench/request_overhead.py                        # SQLite, services A, B, C in turn
    python bench/request_overhead.py --database postgres    # a throw-away PostgreSQL with the demo hall

The cuts are switched off by putting the library's own behaviour back, batch by batch (off, on,
off, on, ...), so both variants share the process, the database and the machine's load:
- hall/route_limiter.py: Flask-Limiter's before-request check on routes without limits, and its
  after-request and teardown hooks on requests whose limits nobody looked at;
- hall/auth.py's session interface: Flask's signer built per request and its cookie save;
- hall/app_class.py: Flask asking `inspect` whether each hook is a coroutine function, every request;
- hall/http_security.py: the security headers set one by one (`setdefault`, a scan of the headers each);
- hall/database.py: the pool's ping before every checkout (`pool_pre_ping`; PostgreSQL);
- hall/database.py: the hot statements (the hall's lock, number, line, ticket, stage and event rows, a
  call's row writes, the PostgreSQL one-statement issue) sent on the DBAPI cursor (`DriverStatement`)
  instead of through SQLAlchemy's `Connection.execute` (`thin-runner`);
- hall/visitor/notify/hooks.py: the ticket N places behind a call, and the finished ticket, read with one
  statement built once (number, token, contact) instead of an ORM `Ticket` load built per event
  (`notify-lookups`; runs after every call and finish);
- hall/api/counters.py: a counter request's check of who the counter is open for reads that one column
  (`counter_staff`) instead of loading the counter object (`guard-read`);
- hall/server/live.py LiveOrPlain (as hall/wsgi.py serves the app): a plain request goes past Engine.IO's
  middleware, which builds a class for every request gunicorn hands it (`past-engineio`; the requests carry
  a `gunicorn.socket` as gunicorn's do);
- hall/session_login.py + hall/auth.py: a request with neither cookie nor Authorization header is anonymous
  without Flask-Login's search (session, cookies, request loader) or parsing cookies; `Vary: Cookie` set at
  once (`no-cookie-anonymous`);
- hall/qr.py: the kiosk's QR code of the status link with a fixed mask, its SVG written straight from the
  modules, instead of qrcode's search of the eight masks and its SVG image (`qr`; `--route kiosk`);
- hall/queue/unit.py: an issue begun outside a transaction runs its write transaction on a connection of
  its own (`WriteOnOwnConnection`: the engine's begin/commit) instead of the ORM session's, and the
  PostgreSQL one-statement issue on an engine connection in autocommit, not the session's (`own-connection`);
- hall/api plain_json: the issue's answer written by ujson's encoder (the same bytes) instead of Flask's
  `jsonify` (the stdlib's encoder) (`json-answer`);
- the per-request hooks (`request-hooks`): hall/app_class.py HallResponse sends an answer werkzeug's header
  copy would leave unchanged (JSON answers) without that copy and its second check of every value; the
  API's CSRF hook lets a call without cookies through before looking up its caller; Flask-Login's
  remember-cookie hook returns at once for an empty session; the security headers find the request and
  `g` once and take the nonce-less policy built once.
- hall/database.py KeptAutocommit: the PostgreSQL one-call issue on a connection kept checked out in
  autocommit, instead of a pool checkout with the driver's autocommit flag set and cleared around the call
  (`kept-connection`); DriverStatement learns once whether a statement gives rows instead of asking the
  cursor (psycopg describes every column) at each run (`rows-known`);
- hall/api body(): a body read and validated in one go by pydantic's JSON reader, instead of Python's JSON
  reader then the model (`body-json`); the issue route takes a call with neither cookie nor Authorization
  header as nobody's without reading `current_user` (`caller-lookup`).
- hall/queue/one_statement.py: the one-call issue's estimates sent as the text of a PostgreSQL array and its
  event data as JSON text, instead of a list (psycopg builds a list dumper each time) and a dict bound as JSON
  (`list-parameters`; PostgreSQL).
Prints the median CPU per issue (with `--action call`, per call-next + finish of a counter) of each and
the difference. `--around` times only the request around the engine: `queue.issue_ticket` answers
the view of a real issue at once (after the route's own authorisation), so the request path's cuts
are not lost in the engine's noise. bench/issue_cpu.py gives the whole request and the engine's part of it.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import socket
import statistics
import tempfile
import sys
import time
from datetime import date
from unittest import mock
from collections.abc import Iterator
from functools import partial
from operator import attrgetter
from pathlib import Path
from types import SimpleNamespace

from flask import Flask, Response, abort, g, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user
import qrcode
import qrcode.image.svg
import sqlalchemy
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.issue_cpu import demo_app  # noqa: E402
from bench.issue_rate import ticket_body  # noqa: E402
from bench.servers import database  # noqa: E402
from hall import create_app, http_security  # noqa: E402
from hall import queue  # noqa: E402
import hall.api as hall_api  # noqa: E402
from hall.api import counters as api_counters  # noqa: E402
from hall.app_class import HallResponse  # noqa: E402
from hall.extensions import csrf  # noqa: E402
from hall.api import public as api_public  # noqa: E402
from hall.queue.lookup import hall_by_slug  # noqa: E402
from hall import database as hall_database  # noqa: E402
from hall.auth import create_api_token  # noqa: E402
from hall.auth import BearerAwareSessionInterface, csrf_exempt_for_bearer  # noqa: E402
from hall.extensions import db  # noqa: E402
from hall.models import Appointment, Hall, Service, Staff, Ticket  # noqa: E402
from hall.database import WriteOnSession  # noqa: E402
from hall.queue import limit_function, one_statement, unit  # noqa: E402
from hall.queue.lookup import counter_by_number  # noqa: E402
from hall.route_limiter import RouteLimiter  # noqa: E402
from hall.server.live import LiveOrPlain  # noqa: E402
from hall.session_login import SessionLoginManager  # noqa: E402
from hall.visitor.notify import hooks as notify_hooks  # noqa: E402
from kiosk import api as kiosk_api  # noqa: E402

BATCH, ROUNDS = 150, 11


def headers_one_by_one(response: Response) -> Response:
    """`add_security_headers` as it was: `setdefault` for each header."""
    frameable = request.blueprint in http_security.FRAMEABLE_BLUEPRINTS
    if not response.mimetype.startswith(("image/", "audio/")):
        nonce = g.get("csp_nonce")
        response.headers.setdefault("Content-Security-Policy", http_security.content_security_policy(nonce, frameable))
    if not frameable:
        response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@contextlib.contextmanager
def before_route_check(app: Flask) -> Iterator[None]:
    saved = RouteLimiter._only_route_limits
    RouteLimiter._only_route_limits = lambda self: False  # the hook is bound at init_app: every check runs
    try:
        yield
    finally:
        RouteLimiter._only_route_limits = saved


@contextlib.contextmanager
def session_cookie(app: Flask) -> Iterator[None]:
    saved = BearerAwareSessionInterface.get_signing_serializer, BearerAwareSessionInterface.save_session

    def save_session(self, app, session, response):
        return SecureCookieSessionInterface.save_session(self, app, session, response)

    BearerAwareSessionInterface.get_signing_serializer = SecureCookieSessionInterface.get_signing_serializer
    BearerAwareSessionInterface.save_session = save_session
    try:
        yield
    finally:
        BearerAwareSessionInterface.get_signing_serializer, BearerAwareSessionInterface.save_session = saved


@contextlib.contextmanager
def _hooks_replaced(app: Flask, replace) -> Iterator[None]:
    saved = app.after_request_funcs[None], app.teardown_request_funcs[None]
    app.after_request_funcs[None] = [replace(hook) for hook in saved[0]]
    app.teardown_request_funcs[None] = [replace(hook) for hook in saved[1]]
    try:
        yield
    finally:
        app.after_request_funcs[None], app.teardown_request_funcs[None] = saved


def limiter_hooks(app: Flask):
    return _hooks_replaced(app, lambda hook: getattr(hook, "__wrapped__", hook))


def headers(app: Flask):
    return _hooks_replaced(app, lambda hook: headers_one_by_one if hook is http_security.add_security_headers else hook)


@contextlib.contextmanager
def ensure_sync(app: Flask) -> Iterator[None]:
    app.ensure_sync = partial(Flask.ensure_sync, app)
    try:
        yield
    finally:
        del app.ensure_sync


@contextlib.contextmanager
def ping(app: Flask) -> Iterator[None]:
    with app.app_context():
        pool = db.engine.pool
    pool._pre_ping = True
    try:
        yield
    finally:
        pool._pre_ping = False


class SqlAlchemyExecute:
    """A driver statement sent as SQLAlchemy sends any: `Connection.execute` (compile cache, execution
    context, result metadata), its CursorResult answering as a `DriverResult` does."""

    def __init__(self, statement, _dialect, _keys) -> None:
        self.statement = statement

    def execute(self, connection, params):
        return connection.execute(self.statement, params)


@contextlib.contextmanager
def thin_runner(app: Flask) -> Iterator[None]:
    saved, saved_made = hall_database.DriverStatement, dict(hall_database._driver)
    hall_database.DriverStatement = SqlAlchemyExecute
    hall_database._driver.clear()
    try:
        yield
    finally:
        hall_database.DriverStatement = saved
        hall_database._driver.clear()
        hall_database._driver.update(saved_made)


def _message_row(ticket: Ticket | None) -> SimpleNamespace | None:
    """What the hook's own statement gives of a ticket, from an ORM `Ticket` (and its booking's)."""
    if ticket is None:
        return None
    booked = db.session.get(Appointment, ticket.appointment_id) if ticket.appointment_id else None
    return SimpleNamespace(number=ticket.number, token=ticket.token, notify_phone=ticket.notify_phone,
                           booked_phone=booked.phone if booked else None,
                           booked_name=booked.visitor_name if booked else None)


def _orm_near_ticket(_connection, event: dict, ahead: int) -> SimpleNamespace | None:
    moved = event["ticket"]
    return _message_row(db.session.scalar(
        select(Ticket).join(Hall, Hall.id == Ticket.hall_id).join(Service, Service.id == Ticket.service_id)
        .where(Hall.slug == event["hall"], Service.prefix == moved["service"],
               Ticket.business_day == date.fromisoformat(moved["business_day"]), Ticket.status == "waiting",
               Ticket.stage_code == moved["stage"]["code"], Ticket.target_counter_id.is_(None))
        .order_by(Ticket.sort_at, Ticket.id).offset(ahead).limit(1)))


def _orm_by_token(_connection, _statement, params: dict) -> hall_database.DriverResult:
    """The hook's only other `run_driver` use, the finished ticket by token, as an ORM load."""
    row = _message_row(db.session.scalar(select(Ticket).where(Ticket.token == params["token"])))
    return hall_database.DriverResult([row] if row else [], None)


@contextlib.contextmanager
def notify_lookups(app: Flask) -> Iterator[None]:
    with mock.patch.object(notify_hooks, "_near_ticket", _orm_near_ticket), \
            mock.patch.object(notify_hooks, "run_driver", _orm_by_token):
        yield


def _in_session_autocommit(statement, params: dict):
    """`one_statement.in_autocommit` as it was: on the session's connection, its transaction ended after."""
    session = db.session()
    try:
        row = hall_database.run_driver(session.connection(execution_options={"isolation_level": "AUTOCOMMIT"}),
                                       statement, params).one_or_none()
        session.commit()
        return row
    except BaseException:
        session.rollback()
        raise


@contextlib.contextmanager
def own_connection(app: Flask) -> Iterator[None]:
    with mock.patch.object(unit, "write_transaction", lambda sessions, _engine: WriteOnSession(sessions())), \
            mock.patch.object(one_statement, "in_autocommit", _in_session_autocommit):
        yield


@contextlib.contextmanager
def guard_read(app: Flask) -> Iterator[None]:
    with mock.patch.object(api_counters, "counter_staff",
                           lambda hall_id, number: counter_by_number(hall_id, number).staff_id):
        yield


@contextlib.contextmanager
def past_engineio(app: Flask) -> Iterator[None]:
    served = app.wsgi_app
    app.wsgi_app = served.live  # every request through Socket.IO's middleware, as before LiveOrPlain
    try:
        yield
    finally:
        app.wsgi_app = served


@contextlib.contextmanager
def no_cookie_anonymous(app: Flask) -> Iterator[None]:
    def save_session(self, app, session, response):
        if not session and not session.modified and session.accessed and not g.get("login_via_bearer"):
            response.vary.add("Cookie")
            return None
        return saved_save(self, app, session, response)

    saved_save = BearerAwareSessionInterface.save_session
    with mock.patch.object(SessionLoginManager, "_load_user", LoginManager._load_user), \
            mock.patch.object(BearerAwareSessionInterface, "open_session", SecureCookieSessionInterface.open_session), \
            mock.patch.object(BearerAwareSessionInterface, "save_session", save_session):
        yield


def qrcode_svg_image(data: str) -> str:
    """The kiosk's QR code as it was: qrcode's best of eight masks, drawn by its SvgPathImage."""
    return qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, border=2).to_string(encoding="unicode")


@contextlib.contextmanager
def qr(app: Flask) -> Iterator[None]:
    with mock.patch.object(kiosk_api, "qr_svg", qrcode_svg_image):
        yield


@contextlib.contextmanager
def json_answer(app: Flask) -> Iterator[None]:
    with mock.patch.object(api_public, "plain_json", lambda view, status: (jsonify(view), status)):
        yield


def security_headers_by_proxy(response: Response) -> Response:
    """`add_security_headers` as it was: the request and `g` through their proxies."""
    frameable = request.blueprint in http_security.FRAMEABLE_BLUEPRINTS
    headers = response.headers
    present = {name.lower() for name, _ in headers}
    wanted = http_security._ALWAYS[frameable]
    if not response.mimetype.startswith(("image/", "audio/")):
        nonce = g.get("csp_nonce")
        wanted = (("Content-Security-Policy", http_security.content_security_policy(nonce, frameable)), *wanted)
    for name, value in wanted:
        if name.lower() not in present:
            headers.add(name, value)
    return response


def protect_cookie_sessions_always() -> None:
    """The API's CSRF hook as it was: the caller looked up for every write, cookies or not."""
    if request.method in {"POST", "PUT", "PATCH", "DELETE"} and not csrf_exempt_for_bearer() \
            and current_user.is_authenticated:
        csrf.protect()


@contextlib.contextmanager
def request_hooks(app: Flask) -> Iterator[None]:
    api_hooks = app.before_request_funcs["api"]
    saved = list(api_hooks)
    api_hooks[:] = [protect_cookie_sessions_always if hook is hall_api.protect_cookie_sessions else hook
                    for hook in api_hooks]
    try:
        with _hooks_replaced(app, lambda hook: security_headers_by_proxy
                             if hook is http_security.add_security_headers else hook), \
                mock.patch.object(HallResponse, "get_wsgi_response", Response.get_wsgi_response), \
                mock.patch.object(SessionLoginManager, "_update_remember_cookie",
                                  LoginManager._update_remember_cookie):
            yield
    finally:
        api_hooks[:] = saved


def _in_autocommit_checked_out(statement, params: dict):
    """`one_statement.in_autocommit` as it was: a pool checkout, the driver's autocommit flag on and off."""
    with db.engine.connect() as connection, hall_database.autocommit(connection):
        return hall_database.run_driver(connection, statement, params).one_or_none()


@contextlib.contextmanager
def kept_connection(app: Flask) -> Iterator[None]:
    with mock.patch.object(one_statement, "in_autocommit", _in_autocommit_checked_out):
        yield


@contextlib.contextmanager
def rows_known(app: Flask) -> Iterator[None]:
    execute = hall_database.DriverStatement.execute

    def asking_each_run(self, connection, params):
        self.gives_rows = None  # as it was: the cursor asked at every run
        return execute(self, connection, params)

    with mock.patch.object(hall_database.DriverStatement, "execute", asking_each_run):
        yield


def body_by_pythons_json(model):
    """`hall.api.body` as it was: Python's JSON reader, then the model."""
    if not request.content_length:
        return model.model_validate({})
    if not request.is_json:
        abort(415, description="send the body as application/json")
    data = hall_api._parsed_json()
    if data is None:
        abort(400, description="the body is not valid JSON")
    if not isinstance(data, dict):
        abort(400, description="the body must be a JSON object")
    return model.model_validate(data)


@contextlib.contextmanager
def body_json(app: Flask) -> Iterator[None]:
    with mock.patch.object(api_public, "body", body_by_pythons_json):
        yield


def signed_in_by_flask_login():
    """`hall.session_login.signed_in` as it was in the issue route: `current_user` read for every call."""
    return current_user if current_user.is_authenticated else None


@contextlib.contextmanager
def caller_lookup(app: Flask) -> Iterator[None]:
    with mock.patch.object(api_public, "signed_in", signed_in_by_flask_login):
        yield


@contextlib.contextmanager
def list_parameters(app: Flask) -> Iterator[None]:
    """The one-call issue's estimates sent as a list, its event data as a dict bound as JSON (both as they were)."""
    json_data = sqlalchemy.bindparam("data", type_=sqlalchemy.JSON)
    values = tuple((name, (lambda issue: list(issue.estimates)) if name == "estimates" else
                    attrgetter("data") if name == "data" else value) for name, value in one_statement._VALUES)
    with mock.patch.object(one_statement, "_VALUES", values), \
            mock.patch.object(one_statement, "_ISSUE", one_statement._ISSUE.bindparams(json_data)), \
            mock.patch.object(limit_function, "_CALL", limit_function._CALL.bindparams(json_data)):
        yield


#: Each cut, switched off: earlier rounds' (route-check, session-cookie, limiter-hooks, ensure-sync,
#: headers, ping, thin-runner, notify-lookups, guard-read) and this one's.
CUTS = {"route-check": before_route_check, "session-cookie": session_cookie, "limiter-hooks": limiter_hooks,
        "ensure-sync": ensure_sync, "headers": headers, "ping": ping, "thin-runner": thin_runner,
        "notify-lookups": notify_lookups, "guard-read": guard_read, "past-engineio": past_engineio,
        "no-cookie-anonymous": no_cookie_anonymous, "qr": qr, "own-connection": own_connection,
        "json-answer": json_answer, "request-hooks": request_hooks, "kept-connection": kept_connection,
        "rows-known": rows_known, "body-json": body_json, "caller-lookup": caller_lookup,
        "list-parameters": list_parameters}


@contextlib.contextmanager
def library_behaviour(app: Flask, cuts: list[str]) -> Iterator[None]:
    """The named cuts switched off."""
    with contextlib.ExitStack() as stack:
        for name in cuts:
            stack.enter_context(CUTS[name](app))
        yield


@contextlib.contextmanager
def engine_answering_at_once(app: Flask) -> Iterator[None]:
    """`queue.issue_ticket` of the issue route answering a real issue's view without issuing."""
    with app.app_context():
        view, record = queue.issue_ticket("demo", "A"), hall_by_slug("demo")
        hall = SimpleNamespace(id=record.id, public_issue=record.public_issue,  # what authorising reads
                               require_registered_kiosk=record.require_registered_kiosk)
        db.session.commit()

    def issue_ticket(_hall: str, _service: str, *, authorise, **_options) -> dict:
        authorise(hall)
        return dict(view)

    with mock.patch.object(api_public, "issue_ticket", issue_ticket):
        yield


def compare(app: Flask, services: str, cuts: list[str], action: str = "issue", route: str = "api") -> None:
    app.wsgi_app = LiveOrPlain(app.wsgi_app, app.wsgi_app)  # as hall/wsgi.py serves it
    client = app.test_client()
    client.environ_base["gunicorn.socket"] = socket.socket()  # as gunicorn hands every request
    visitors = itertools.count()

    def issue() -> None:
        n = next(visitors)
        body = ticket_body(n)
        while body["service"] not in services:
            n = next(visitors)
            body = ticket_body(n)
        if route == "kiosk":  # the kiosk page's own route: the answer carries the status link's QR code
            body["idempotency_key"] = f"bench-{n:012d}"
        path = "/api/v1/halls/demo/kiosk/tickets" if route == "kiosk" else "/api/v1/halls/demo/tickets"
        assert client.post(path, json=body).status_code == 201

    with app.app_context():
        staff = {"Authorization": f"Bearer {create_api_token(db.session.scalar(select(Staff).where(Staff.login == 'staff1')))}"}
        db.session.commit()
    counter = "/api/v1/halls/demo/counters/1"
    if action == "call":
        assert client.post(f"{counter}/open", headers=staff).status_code == 200

    def call() -> None:
        assert client.post(f"{counter}/call-next", headers=staff).status_code == 200
        assert client.post(f"{counter}/finish", headers=staff).status_code == 200

    def batch_ms() -> float:
        if action == "call":
            for _ in range(BATCH):  # the tickets the batch calls (counter 1 serves A), not timed
                assert client.post("/api/v1/halls/demo/tickets", json={"service": "A"}).status_code == 201
        started = time.process_time()
        for _ in range(BATCH):
            call() if action == "call" else issue()
        return (time.process_time() - started) / BATCH * 1000

    batch_ms()  # the lines, the day and what the process keeps exist
    off, on = [], []
    for _ in range(ROUNDS):
        with library_behaviour(app, cuts):
            off.append(batch_ms())
        on.append(batch_ms())
    before, after = statistics.median(off), statistics.median(on)
    saved = statistics.median(b - a for b, a in zip(off, on))  # each pair ran back to back
    pairs_lower = sum(a < b for b, a in zip(off, on))
    what = "call-next + finish" if action == "call" else "issue"
    print(f"{app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}, {route} route, services {services}, cuts {','.join(cuts)}: without {before:.3f} ms"
          f" CPU per {what}, with them {after:.3f} ms ({after / before:.2f}x); median of the paired differences"
          f" {saved:.3f} ms, lower with the cuts in {pairs_lower} of {ROUNDS} pairs; batches of {BATCH}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--services", default="ABC", help="the services issued, in turn (A, B common; C real-name)")
    parser.add_argument("--cuts", default=",".join(CUTS), help=f"the cuts switched off, of {', '.join(CUTS)}")
    parser.add_argument("--action", choices=["issue", "call"], default="issue",
                        help="time issues, or a counter's call-next + finish (of tickets issued untimed)")
    parser.add_argument("--route", choices=["api", "kiosk"], default="api",
                        help="issues through the ticket API or the kiosk page's route (ticket + QR code)")
    parser.add_argument("--around", action="store_true",
                        help="issues: time only the request around the engine (the engine answers at once)")
    args = parser.parse_args()
    cuts = args.cuts.split(",")
    if args.database == "sqlite":
        app = demo_app(f"sqlite:///{tempfile.mkdtemp()}/overhead.db")
        with engine_answering_at_once(app) if args.around else contextlib.nullcontext():
            compare(app, args.services, cuts, args.action, args.route)
        return
    with database("postgres") as url:
        compare(create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": True}), args.services, cuts,
                args.action, args.route)


if __name__ == "__main__":
    main()
