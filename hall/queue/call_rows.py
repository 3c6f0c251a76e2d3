"""Calling the next ticket to a counter on rows, not ORM objects.

A call-next reads the counter, picks its best waiting ticket and writes the call: loading the counter
with its staff, services and their stages as ORM objects (one statement whose rows are services times
stages), building the candidate query from those objects and loading the ticket as an ORM object cost
more than the statements themselves. Here the counter is one row (with its staff member's name), its
links to services (which change only with the hall's layout, so `layout_version` tags a process's copy)
give a candidate statement compiled once per counter layout, the ticket is one row, and the writes are
driver statements by id on the action's connection. The event, the answer and the rows written are the
ORM path's (tests/test_call_rows.py compares them). The other counter actions use the same rows: the counter
with the ticket it holds and its stage (`held`), a ticket by its number (`numbered_ticket`) or by its id
(`ticket_row`: the ticket a refusal names), and the same writes (`close_stage`, `queue_at`, `write_call`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, bindparam, case, false, func, insert, or_, select
from sqlalchemy.engine import Connection

from hall import lines
from hall.database import DriverStatement, run_driver
from hall.models import Counter, CounterService, Hall, Service, Staff, Stage, Ticket
from hall.queue.errors import NotFound
from hall.queue.layout import ServiceCopy, services_of
from hall.queue.rows import write_row
from hall.queue.rules import sort_key
from hall.queue.stages import closing, mark_called_by_id
from hall.queue.views import counter_fields


@dataclass(frozen=True, slots=True)
class Link:
    """A service a counter serves (`CounterService`'s names), with its prefix for the counter's view."""

    service_id: int
    rank: int
    stages: list[str] | None
    prefix: str


def line_statement(links: tuple[Link, ...] | list[Any], counter_id: Any, hall_id: Any, day: Any) -> Select:
    """Waiting tickets a counter may call, best first: tickets sent to this counter first, then the
    counter's services in its priority order, then virtual arrival (class head start). The counter, hall
    and day are values or bound parameters."""
    served = [and_(Ticket.service_id == link.service_id,
                   or_(false(), *(Ticket.stage_code == code for code in link.stages))
                   if link.stages is not None else True)
              for link in links]
    rank = case({link.service_id: link.rank for link in links}, value=Ticket.service_id, else_=999)
    targeted = Ticket.target_counter_id == counter_id
    return (select(Ticket)
            .where(Ticket.hall_id == hall_id, Ticket.status == "waiting", Ticket.business_day == day,
                   or_(targeted, and_(Ticket.target_counter_id.is_(None), or_(false(), *served))))
            .order_by(case((targeted, 0), else_=1), rank, Ticket.sort_at, Ticket.id))


@dataclass(frozen=True, slots=True)
class CounterLayout:
    """A counter's links as of its hall's `layout_version`, and its statements compiled once: its best
    waiting ticket (`candidate`), and the counter's row with that ticket's (`calling`)."""

    counter_id: int
    version: int
    links: tuple[Link, ...]
    candidate: DriverStatement
    calling: DriverStatement


def _counter_statement(_dialect: str) -> Select:
    counters, staff = Counter.__table__, Staff.__table__
    return (select(counters.c.id, counters.c.number, counters.c.name, counters.c.zone, counters.c.status,
                   counters.c.status_since, counters.c.staff_id, counters.c.current_ticket_id,
                   staff.c.name.label("staff_name"))
            .select_from(counters.outerjoin(staff, staff.c.id == counters.c.staff_id))
            .where(counters.c.hall_id == bindparam("hall"), counters.c.number == bindparam("number"),
                   counters.c.active.is_(True)))


def _links_statement(_dialect: str) -> Select:
    return (select(CounterService.service_id, CounterService.rank, CounterService.stages, Service.prefix)
            .join(Service, Service.id == CounterService.service_id)
            .where(CounterService.counter_id == bindparam("counter"))
            .order_by(CounterService.rank, CounterService.id))


def counter_row(connection: Connection, hall_id: int, number: int) -> Any:
    """An active counter of a hall as a row (with `staff_name`); NotFound as `counter_by_number`."""
    row = run_driver(connection, _counter_statement, {"hall": hall_id, "number": number}).one_or_none()
    if row is None:
        raise NotFound(f"unknown counter {number!r}")
    return row


def _kept() -> tuple[dict[int, CounterLayout], dict[tuple[int, int], int]]:
    """This process's counter layouts by counter id, and counter ids by (hall id, number)."""
    extensions = current_app.extensions
    if "hall_counter_layouts" not in extensions:
        extensions["hall_counter_layouts"] = ({}, {})
    return extensions["hall_counter_layouts"]


def counter_layout(connection: Connection, counter_id: int, version: int) -> CounterLayout:
    """The counter's links and statements, read and compiled again when its hall's layout moved."""
    layouts, _numbers = _kept()
    layout = layouts.get(counter_id)
    if layout is None or layout.version != version:
        links = tuple(Link(*row) for row in run_driver(connection, _links_statement, {"counter": counter_id}).all())
        best = line_statement(links, bindparam("counter"), bindparam("hall"), bindparam("day")).limit(1) \
            .with_for_update(skip_locked=True)
        tickets = Ticket.__table__
        best_id = best.with_only_columns(tickets.c.id).correlate(None).scalar_subquery()
        calling = (_counter_statement(connection.dialect.name)
                   .add_columns(*(column.label(f"ticket_{column.name}") for column in tickets.c))
                   .outerjoin(tickets, tickets.c.id == best_id)
                   .where(Counter.__table__.c.id == bindparam("counter")))
        layout = layouts[counter_id] = CounterLayout(
            counter_id, version, links, DriverStatement(best, connection.dialect, ["counter", "hall", "day"]),
            DriverStatement(calling, connection.dialect, ["counter", "hall", "number", "day"]))
    return layout


def counter_and_next(connection: Connection, hall_id: int, number: int, version: int,
                     day: date) -> tuple[Any, Any, CounterLayout]:
    """An active counter of a hall (as `counter_row`), its best waiting ticket (every ticket column; None
    when nobody waits for it; PostgreSQL: locked, skipping tickets another transaction holds) and its
    layout. One statement once this process knows the counter's layout; NotFound as `counter_by_number`."""
    layouts, numbers = _kept()
    layout = layouts.get(numbers.get((hall_id, number)))
    if layout is not None and layout.version == version:
        row = layout.calling.execute(connection, {"counter": layout.counter_id, "hall": hall_id, "number": number,
                                                  "day": day}).one_or_none()
        if row is not None:  # else the number is another counter's now, or none's
            counter, ticket, _stage = _split(row._asdict())
            return counter, ticket, layout
    counter = counter_row(connection, hall_id, number)
    layout = counter_layout(connection, counter.id, version)
    numbers[(hall_id, number)] = counter.id
    ticket = layout.candidate.execute(connection, {"counter": counter.id, "hall": hall_id, "day": day}).one_or_none()
    return counter, SimpleNamespace(**ticket._asdict()) if ticket is not None else None, layout


class _CounterNumber:
    """What a ticket's view reads of a counter it names."""

    __slots__ = ("number",)

    def __init__(self, number: int) -> None:
        self.number = number


class TicketRow:
    """A ticket's columns as the action has just written them, with its service's copy and the numbers of
    the counters it names (among `counters`, rows with an id and a number): the names match `Ticket`'s, so
    `ticket_view` takes it."""

    def __init__(self, values: dict[str, Any], service: ServiceCopy, *counters: Any) -> None:
        self.__dict__.update(values)
        self.service = service
        numbers = {counter.id: counter.number for counter in counters}
        self.counter = _CounterNumber(numbers[self.counter_id]) if self.counter_id in numbers else None
        self.target_counter = (_CounterNumber(numbers[self.target_counter_id])
                               if self.target_counter_id in numbers else None)


def called_ticket(row: Any, service: ServiceCopy, counter: Any, now: datetime) -> TicketRow:
    """The ticket row as the call has just written it."""
    return TicketRow({**vars(row), "status": "called", "counter_id": counter.id, "called_at": now,
                      "target_counter_id": None, "recall_count": 0}, service, counter)


def counter_view_of(counter: Any, layout: CounterLayout, current_ticket_id: int | None) -> dict[str, Any]:
    """`views.counter_view` of a counter row and its layout, holding `current_ticket_id`."""
    return counter_fields(counter, counter.staff_name, [link.prefix for link in layout.links], current_ticket_id)


_TICKETS, _COUNTERS = Ticket.__table__, Counter.__table__


def write_call(connection: Connection, ticket: Any, counter: Any, staff_id: int | None, now: datetime) -> None:
    """The call's rows: the ticket leaves its line, is called to the counter (its current stage too), and
    the counter holds it; the same statements as the ORM path's `rows.write`s."""
    lines.leave(ticket, connection)
    write_row(connection, _TICKETS, ticket.id, status="called", counter_id=counter.id, called_at=now,
              target_counter_id=None, recall_count=0)
    mark_called_by_id(connection, ticket.id, counter.id, staff_id, now)
    write_row(connection, _COUNTERS, counter.id, current_ticket_id=ticket.id)


def service_of(hall: Any, service_id: int) -> ServiceCopy:
    """The ticket's service as the process's copy of the hall's layout has it."""
    return services_of(hall).by_id[service_id]


@dataclass(frozen=True, slots=True)
class Held:
    """A counter (as `counter_row`'s row) with the ticket it holds and that ticket's current stage, as rows
    (`ticket` and `stage` None when it holds none)."""

    counter: Any
    ticket: Any
    stage: Any


def _held_statement(_dialect: str) -> Select:
    counters, tickets, stages = Counter.__table__, Ticket.__table__, Stage.__table__
    last = stages.alias("last_stage")
    current = select(func.max(last.c.id)).where(last.c.ticket_id == tickets.c.id).scalar_subquery()
    return (_counter_statement(_dialect)
            .add_columns(*(c.label(f"ticket_{c.name}") for c in tickets.c),
                         *(c.label(f"stage_{c.name}") for c in stages.c))
            .outerjoin(tickets, tickets.c.id == counters.c.current_ticket_id)
            .outerjoin(stages, stages.c.id == current))


def _part(row: dict[str, Any], prefix: str) -> Any:
    values = {name[len(prefix):]: value for name, value in row.items() if name.startswith(prefix)}
    return SimpleNamespace(**values) if values.get("id") is not None else None


def _split(row: dict[str, Any]) -> tuple[Any, Any, Any]:
    """A counter row joined to a ticket's (`ticket_` columns) and a stage's (`stage_`): the three as
    namespaces, the ticket or the stage None when the join found none."""
    counter = SimpleNamespace(**{name: value for name, value in row.items()
                                 if not name.startswith(("ticket_", "stage_")) or name == "current_ticket_id"})
    return counter, _part(row, "ticket_"), _part(row, "stage_")


def held(connection: Connection, hall_id: int, number: int) -> Held:
    """An active counter of a hall, the ticket it holds and that ticket's current stage, in one statement;
    NotFound as `counter_by_number`."""
    row = run_driver(connection, _held_statement, {"hall": hall_id, "number": number}).one_or_none()
    if row is None:
        raise NotFound(f"unknown counter {number!r}")
    return Held(*_split(row._asdict()))


_STAGES = Stage.__table__
_INSERT_STAGE = insert(_STAGES)


def close_stage(connection: Connection, stage: Any, outcome: str, now: datetime, *, finished: bool = True,
                notice: dict | None = None) -> None:
    """`stages.close_stage` on the stage's row."""
    values, handled_s = closing(stage, outcome, now, finished=finished, notice=notice)
    write_row(connection, _STAGES, stage.id, **values)
    if handled_s is not None:
        lines.record_handling(stage.service_id, stage.code, handled_s, connection)


def queue_at_next_stage(connection: Connection, ticket: Any, service: ServiceCopy, now: datetime) -> dict[str, Any]:
    """`stages.queue_at_stage` of the service's next stage, at the back of its line; returns what moved."""
    return queue_at(connection, ticket, service, ticket.stage_position + 1, now, keep_place=False)


def queue_at(connection: Connection, ticket: Any, service: ServiceCopy, position: int, now: datetime, *,
             keep_place: bool, **also: Any) -> dict[str, Any]:
    """`stages.queue_at_stage` on the ticket's row (a stage of `service`, keeping the ticket's virtual arrival
    or not), with `also` written in the same UPDATE; returns what moved."""
    code = service.stages[position].code
    moved = dict(service_id=service.id, stage_position=position, stage_code=code, status="waiting", queued_at=now,
                 called_at=None, recall_count=0, **also)
    if not keep_place:
        moved["sort_at"] = sort_key(now, ticket.priority)
    write_row(connection, _TICKETS, ticket.id, **moved)
    run_driver(connection, _INSERT_STAGE, {"ticket_id": ticket.id, "hall_id": ticket.hall_id,
                                          "business_day": ticket.business_day, "service_id": service.id,
                                          "position": position, "code": code, "queued_at": now})
    lines.join_line(connection, ticket.hall_id, ticket.business_day, service.id, code)
    return moved


def _ticket_with_counters() -> Select:
    tickets, halls = Ticket.__table__, Hall.__table__
    at, to = Counter.__table__.alias("at_counter"), Counter.__table__.alias("to_counter")
    return (select(tickets, at.c.number.label("counter_number"), to.c.number.label("target_counter_number"),
                   halls.c.noshow_grace_s)
            .select_from(tickets.join(halls, halls.c.id == tickets.c.hall_id)
                         .outerjoin(at, at.c.id == tickets.c.counter_id)
                         .outerjoin(to, to.c.id == tickets.c.target_counter_id)))


def _numbered_statement(_dialect: str) -> Select:
    tickets = Ticket.__table__
    return _ticket_with_counters().where(tickets.c.hall_id == bindparam("hall"),
                                         tickets.c.number == bindparam("number"),
                                         tickets.c.business_day == bindparam("day"))


def _ticket_statement(_dialect: str) -> Select:
    return _ticket_with_counters().where(Ticket.__table__.c.id == bindparam("id"))


def numbered_ticket(connection: Connection, hall_id: int, number: str, day: date) -> Any:
    """A hall's ticket of the day by its number, as a row (every ticket column), with the numbers of the
    counters it names (`counter_number`, `target_counter_number`) and the hall's `noshow_grace_s`, in one
    statement; NotFound as `lookup.ticket_by_number`."""
    row = run_driver(connection, _numbered_statement, {"hall": hall_id, "number": number.upper(),
                                                      "day": day}).one_or_none()
    if row is None:
        raise NotFound(f"no ticket {number!r} today")
    return SimpleNamespace(**row._asdict())


def ticket_row(connection: Connection, ticket_id: int) -> Any:
    """A ticket by its id, as `numbered_ticket` gives it (a counter's ticket a refusal names)."""
    return SimpleNamespace(**run_driver(connection, _ticket_statement, {"id": ticket_id}).one()._asdict())


def named_counters(ticket: Any) -> list[SimpleNamespace]:
    """The counters a `numbered_ticket` names (its counter, its target), for `TicketRow`."""
    return [SimpleNamespace(id=counter_id, number=number) for counter_id, number in (
        (ticket.counter_id, ticket.counter_number), (ticket.target_counter_id, ticket.target_counter_number))
        if counter_id is not None]
