"""The start page: every screen of every hall, one link each."""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hall.extensions import db
from hall.models import Hall
from hall.web import bp

#: Screens by endpoint; each takes the hall slug. Links show for the endpoints registered.
SCREENS = [
    ("kiosk.kiosk", _l("Kiosk")),
    ("display.lobby", _l("Lobby display")),
    ("display.led", _l("LED strip")),
    ("counter.counter_select", _l("Counter screen")),
    ("monitor.monitor", _l("Live monitor")),
    ("reports.reports", _l("Reports")),
    ("admin.admin_home", _l("Administration")),
    ("visitor.book", _l("Book an appointment")),
]


@bp.get("/")
def index():
    halls = db.session.scalars(select(Hall).where(Hall.active.is_(True)).order_by(Hall.slug)).all()
    return render_template("index.html", halls=halls, screens=SCREENS,
                           url_endpoints=set(current_app.view_functions))
