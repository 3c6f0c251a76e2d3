"""What a newcomer meets first: staff pages lead to sign-in (or say clearly who may use them), the
start page says who is signed in and which screens need which login, error pages look like the site
in both languages while the API keeps its JSON errors."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import abort

from hall.demo import create_demo_hall
from hall.extensions import db
from tests.conftest import make_app
from tests.supervisor_support import sign_in

#: Every HTML page staff use, with the role it needs.
STAFF_PAGES = {
    "/counter/demo": "staff", "/counter/demo/1": "staff", "/book/demo/day": "staff",
    "/monitor/demo": "supervisor", "/reports/demo": "supervisor", "/reports/demo/monthly": "supervisor",
    "/reports/demo/export.xlsx": "supervisor", "/reports/demo/whatif": "supervisor",
    "/complaints/demo": "supervisor", "/reports/demo/export/waits.csv": "supervisor",
    "/admin/demo": "admin", "/admin/demo/staff": "admin", "/admin/demo/settings": "admin",
    "/admin/demo/services/new": "admin", "/admin/demo/counters/new": "admin",
}


def _html_get_routes(app) -> list[str]:
    """Each GET page route of the app with its arguments filled in (hall "demo", numbers 1)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/api/") or "static" in rule.endpoint \
                or rule.endpoint == "web.login":
            continue
        values = {arg: 1 if "int" in str(rule._converters.get(arg)) else "demo" for arg in rule.arguments}
        urls.append(re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(values[m.group(1)]), rule.rule))
    return urls


def test_every_staff_page_sends_an_anonymous_browser_to_sign_in(app, demo):
    client = app.test_client()
    for url in _html_get_routes(app):
        response = client.get(url)
        assert response.status_code != 401, f"{url} answers a bare 401"
    for url in STAFF_PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.location == f"/login?next={url.replace('/', '%2F')}", (url, response.location)
        flash = client.get(response.location).get_data(as_text=True)
        assert "sign in" in flash.lower() or "登录" in flash


@pytest.mark.parametrize("lang, title, explanation", [
    ("zh", "无权访问", "此页面仅供值班主任使用"), ("en", "Not allowed", "This page is for supervisors")])
def test_a_signed_in_user_without_the_role_gets_a_translated_not_allowed_page(app, demo, lang, title, explanation):
    staff = sign_in(app.test_client(), "staff1", demo.passwords["staff1"])
    staff.get(f"/?lang={lang}")
    for url, role in STAFF_PAGES.items():
        if role == "staff":
            continue
        response = staff.get(url, headers={"Referer": "http://localhost/counter/demo"})
        html = response.get_data(as_text=True)
        assert response.status_code == 403 and response.mimetype == "text/html", url
        assert f"<h1 id=\"error-title\">{title}</h1>" in html, url
        assert 'id="error-back" href="/counter/demo"' in html, url
        if role == "supervisor":
            assert explanation in html, url


def test_api_routes_keep_their_json_401_and_403(app, demo):
    anonymous = app.test_client().get("/api/v1/halls/demo/stats/summary")
    assert anonymous.status_code == 401 and anonymous.json["error"] == "unauthorized"
    staff = {"Authorization": f"Bearer {demo.token('staff1')}"}
    refused = app.test_client().get("/api/v1/halls/demo/stats/summary", headers=staff)
    assert refused.status_code == 403 and refused.json == {"error": "forbidden",
                                                           "message": "this needs the supervisor role"}
    missing = app.test_client().get("/api/v1/halls/nowhere/services")
    assert missing.status_code == 404 and missing.is_json


@pytest.mark.parametrize("next_url, lands_on", [
    ("/monitor/demo", "/monitor/demo"), ("/reports/demo?from=2026-03-01", "/reports/demo?from=2026-03-01"),
    ("https://evil.example/", "/"), ("//evil.example/x", "/"), ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"), ("monitor/demo", "/"), ("/\t/evil.example", "/")])
def test_sign_in_follows_only_a_same_site_next(app, demo, next_url, lands_on):
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    response = client.post("/login", query_string={"next": next_url},
                           data={"login": "supervisor", "password": demo.passwords["supervisor"], "csrf_token": token})
    assert response.status_code == 302 and response.location == lands_on


def test_start_page_shows_sign_in_who_needs_what_and_the_demo_passwords(app, demo):
    client = app.test_client()
    html = client.get("/?lang=en").get_data(as_text=True)
    assert 'id="index-sign-in" href="/login"' in html and "Not signed in" in html
    for label, needs in (("Kiosk", "no sign-in"), ("Counter screen", "counter staff"),
                         ("Live monitor", "supervisor"), ("Reports", "supervisor"), ("Administration", "administrator")):
        assert re.search(rf">{label}</a>\s*<span class=\"needs[^\"]*\">{needs}</span>", html), label
    assert "Demo logins: admin, supervisor, staff1 … staff6." in html
    assert "printed once in the terminal" in html and "flask --app hall hall user password &lt;login&gt;" in html
    sign_in(client, "supervisor", demo.passwords["supervisor"])
    html = client.get("/?lang=zh").get_data(as_text=True)
    assert "已登录：值班主任（supervisor，值班主任）。" in html and 'id="index-sign-out"' in html
    assert "演示账号" in html and "无需登录" in html


def test_user_password_command_sets_a_new_password(app, demo):
    runner = CliRunner()
    result = runner.invoke(app.cli, ["hall", "user", "password", "supervisor"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    new_password = result.output.strip().split(": ", 1)[1]
    sign_in(app.test_client(), "supervisor", new_password)
    missing = runner.invoke(app.cli, ["hall", "user", "password", "nobody"])
    assert missing.exit_code != 0 and "nobody" in missing.output


@pytest.fixture
def failing_app(sqlite_template, tmp_path):
    """The app with rate limits on and two routes that fail, as a crash or an outage would."""
    path = tmp_path / "hall.db"
    shutil.copy(sqlite_template, path)
    application = make_app(f"sqlite:///{path}", RATELIMIT_ENABLED=True, PROPAGATE_EXCEPTIONS=False)
    application.config["HALL"]["auth"]["login_rate"] = "2 per minute"

    def crash():
        raise RuntimeError("a bug")

    application.add_url_rule("/crash", "crash", crash)
    application.add_url_rule("/api/v1/crash", "api_crash", crash)
    application.add_url_rule("/outage", "outage", lambda: abort(503))
    with application.app_context():
        create_demo_hall()
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("lang, titles", [
    ("zh", {400: "请求有误", 404: "页面不存在", 429: "请求过于频繁", 500: "服务器出错了", 503: "服务暂不可用"}),
    ("en", {400: "Bad request", 404: "Page not found", 429: "Too many requests", 500: "Something went wrong",
            503: "Service unavailable"})])
def test_error_pages_have_the_sites_look_in_both_languages(failing_app, lang, titles):
    client = failing_app.test_client()
    client.get(f"/?lang={lang}")
    answers = {404: client.get("/no/such/page"), 500: client.get("/crash"), 503: client.get("/outage"),
               400: client.post("/login", data={"login": "x"})}  # no CSRF token: a bad request
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    for _ in range(3):
        answers[429] = client.post("/login", data={"login": "x", "password": "y", "csrf_token": token})
    for status, response in answers.items():
        html = response.get_data(as_text=True)
        assert response.status_code == status and response.mimetype == "text/html", (status, html[:300])
        assert 'href="/static/hall.css' in html and f'<h1 id="error-title">{titles[status]}</h1>' in html, status
        assert 'id="error-back"' in html and "Werkzeug" not in html, status
    assert ("登录尝试过多" if lang == "zh" else "Too many sign-in attempts") in answers[429].get_data(as_text=True)
    api = client.get("/api/v1/crash")
    assert api.status_code == 500 and api.is_json and set(api.json) >= {"error", "message"}


def test_readme_shows_screenshots_of_every_screen_and_links_the_guides():
    from tests.screens import LANGUAGES, SCREENS

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    for shown in re.findall(r'src="(docs/screenshots/[^"]+)"', readme):
        assert (root / shown).is_file(), shown
    saved = {p.name for p in (root / "docs" / "screenshots").glob("*.png")}
    assert {f"{s.name}-{lang}.png" for s in SCREENS for lang in LANGUAGES} <= saved
    for guide in ("docs/operators-guide.md", "docs/developers-guide.md"):
        assert f"]({guide})" in readme and (root / guide).is_file()
