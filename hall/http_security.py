"""Browser-side protections on every response: a Content-Security-Policy (scripts and styles only
from this server), no framing of any page but the displays', safe cookie flags, bounded bodies
and bounded integers in paths."""
from __future__ import annotations

import secrets

from flask import Flask, Response, g
from flask.globals import _cv_app, _cv_request

from hall.validation import BoundedIntConverter

#: Blueprints whose pages a signage player may show inside a frame: they take no action.
FRAMEABLE_BLUEPRINTS = frozenset({"display"})


def csp_nonce() -> str:
    """The nonce of this response's inline <style> blocks (templates: `nonce="{{ csp_nonce() }}"`)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy(nonce: str | None, frameable: bool) -> str:
    """Scripts only from this server (no inline code, no eval); images also from https: (staff photos)."""
    styles = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    directives = ["default-src 'self'", "script-src 'self'", f"style-src {styles}",
                  "img-src 'self' data: blob: https: http:", "media-src 'self' blob: data:",
                  "font-src 'self' data:", "connect-src 'self'", "object-src 'none'", "base-uri 'self'",
                  "form-action 'self'"]
    if not frameable:
        directives.append("frame-ancestors 'none'")
    return "; ".join(directives)


#: Headers every response gets unless its view set them, by whether the page may be framed.
_ALWAYS = {False: (("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"),
                   ("Referrer-Policy", "same-origin")),
           True: (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"))}

#: What a response without inline styles gets (every API call), by frameable and whether it is
#: styled (not an image or sound): built once.
_WITHOUT_NONCE = {(frameable, styled): ((("Content-Security-Policy", content_security_policy(None, frameable)),)
                                        if styled else ()) + _ALWAYS[frameable]
                  for frameable in (False, True) for styled in (False, True)}


def add_security_headers(response: Response) -> Response:
    """The headers above, those the view set itself kept: one look at the response's headers (each
    `setdefault` would scan them again, four times per response), the request and `g` found once
    (each proxy lookup costs as much as setting a header)."""
    frameable = _cv_request.get().request.blueprint in FRAMEABLE_BLUEPRINTS
    styled = not response.mimetype.startswith(("image/", "audio/"))  # the browser's own viewer styles these
    nonce = _cv_app.get().g.get("csp_nonce") if styled else None
    wanted = _WITHOUT_NONCE[frameable, styled] if nonce is None else \
        (("Content-Security-Policy", content_security_policy(nonce, frameable)), *_ALWAYS[frameable])
    headers = response.headers
    present = {name.lower() for name, _ in headers}
    for name, value in wanted:
        if name.lower() not in present:
            headers.add(name, value)
    return response


def init_http_security(app: Flask) -> None:
    """Call before the blueprints register their routes (the `int` converter applies to them)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(add_security_headers)
