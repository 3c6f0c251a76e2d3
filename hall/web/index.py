"""The start page: who is signed in, every screen of every hall with the login it needs."""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hall.demo import STAFF
from hall.extensions import db
from hall.models import Hall
from hall.web import bp

#: Who may open each screen: None for everyone (public devices and visitors), else the lowest role.
NEEDS = {None: _l("no sign-in"), "staff": _l("counter staff"), "supervisor": _l("supervisor"),
         "admin": _l("administrator")}

#: Screens by endpoint; each takes the hall slug. Links show for the endpoints registered.
SCREENS = [
    ("kiosk.kiosk", _l("Kiosk"), None),
    ("display.lobby", _l("Lobby display"), None),
    ("display.led", _l("LED strip"), None),
    ("visitor.book", _l("Book an appointment"), None),
    ("counter.counter_select", _l("Counter screen"), "staff"),
    ("monitor.monitor", _l("Live monitor"), "supervisor"),
    ("reports.reports", _l("Reports"), "supervisor"),
    ("admin.admin_home", _l("Administration"), "admin"),
]

#: The demo hall's logins; their passwords are printed once by `make run` (when the demo hall is created).
DEMO_LOGINS = f"{STAFF[0][0]}, {STAFF[1][0]}, {STAFF[2][0]} … {STAFF[-1][0]}"


@bp.get("/")
def index():
    halls = db.session.scalars(select(Hall).where(Hall.active.is_(True)).order_by(Hall.slug)).all()
    return render_template("index.html", halls=halls, screens=SCREENS, needs=NEEDS, demo_logins=DEMO_LOGINS,
                           url_endpoints=set(current_app.view_functions))
