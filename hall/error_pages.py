"""Error pages of the HTML routes: the site's look, in the visitor's language, with a way on.

API routes answer JSON (hall/api/errors.py calls `html_error` for the others). The template is
hall/web/templates/errors/error.html.
"""
from __future__ import annotations

from flask import Response, make_response, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from hall.extensions import login

#: Title and explanation per status; the exception's own description is shown when a view gave one.
PAGES = {
    400: (_l("Bad request"), _l("The address or the form is not valid. Go back and try again.")),
    403: (_l("Not allowed"), _l("You are signed in, but this page is not for your account.")),
    404: (_l("Page not found"), _l("There is no page at this address. Check the address or start again.")),
    405: (_l("Bad request"), _l("The address or the form is not valid. Go back and try again.")),
    429: (_l("Too many requests"), _l("Too many requests in a short time. Wait a minute and try again.")),
    500: (_l("Something went wrong"), _l("The server could not finish this request. Try again in a moment.")),
    503: (_l("Service unavailable"), _l("The service is briefly unavailable. The page will work again shortly.")),
}

#: Shown when rendering the page itself fails (e.g. the database is down): no template, no lookups.
PLAIN = ("<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>{code}</title>"
         "<body style='font-family:sans-serif;margin:3rem'><h1>{code}</h1>"
         "<p>服务暂时无法完成此请求，请稍后再试。</p><p>The service could not finish this request; try again shortly.</p>"
         "<p><a href='/'>首页 / Start page</a></p></body></html>")


def wants_json() -> bool:
    """API routes answer errors as JSON; every other route with a page."""
    return request.path.startswith("/api/")


def back_link() -> str:
    """The page the visitor came from when it is on this site, else the start page."""
    referrer = request.referrer or ""
    if referrer.startswith(request.host_url) and referrer.rstrip("/") != request.url.rstrip("/"):
        return "/" + referrer[len(request.host_url):]
    return url_for("web.index")


def html_error(exc: HTTPException, back: str | None = None) -> Response:
    """The error page for `exc`; an anonymous visitor refused (401) is sent to sign in instead."""
    code = exc.code or 500
    if code == 401:
        return login.unauthorized()
    title, explanation = PAGES.get(code, (exc.name, exc.description))
    detail = exc.description if exc.description and exc.description != type(exc).description else None
    try:
        body = render_template("errors/error.html", code=code, title=title, explanation=explanation,
                               detail=detail, back=back or back_link(),
                               sign_in=url_for("web.login", next=request.full_path.rstrip("?")) if code == 403 else None)
    except Exception:  # noqa: BLE001  (the page must appear even when its own lookups fail)
        body = PLAIN.format(code=code)
    response = make_response(body, code)
    response.headers.extend((k, v) for k, v in exc.get_headers() if k.lower() != "content-type")  # Retry-After
    return response
