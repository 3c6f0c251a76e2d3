"""Cookies and headers: SameSite/Secure session cookie, no framing of staff pages, and a
Content-Security-Policy that every page keeps to (checked in Chromium: no violation, scripts run)."""
from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from hall.extensions import db
from hall.models import Counter, Device
from tests.conftest import make_app
from tests.counter_support import shared  # noqa: F401  (module-scoped live hall)
from tests.supervisor_support import sign_in

STAFF_PAGES = ["/login", "/admin/demo", "/monitor/demo", "/reports/demo", "/counter/demo"]


def session_cookie(response) -> str:
    return next(value for name, value in response.headers.items()
                if name == "Set-Cookie" and value.startswith("session="))


def test_session_cookie_is_samesite_lax_httponly_and_secure_over_https(app, demo):
    plain = sign_in(app.test_client(), "admin", demo.passwords["admin"])
    response = plain.get("/admin/demo?lang=en")
    cookie = session_cookie(response)
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie and "Secure" not in cookie
    secure = app.test_client()
    page = secure.get("/login?lang=en", base_url="https://hall.example")
    assert "Secure" in session_cookie(page)


def test_https_setting_makes_the_cookie_secure(sqlite_template, tmp_path, monkeypatch):
    import shutil

    shutil.copy(sqlite_template, tmp_path / "hall.db")
    monkeypatch.setenv("HALL_SERVER_HTTPS", "true")
    app = make_app(f"sqlite:///{tmp_path / 'hall.db'}")
    with app.app_context():
        assert "Secure" in session_cookie(app.test_client().get("/login?lang=en"))
        db.session.remove()
        db.engine.dispose()


def test_staff_pages_cannot_be_framed_and_every_answer_has_a_csp(app, demo):
    admin = sign_in(app.test_client(), "admin", demo.passwords["admin"])
    for path in STAFF_PAGES:
        response = admin.get(path)
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
    for path in ("/", "/book/demo", "/api/v1/halls/demo/services", "/static/hall.css"):
        csp = admin.get(path).headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    display = admin.get("/display/demo")
    assert "X-Frame-Options" not in display.headers, "a signage player may frame the lobby display"


CSP_LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile + ":" + e.lineNumber));
"""


def _visit(context, url: str, ready: str | None):
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)
    response = page.goto(url)
    assert response.status < 400, (url, response.status)
    if ready:
        page.wait_for_function(ready, timeout=15000)
    page.wait_for_timeout(500)
    problems += page.evaluate("window.__csp")
    page.close()
    return problems


@pytest.mark.slow
@pytest.mark.browser
def test_every_page_keeps_to_the_content_security_policy(chromium, shared):  # noqa: F811
    hall = shared
    devices = {kind: token for kind, token in db.session.execute(
        select(Device.kind, Device.token).where(Device.hall_id == hall.hall_id, Device.active.is_(True))
        .order_by(Device.id.desc())).all()}
    pad = db.session.scalar(select(Device.token).join(Counter, Counter.id == Device.counter_id)
                            .where(Device.hall_id == hall.hall_id, Device.kind == "rating_pad", Counter.number == 1))
    ticket = hall.issue("A")[0]
    public = {
        "/": None,
        "/login": None,
        f"/kiosk/demo?device={devices['kiosk']}": "() => document.querySelectorAll('button').length > 1",
        f"/display/demo?device={devices['display']}": "() => window.hallDisplay && window.hallDisplay.live.lastSeq() !== null",
        f"/display/demo/led?device={devices['display']}": None,
        f"/display/demo/counter/1?device={devices['display']}": None,
        "/book/demo": None,
        f"/t/{ticket['token']}": None,
        f"/rate/demo/1?device={pad}": None,
        f"/kiosk/demo/tickets/{ticket['token']}/print-preview": None,
    }
    staff = {
        "/counter/demo": None,
        "/monitor/demo": "() => document.querySelectorAll('[data-counter], .counter').length > 0",
        "/reports/demo": None,
        "/reports/demo/monthly": None,
        "/admin/demo": None,
    }
    anonymous = chromium.new_context(viewport={"width": 1280, "height": 800})
    anonymous.add_init_script(CSP_LISTENER)
    admin = chromium.new_context(viewport={"width": 1280, "height": 800})
    admin.add_init_script(CSP_LISTENER)
    try:
        login = admin.new_page()
        login.goto(f"{hall.url}/login")
        login.fill("input[name=login]", "admin")
        login.fill("input[name=password]", hall.passwords["admin"])
        login.click("button[type=submit], input[type=submit]")
        login.wait_for_load_state()
        login.close()
        found = {path: _visit(anonymous, hall.url + path, ready) for path, ready in public.items()}
        found |= {path: _visit(admin, hall.url + path, ready) for path, ready in staff.items()}
    finally:
        anonymous.close()
        admin.close()
    assert {path: problems for path, problems in found.items() if problems} == {}
    assert requests.get(f"{hall.url}/admin/demo", timeout=10).headers["X-Frame-Options"] == "DENY"


def test_a_views_own_security_header_is_kept_and_the_others_added_once(app):
    @app.get("/own-frame-policy")
    def own_frame_policy():
        return "framed by its own rule", 200, {"X-Frame-Options": "SAMEORIGIN", "content-security-policy": "default-src 'none'"}

    response = app.test_client().get("/own-frame-policy")
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert response.headers.getlist("X-Content-Type-Options") == ["nosniff"]
    assert response.headers.getlist("Referrer-Policy") == ["same-origin"]


def test_vary_on_cookie_keeps_what_the_view_said_it_varies_on():
    from flask import Response

    from hall.auth import vary_on_cookie

    plain, own = Response("x"), Response("x", headers={"Vary": "Accept-Language"})
    for response in (plain, own):
        vary_on_cookie(response)
    assert plain.headers.get_all("Vary") == ["Cookie"]
    assert own.headers.get_all("Vary") == ["Accept-Language, Cookie"]
