"""A real-name issue on PostgreSQL as one call of the function `hall_issue_within_limit`: the visitor's
count once the hall is locked, idempotency keys, and the function the migrations made.

The races are made certain, not left to timing: an action of the hall holds the hall's row lock while
every kiosk's call reaches the server and waits for it, so each call's first statement started before
the others committed. Only a count taken after the lock (a new snapshot per statement) sees them.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError

from hall import queue
from hall.extensions import db
from hall.models import Hall, Ticket, TicketEvent
from hall.queue import limit_function, realname
from tests.resident_ids import resident_id
from tests.test_statement_counts import backends_waiting_on_locks, hold_hall_lock

pytestmark = pytest.mark.postgres

KIOSKS = 8


@pytest.fixture(autouse=True)
def every_call_at_the_lock(pg_app):
    """All of a race's calls wait on the hall's row lock (none in the process's places at it)."""
    pg_app.config["HALL"]["database"]["issues_at_the_lock"] = KIOSKS


def _calls_of_the_function() -> Callable[[], int]:
    """Counts the function's calls sent from now on (by every thread of the app)."""
    calls = []

    def on_statement(_conn, _cursor, statement, *_):
        if limit_function.NAME in statement:
            calls.append(1)

    event.listen(db.engine, "before_cursor_execute", on_statement)
    return lambda: len(calls)


def _issue(app, hall_id: int, **args) -> dict | str:
    with app.app_context():
        try:
            return queue.issue_ticket(hall_id, "C", **args)
        except realname.DailyLimitReached:
            return "refused"
        finally:
            db.session.remove()


def _all_at_once_behind_the_lock(app, hall_id: int, kiosks: int, **args) -> list[dict | str]:
    """`kiosks` issues sent while an action holds the hall's lock; released once all of them wait on it."""
    holding, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_hall_lock, args=(app, hall_id, holding, release))
    holder.start()
    assert holding.wait(10)
    try:
        with ThreadPoolExecutor(kiosks) as pool:
            sent = [pool.submit(_issue, app, hall_id, **args) for _ in range(kiosks)]
            deadline = time.monotonic() + 15
            while backends_waiting_on_locks() < kiosks and time.monotonic() < deadline:
                time.sleep(0.05)
            waiting = backends_waiting_on_locks()
            release.set()
            results = [future.result(timeout=30) for future in sent]
    finally:
        release.set()
        holder.join(10)
    assert waiting == kiosks, "every kiosk's issue waits on the hall's row lock at once"
    return results


def _assert_numbers_and_seqs_without_gaps(hall_id: int) -> None:
    numbers = sorted(db.session.scalars(select(Ticket.number).where(Ticket.hall_id == hall_id)))
    assert numbers == [f"C{n:03d}" for n in range(1, len(numbers) + 1)]
    seqs = sorted(set(db.session.scalars(select(TicketEvent.seq).where(TicketEvent.hall_id == hall_id))))
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert seqs[-1] == db.session.scalar(select(Hall.event_seq).where(Hall.id == hall_id))


def test_kiosks_racing_for_one_visitors_last_tickets_give_exactly_the_daily_limit(pg_app, pg_demo):
    """Eight kiosks send one visitor's ID at once, all their calls waiting on the hall's lock: exactly the
    daily limit (2) gets a ticket, the others are refused, and no number or event seq is lost."""
    queue.issue_ticket(pg_demo.id, "C", id_number=resident_id(1))  # the process knows the hall: C001
    db.session.commit()
    calls = _calls_of_the_function()
    results = _all_at_once_behind_the_lock(pg_app, pg_demo.id, KIOSKS, id_number=resident_id(2))
    assert calls() == KIOSKS
    assert sorted(r if r == "refused" else r["number"] for r in results) == ["C002", "C003"] + ["refused"] * 6
    mine = db.session.scalars(select(Ticket.number).where(Ticket.id_hash == realname.keyed_hash(resident_id(2))))
    assert sorted(mine) == ["C002", "C003"]
    _assert_numbers_and_seqs_without_gaps(pg_demo.id)
    db.session.commit()


def test_a_key_sent_by_several_kiosks_at_once_gives_one_real_name_ticket(pg_app, pg_demo):
    """The same tap (idempotency key) sent six times at once, all calls waiting on the hall's lock: each
    call's first look at the key is older than the first ticket's commit; its look after the lock sees
    it, and the issue answers with that ticket. One ticket, the same to all, no number lost."""
    queue.issue_ticket(pg_demo.id, "C", id_number=resident_id(1))
    db.session.commit()
    calls = _calls_of_the_function()
    results = _all_at_once_behind_the_lock(pg_app, pg_demo.id, 6, id_number=resident_id(2),
                                           idempotency_key="tap-at-kiosk-3")
    assert calls() == 6
    assert len({r["id"] for r in results}) == 1 and [bool(r.get("repeated")) for r in results].count(False) == 1
    assert results[0]["number"] == "C002"
    _assert_numbers_and_seqs_without_gaps(pg_demo.id)
    db.session.commit()


def test_a_hall_edited_meanwhile_sends_the_real_name_issue_the_general_way(pg_app, pg_demo):
    """The function checks the process's copy of the hall: a hall changed since (here its reset time)
    locks nothing and writes nothing; the issue goes the general way, which reads the hall again."""
    queue.issue_ticket(pg_demo.id, "C", id_number=resident_id(1))
    hall = db.session.get(Hall, pg_demo.id)
    hall.reset_at = hall.reset_at.replace(minute=30)
    db.session.commit()
    calls = _calls_of_the_function()
    ticket = queue.issue_ticket(pg_demo.id, "C", id_number=resident_id(1))
    assert calls() == 1 and ticket["number"] == "C002"
    assert queue.issue_ticket(pg_demo.id, "C", id_number=resident_id(2))["number"] == "C003"
    assert calls() == 2  # the copy read again serves the next issue
    _assert_numbers_and_seqs_without_gaps(pg_demo.id)
    db.session.commit()


def _the_code_changes_the_migrated_function() -> str | None:
    """What creating the code's function over the migrated one would change (undone after): None when
    nothing, else how it differs (a new body, or a second function beside it for other arguments, or
    PostgreSQL's refusal to change the result or an argument's name in place)."""
    definition = text("SELECT oid, pg_get_function_arguments(oid), pg_get_function_result(oid), prosrc"
                      " FROM pg_proc WHERE proname = :name ORDER BY oid")
    with db.engine.connect() as connection:
        transaction = connection.begin()
        try:
            migrated = connection.execute(definition, {"name": limit_function.NAME}).all()
            connection.exec_driver_sql(limit_function.CREATE_FUNCTION)
            created = connection.execute(definition, {"name": limit_function.NAME}).all()
        except DBAPIError as refused:
            return str(refused.orig)
        finally:
            transaction.rollback()
    return None if created == migrated else f"migrated: {migrated}\ncode: {created}"


def test_the_migrated_function_is_the_one_the_code_defines(pg_app):
    """The database's function (made by the migrations, each with its text frozen) is the one the code
    defines from the issue's parameters, the lock, the daily limit's count and the writes: arguments,
    result and body. A change to any of them needs a migration that creates it again."""
    difference = _the_code_changes_the_migrated_function()
    assert difference is None, (f"{limit_function.NAME} as hall/queue/limit_function.py defines it is not the one"
                                f" the migrations create: a new migration must create it.\n{difference}")
