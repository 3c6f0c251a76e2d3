"""What Hall's per-request hooks leave on an answer: the headers werkzeug's own copy would send, the
security headers in their order, the remember cookie set and cleared as Flask-Login does, and CSRF on
every API write riding a cookie (session or remember cookie)."""
from __future__ import annotations

import pytest
from flask import Response, session
from flask_login import login_user
from flask_login.utils import encode_cookie
from sqlalchemy import select
from werkzeug.test import EnvironBuilder

from hall.app_class import HallResponse
from hall.extensions import db, login
from hall.models import Staff

TICKETS = "/api/v1/halls/demo/tickets"


def _answers() -> list[tuple[str, HallResponse]]:
    def streamed():
        yield b"part"

    return [
        ("json 201", HallResponse('{"a": 1}\n', 201, mimetype="application/json")),
        ("relative redirect", HallResponse("", 302, headers={"Location": "/login?next=/ä"})),
        ("content location", HallResponse("x", 200, headers={"Content-Location": "/t/ü"})),
        ("no content", HallResponse("gone", 204)),
        ("not modified", HallResponse("same", 304, headers={"Content-Type": "text/plain", "Expires": "0"})),
        ("switching", HallResponse("", 101)),
        ("streamed", HallResponse(streamed(), 200)),
        ("length of its own", HallResponse("abc", 200, headers={"content-length": "3", "X-A": "b"})),
        ("error page", HallResponse("<p>no</p>", 404, mimetype="text/html")),
    ]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_an_answer_sends_the_status_headers_and_body_werkzeugs_own_copy_would(method):
    environ = EnvironBuilder("/api/v1/x", method=method, base_url="https://hall.example").get_environ()
    for (name, answer), (_, same) in zip(_answers(), _answers()):  # a streamed body is read once
        ours = HallResponse.get_wsgi_response(answer, environ)
        own = Response.get_wsgi_response(same, environ)
        assert (ours[1], ours[2], b"".join(ours[0])) == (own[1], own[2], b"".join(own[0])), name


def test_a_json_answer_is_sent_without_werkzeugs_header_copy(app, demo, monkeypatch):
    copied = []
    original = HallResponse.get_wsgi_headers
    monkeypatch.setattr(HallResponse, "get_wsgi_headers",
                        lambda self, environ: copied.append(self.status_code) or original(self, environ))
    client = app.test_client()
    assert client.post(TICKETS, json={"service": "A"}).status_code == 201
    assert copied == []
    assert client.get("/admin/demo").status_code == 302  # a redirect's Location is still made absolute by the copy
    assert copied == [302]


def test_an_api_answer_carries_the_security_headers_in_their_order(app, demo):
    issued = app.test_client().post(TICKETS, json={"service": "A"})
    assert [name for name, _ in issued.headers] == [
        "Content-Type", "Content-Length", "Content-Security-Policy", "X-Frame-Options",
        "X-Content-Type-Options", "Referrer-Policy", "Vary"]
    assert issued.headers["Content-Security-Policy"].endswith("form-action 'self'; frame-ancestors 'none'")
    assert (issued.headers["X-Frame-Options"], issued.headers["X-Content-Type-Options"],
            issued.headers["Referrer-Policy"], issued.headers["Vary"]) == ("DENY", "nosniff", "same-origin", "Cookie")


def test_pictures_get_no_policy_and_styled_frameable_pages_their_nonce(app, demo):
    client = app.test_client()
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert "Content-Security-Policy" not in icon.headers
    assert (icon.headers["X-Frame-Options"], icon.headers["X-Content-Type-Options"]) == ("DENY", "nosniff")
    display = client.get("/display/demo")
    policy = display.headers["Content-Security-Policy"]
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in display.get_data(as_text=True)
    assert "frame-ancestors" not in policy and "X-Frame-Options" not in display.headers
    assert client.get("/display/demo").headers["Content-Security-Policy"] != policy  # a nonce per answer


def _staff(login_name: str) -> Staff:
    return db.session.scalar(select(Staff).where(Staff.login == login_name))


def test_a_remember_cookie_signs_in_and_its_api_writes_still_need_the_csrf_token(app, demo):
    with app.app_context():
        remembered = encode_cookie(_staff("staff1").get_id())
    client = app.test_client()
    client.set_cookie("remember_token", remembered)
    refused = client.post(TICKETS, json={"service": "A", "channel": "staff"})
    assert refused.status_code == 400 and "csrf" in refused.get_json()["message"].lower()
    other_cookie = app.test_client()
    other_cookie.set_cookie("lang", "en")  # a cookie that signs nobody in: anonymous, no token needed
    assert other_cookie.post(TICKETS, json={"service": "A"}).status_code == 201
    assert other_cookie.post(TICKETS, json={"service": "A", "channel": "staff"}).status_code == 401


def test_the_remember_cookie_is_set_and_cleared_as_flask_login_does(app, demo):
    with app.test_request_context("/"):
        staff = _staff("staff1")
        empty = login._update_remember_cookie(Response("x"))
        assert "Set-Cookie" not in empty.headers and session.accessed and not session.modified
        login_user(staff, remember=True)
        assert "remember_token=" in login._update_remember_cookie(Response("x")).headers["Set-Cookie"]
        session["_remember"] = "clear"
        cleared = login._update_remember_cookie(Response("x")).headers["Set-Cookie"]
        assert cleared.startswith("remember_token=;") and "1970" in cleared
    app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = True
    try:
        with app.test_request_context("/"):
            login_user(_staff("staff1"))
            assert "remember_token=" in login._update_remember_cookie(Response("x")).headers["Set-Cookie"]
    finally:
        app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = False


def test_an_issue_carrying_no_cookie_nor_token_looks_up_nobody_and_one_with_a_token_its_staff(app, demo):
    """The issue route takes a call with neither cookie nor Authorization header as nobody's without asking
    Flask-Login (no user looked up or made); a bearer token's staff member still issues staff tickets, and
    anyone else is refused them."""
    from flask_login import user_accessed
    looked_up = []

    def on_access(sender, **_):
        looked_up.append(sender)

    client = app.test_client()
    user_accessed.connect(on_access, app)
    try:
        assert client.post(TICKETS, json={"service": "A"}).status_code == 201
        assert looked_up == []
        assert client.post(TICKETS, json={"service": "A", "channel": "staff"}).status_code == 401
        staff = {"Authorization": f"Bearer {demo.token('staff1')}"}
        issued = client.post(TICKETS, json={"service": "A", "channel": "staff", "priority": "vip"}, headers=staff)
        assert issued.status_code == 201 and issued.get_json()["priority"] == "vip" and looked_up
    finally:
        user_accessed.disconnect(on_access, app)
