"""Staff sign-in and sign-out (session cookie, CSRF, rate-limited)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from hall.extensions import db, limiter
from hall.models import Staff
from hall.web import bp
from hall.web.forms import LoginForm


def _login_rate() -> str:
    return current_app.config["HALL"]["auth"]["login_rate"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"], error_message=lambda: _("Too many sign-in attempts; wait a minute."))
def login():
    form = LoginForm()
    if form.validate_on_submit():
        staff = db.session.scalar(select(Staff).where(Staff.login == form.login.data.strip()))
        if staff is None or not staff.active or not staff.check_password(form.password.data):
            form.password.errors.append(_("Wrong login or password."))
        else:
            login_user(staff)
            session.pop("lang", None)  # the staff member's own language from now on
            return redirect(safe_next(request.args.get("next", "")) or _landing(staff))
    return render_template("login.html", form=form), 200 if request.method == "GET" or not form.errors else 400


def safe_next(target: str) -> str | None:
    """`target` when it is a path on this site; browsers read `//host` and `/\\host` as another site."""
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or "\\" in target or parts.scheme or parts.netloc \
            or any(ord(ch) < 32 for ch in target):
        return None
    return target


def _landing(staff: Staff) -> str:
    """Where a sign-in without `next` leads: counter staff to the counter chooser."""
    if staff.role == "staff" and "counter.counter_select" in current_app.view_functions:
        return url_for("counter.counter_select", hall=staff.hall.slug)
    return url_for("web.index")


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        logout_user()
        flash(_("Signed out."))
    return redirect(url_for("web.login"))
