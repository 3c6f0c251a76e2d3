"""Browser-side protections on every response: a Content-Security-Policy (scripts and styles only
from this server), no framing of any page but the displays', safe cookie flags, bounded bodies
and bounded integers in paths."""
from __future__ import annotations

import secrets

from flask import Flask, Response, g, request

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


#: The policy of a response without inline styles (every API call), by frameable: built once.
_POLICY_WITHOUT_NONCE = {frameable: content_security_policy(None, frameable) for frameable in (False, True)}


#: Headers every response gets unless its view set them, by whether the page may be framed.
_ALWAYS = {False: (("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"),
                   ("Referrer-Policy", "same-origin")),
           True: (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"))}


def add_security_headers(response: Response) -> Response:
    """The headers above, those the view set itself kept: one look at the response's headers (each
    `setdefault` would scan them again, four times per response)."""
    frameable = request.blueprint in FRAMEABLE_BLUEPRINTS
    headers = response.headers
    present = {name.lower() for name, _ in headers}
    wanted = _ALWAYS[frameable]
    if not response.mimetype.startswith(("image/", "audio/")):  # the browser's own viewer styles these
        nonce = g.get("csp_nonce")
        wanted = (("Content-Security-Policy", content_security_policy(nonce, frameable) if nonce
                   else _POLICY_WITHOUT_NONCE[frameable]), *wanted)
    for name, value in wanted:
        if name.lower() not in present:
            headers.add(name, value)
    return response


def init_http_security(app: Flask) -> None:
    """Call before the blueprints register their routes (the `int` converter applies to them)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(add_security_headers)
