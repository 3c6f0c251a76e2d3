"""Finding the rows an action works on, with a NotFound that says what is missing."""
from __future__ import annotations

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload

from hall.database import run_driver
from hall.extensions import db
from hall.models import Counter, Hall, Service, Staff, Ticket
from hall.queue.errors import NotFound


def hall_by_slug(slug: str) -> Hall:
    hall = db.session.scalar(select(Hall).where(Hall.slug == slug, Hall.active.is_(True)))
    if hall is None:
        raise NotFound(f"unknown hall {slug!r}")
    return hall


def service_by_prefix(hall_id: int, prefix: str) -> Service:
    service = db.session.execute(select(Service).options(joinedload(Service.stages))
                                 .where(Service.hall_id == hall_id, Service.prefix == prefix.upper())
                                 ).unique().scalar_one_or_none()
    if service is None:
        raise NotFound(f"unknown service {prefix!r}")
    return service


def counter_by_number(hall_id: int, number: int) -> Counter:
    """An active counter of a hall."""
    counter = db.session.scalar(select(Counter).where(Counter.hall_id == hall_id, Counter.number == number,
                                                      Counter.active.is_(True)))
    if counter is None:
        raise NotFound(f"unknown counter {number!r}")
    return counter


def _staff_statement(_dialect: str) -> Select:
    return select(Counter.staff_id).where(Counter.hall_id == bindparam("hall"), Counter.number == bindparam("number"),
                                          Counter.active.is_(True))


def counter_staff(hall_id: int, number: int) -> int | None:
    """Who an active counter is open for (None: nobody), read alone: a counter request's check before its
    action, which reads the counter again itself (one statement built once, no object loaded)."""
    row = run_driver(db.session.connection(), _staff_statement, {"hall": hall_id, "number": number}).one_or_none()
    if row is None:
        raise NotFound(f"unknown counter {number!r}")
    return row.staff_id


def ticket_by_token(token: str) -> Ticket:
    ticket = db.session.scalar(select(Ticket).where(Ticket.token == token))
    if ticket is None:
        raise NotFound("unknown ticket")
    return ticket


def ticket_by_number(hall_id: int, number: str, business_day) -> Ticket:
    ticket = db.session.scalar(select(Ticket).where(Ticket.hall_id == hall_id, Ticket.number == number.upper(),
                                                    Ticket.business_day == business_day))
    if ticket is None:
        raise NotFound(f"no ticket {number!r} today")
    return ticket


def staff_by_login(login: str) -> Staff:
    staff = db.session.scalar(select(Staff).where(Staff.login == login))
    if staff is None:
        raise NotFound(f"unknown staff {login!r}")
    return staff
