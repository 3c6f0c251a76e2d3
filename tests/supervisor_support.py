"""A scripted day of the demo hall for the report tests (figures, pages, exports)."""
from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from hall import queue
from hall.extensions import db
from hall.models import Counter, Feedback, Ticket
from tests.resident_ids import resident_id

DAY = date(2026, 3, 2)
T0 = datetime(2026, 3, 2, 2, 0, 0)  # 10:00 in Shanghai


def p(values, q):
    """Independent percentile: statistics.quantiles, inclusive method (linear interpolation)."""
    values = sorted(values)
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


@pytest.fixture
def scripted(demo, frozen):
    """The scripted day; returns the numbers the script fixes (waits, handling times, sessions)."""
    hall = demo.id

    def at(seconds: int) -> None:
        frozen.now = T0 + timedelta(seconds=seconds)

    staff = {n: demo.staff(f"staff{n}").id for n in (1, 2, 3, 5, 6)}
    for n, sid in staff.items():
        queue.open_counter(hall, n, staff_id=sid)
    queue.issue_ticket(hall, "A")                      # A001 t=0
    at(60); queue.issue_ticket(hall, "A")              # A002
    at(120); queue.issue_ticket(hall, "C", id_number=resident_id(1))  # C001
    at(180); queue.issue_ticket(hall, "B")             # B001: accept → inspect → review → certificate
    at(300); queue.call_next(hall, 1)                  # A001 waited 300
    at(310); queue.start(hall, 1)
    at(400); queue.call_next(hall, 2)                  # A002 waited 340
    at(460); queue.no_show(hall, 2)
    at(500); queue.call_next(hall, 2)                  # C001 waited 380
    at(520); queue.start(hall, 2)
    at(610); queue.finish(hall, 1)                     # A001 consult 300
    at(700); queue.call_next(hall, 3); queue.start(hall, 3)   # B001 waited 520
    at(1000); queue.finish(hall, 3)                    # accept 300
    queue.issue_ticket(hall, "A")                      # A003, cancelled below
    at(1100); queue.call_next(hall, 5); queue.start(hall, 5)
    a003 = db.session.scalar(select(Ticket).where(Ticket.number == "A003"))
    queue.cancel_ticket(hall, a003.id)
    at(1400); queue.finish(hall, 2)                    # C001 certificate 880 > 600: late
    at(1500); queue.transfer(hall, 5, stage="review")  # inspect 400, transferred
    at(1600); queue.call_next(hall, 5); queue.start(hall, 5)
    at(1900); queue.finish(hall, 5)                    # review 300
    at(2000); queue.call_next(hall, 6); queue.start(hall, 6)
    at(2200); queue.finish(hall, 6)                    # certificate 200, B001 done
    at(2250); queue.issue_ticket(hall, "C", id_number=resident_id(2))  # C002: never called, not served at day close
    at(2400)
    for n in (2, 3, 5, 6):
        queue.close_counter(hall, n)
    frozen.now = datetime(2026, 3, 2, 15, 50)          # 23:50 local: A004 spans midnight
    queue.issue_ticket(hall, "A")                      # A004
    frozen.now = datetime(2026, 3, 2, 16, 10)          # 00:10 local, same business day
    queue.call_next(hall, 1); queue.start(hall, 1)     # waited 1200 > 900
    frozen.now = datetime(2026, 3, 2, 16, 15)
    queue.finish(hall, 1)                              # consult 300
    frozen.now = datetime(2026, 3, 2, 16, 20)
    queue.close_counter(hall, 1)
    frozen.now = datetime(2026, 3, 3, 4, 0)            # next business day
    queue.close_business_day(hall)

    tickets = {t.number: t for t in db.session.scalars(select(Ticket))}
    counters = {c.number: c.id for c in db.session.scalars(select(Counter))}
    for number, rating, channel, counter in (("A001", 5, "pad", 1), ("C001", 3, "pad", 2), ("B001", 4, "pad", 6),
                                             ("A004", 2, "phone", 1)):
        db.session.add(Feedback(hall_id=hall, ticket_id=tickets[number].id, channel=channel, rating=rating,
                                counter_id=counters[counter], staff_id=staff[counter]))
    db.session.commit()
    return {
        "tickets": tickets, "counters": counters, "staff": staff,
        "waits": {"A001": 300, "A002": 340, "C001": 380, "B001": 520, "A004": 1200},
        "handling": [("A", "consult", 300), ("C", "certificate", 880), ("B", "accept", 300), ("B", "inspect", 400),
                     ("B", "review", 300), ("B", "certificate", 200), ("A", "consult", 300)],
        "sessions": {1: (16 * 3600 + 20 * 60) - 2 * 3600, 2: 2400, 3: 2400, 5: 2400, 6: 2400},
    }


def sign_in(client, login: str, password: str):
    """Sign a test client in through the real login form (CSRF token included)."""
    import re

    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    response = client.post("/login", data={"login": login, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client
