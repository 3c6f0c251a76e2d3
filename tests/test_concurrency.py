"""Atomicity under load: many kiosks issuing while six counters call, on SQLite and PostgreSQL.

No number is issued twice, no ticket (stage) is called by two counters, every ticket is
accounted for. Real threads, each with its own database session, and real processes.
"""
from __future__ import annotations

import multiprocessing
import threading
import traceback
from collections import Counter as Tally
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from hall import create_app, queue
from hall.demo import create_demo_hall
from hall.extensions import db
from hall.models import OPEN_STATUSES, Hall, LineCount, Stage, Ticket, TicketEvent
from hall.queue.unit import subscribe
from tests.resident_ids import issue_args

ISSUERS, TICKETS = 16, 2000
SERVICES = ("A", "B", "C")


def _reported(app, errors: list, work: Callable[[], None]) -> None:
    """Run `work` on this thread in the app's context, with its own session; a failure goes into
    `errors`, for the test to report."""
    with app.app_context():
        try:
            work()
        except Exception:  # noqa: BLE001 — reported by the test
            errors.append(traceback.format_exc())
        finally:
            db.session.remove()


def _issue_many(app, hall_id: int, count: int, offset: int, errors: list) -> None:
    def issue() -> None:
        for i in range(count):
            prefix = SERVICES[(offset + i) % 3]
            queue.issue_ticket(hall_id, prefix, **issue_args(prefix, offset * count + i))
    _reported(app, errors, issue)


def _open_tickets(hall_id: int) -> int:
    count = db.session.scalar(select(func.count()).where(Ticket.hall_id == hall_id,
                                                         Ticket.status.in_(OPEN_STATUSES)))
    db.session.commit()
    return count


class HallActivity:
    """Counts the hall's published events, so an idle counter waits for the next one the way a
    counter screen does, instead of pressing Call next in a loop."""

    def __init__(self, app) -> None:
        self.events = 0
        self._changed = threading.Condition()
        subscribe(app, self._on_event)

    def _on_event(self, _event: dict) -> None:
        with self._changed:
            self.events += 1
            self._changed.notify_all()

    def wait_after(self, seen: int, timeout: float = 0.2) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.events != seen, timeout=timeout)


def _serve(app, hall_id: int, counter: int, issuing_done: threading.Event, activity: HallActivity, calls: list,
           errors: list) -> None:
    def serve() -> None:
        queue.open_counter(hall_id, counter)
        while not errors:  # one failing thread ends the day for all, to report it
            seen = activity.events
            event = queue.call_next(hall_id, counter)
            if event is None:
                if issuing_done.is_set() and not _open_tickets(hall_id):
                    return
                activity.wait_after(seen)
                continue
            calls.append((event["ticket"]["id"], event["ticket"]["stage"]["code"], counter))
            queue.finish(hall_id, counter)
    _reported(app, errors, serve)


def demo_hall_id() -> int:
    create_demo_hall()
    hall_id = db.session.scalar(select(Hall.id).where(Hall.slug == "demo"))
    db.session.commit()
    return hall_id


def run_hall_day(app) -> None:
    hall_id = demo_hall_id()
    errors: list[str] = []
    calls: list[tuple[int, str, int]] = []
    done = threading.Event()
    per_issuer = TICKETS // ISSUERS
    issuers = [threading.Thread(target=_issue_many, args=(app, hall_id, per_issuer, n, errors))
               for n in range(ISSUERS)]
    activity = HallActivity(app)
    counters = [threading.Thread(target=_serve, args=(app, hall_id, c, done, activity, calls, errors))
                for c in range(1, 7)]
    for thread in issuers + counters:
        thread.start()
    for thread in issuers:
        thread.join()
    done.set()
    for thread in counters:
        thread.join(timeout=600)
    assert not errors, errors[0]

    numbers = db.session.execute(select(Ticket.business_day, Ticket.number)).all()
    assert len(numbers) == TICKETS
    assert len(set(numbers)) == TICKETS, "a number was issued twice"
    per_prefix = Tally(number[0] for _day, number in numbers)
    for prefix, count in per_prefix.items():
        seqs = sorted(int(n[1:]) for _d, n in numbers if n[0] == prefix)
        assert seqs == list(range(1, count + 1)), f"gaps or repeats in {prefix}"

    called = Tally((ticket_id, stage) for ticket_id, stage, _counter in calls)
    assert max(called.values()) == 1, "a ticket stage was called twice"
    logged = db.session.execute(select(TicketEvent.ticket_id, func.count()).where(TicketEvent.kind == "called")
                                .group_by(TicketEvent.ticket_id)).all()
    assert sum(n for _t, n in logged) == len(calls)
    statuses = Tally(db.session.scalars(select(Ticket.status)).all())
    assert statuses == {"done": TICKETS}, statuses
    b_tickets = per_prefix["B"]
    assert len(calls) == TICKETS + 3 * b_tickets  # B cases pass four stages


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_issue_and_call_concurrently_on_sqlite(app):
    run_hall_day(app)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.postgres
def test_issue_and_call_concurrently_on_postgresql(pg_app):
    run_hall_day(pg_app)


def _issue_views(app, hall_id: int, count: int, offset: int, views: list, errors: list) -> None:
    def issue() -> None:
        for i in range(count):
            prefix = SERVICES[(offset + i) % 3]
            priority = "priority" if i == count - 1 else "normal"  # a head start is counted in the line
            views.append(queue.issue_ticket(hall_id, prefix, priority=priority,
                                            **issue_args(prefix, 10_000 + offset * count + i)))
    _reported(app, errors, issue)


@pytest.mark.timeout(120)
def test_what_an_issue_writes_under_concurrency(any_app):
    """Kiosks issuing at once: each ticket gets its own number, exactly one first stage and one
    "issued" event row, and its place in line (people ahead) is its own; the lines' running
    counts match the tickets (on PostgreSQL the number and the line are one statement, the
    ticket, its stage and its event another)."""
    hall_id = demo_hall_id()
    views, errors = [], []
    threads = [threading.Thread(target=_issue_views, args=(any_app, hall_id, 25, n, views, errors)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]
    assert len(views) == 200

    tickets = db.session.execute(select(Ticket.id, Ticket.number, Ticket.service_id, Ticket.stage_code,
                                        Ticket.estimated_wait_s, Ticket.seq, Ticket.issued_at, Ticket.priority,
                                        Ticket.sort_at)).all()
    numbers = Tally(t.number[0] for t in tickets)
    assert sorted(t.number for t in tickets) == sorted(
        f"{prefix}{n:03d}" for prefix, count in numbers.items() for n in range(1, count + 1)), "repeats or gaps"
    events = dict(db.session.execute(select(TicketEvent.ticket_id, TicketEvent.seq)
                                     .where(TicketEvent.kind == "issued")).all())
    for prefix in numbers:  # numbers follow the hall's event order and are issued (and called) in their order
        in_order = sorted((t for t in tickets if t.number[0] == prefix), key=lambda t: t.seq)
        assert [events[t.id] for t in in_order] == sorted(events[t.id] for t in in_order)
        assert [t.issued_at for t in in_order] == sorted(t.issued_at for t in in_order)
        normal = [t.sort_at for t in in_order if t.priority == "normal"]
        assert normal == sorted(normal)
    assert {t.id: t.estimated_wait_s for t in tickets} == {v["id"]: v["estimated_wait_s"] for v in views}
    stages = db.session.execute(select(Stage.ticket_id, Stage.position, Stage.code)).all()
    assert sorted(stages) == sorted((t.id, 0, t.stage_code) for t in tickets)
    issued = db.session.execute(select(TicketEvent.ticket_id, TicketEvent.seq, TicketEvent.data)
                                .where(TicketEvent.kind == "issued")).all()
    assert sorted((e.ticket_id, e.data["estimated_wait_s"]) for e in issued) == sorted(
        (t.id, t.estimated_wait_s) for t in tickets)
    assert len({e.seq for e in issued}) == len(issued)

    lines = Tally((t.service_id, t.stage_code) for t in tickets)
    assert {(c.service_id, c.stage_code): c.waiting for c in db.session.scalars(select(LineCount))} == dict(lines)
    for service in SERVICES:  # each place taken once: a normal ticket's among all, a priority one's among those
        in_line = [v for v in views if v["service"] == service]
        priority_tickets = sum(v["priority"] == "priority" for v in in_line)
        for priority, among in (("normal", len(in_line)), ("priority", priority_tickets)):
            places = [v["people_ahead"] for v in in_line if v["priority"] == priority]
            assert len(set(places)) == len(places) and max(places) < among, (service, priority, sorted(places))
    db.session.commit()


def _issue_with_keys(app, hall_id: int, keys: list[str], views: list, errors: list) -> None:
    _reported(app, errors, lambda: views.extend((key, queue.issue_ticket(hall_id, "A", idempotency_key=key))
                                                for key in keys))


@pytest.mark.timeout(60)
def test_an_idempotency_key_sent_by_several_kiosks_at_once_gives_one_ticket(any_app):
    """The same taps sent again at once (a kiosk retrying, on two server threads): one ticket per key,
    the same one to every sender, and no number lost to a refused write."""
    hall_id = demo_hall_id()
    queue.issue_ticket(hall_id, "A")  # the process knows the hall: issues take their quickest path
    keys = [f"tap-{n}" for n in range(10)]
    views, errors = [], []
    threads = [threading.Thread(target=_issue_with_keys, args=(any_app, hall_id, keys, views, errors))
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]
    by_key = {}
    for key, view in views:
        by_key.setdefault(key, set()).add(view["id"])
    assert len(views) == 6 * len(keys) and all(len(ids) == 1 for ids in by_key.values()), by_key
    assert sum(not view.get("repeated") for _, view in views) == len(keys)
    numbers = sorted(db.session.scalars(select(Ticket.number)))
    assert numbers == [f"A{n:03d}" for n in range(1, len(keys) + 2)]
    db.session.commit()


def _process_issuer(url: str, hall_id: int, count: int, offset: int, out) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        prefixes = [SERVICES[(offset + i) % 3] for i in range(count)]
        out.put([queue.issue_ticket(hall_id, p, **issue_args(p, offset * count + i))["number"]
                 for i, p in enumerate(prefixes)])


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_issue_from_several_processes(request, database):
    app = request.getfixturevalue("app" if database == "sqlite" else "pg_app")
    hall_id = demo_hall_id()
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    workers = [context.Process(target=_process_issuer, args=(url, hall_id, 100, n, out)) for n in range(4)]
    for worker in workers:
        worker.start()
    issued = [number for _ in workers for number in out.get(timeout=300)]
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert len(issued) == 400 and len(set(issued)) == 400
