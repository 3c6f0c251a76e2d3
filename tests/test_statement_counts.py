"""What one queue action costs the database: statements, transactions and connection checkouts.

Every action of a hall waits on the hall's write lock, so what runs inside it sets how many
tickets a hall can issue per second. The ceilings hold on SQLite and PostgreSQL, whatever the
queue's length, counted over the whole HTTP request.
"""
from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from sqlalchemy import event, select, text

from hall import queue
from hall.demo import create_demo_hall
from hall.extensions import db
from hall.models import Hall
from hall.queue import unit as queue_unit
from hall.queue.realname import simulated_id_number
from tests.conftest import make_app

#: Statements of the request's one transaction (BEGIN included, COMMIT counted apart). Before the
#: running line counts: 15 per issue in two transactions (13 + 2 BEGIN), 26 per call-next in three.
#: An issue: BEGIN, the lock, the number, the line, the ticket, its stage, the event (7), and a real-name
#: service's count of the visitor's tickets; the services and the estimate's slow inputs are the
#: process's copies (tests/test_issue_copies.py). A call-next: the bearer token with its staff and hall
#: read in one statement (13 before). A call-next: BEGIN, the bearer token, the lock, the counter (with its
#: staff member's name; who it is open for is checked on it: no read of its own before) and its best waiting
#: ticket in one statement, the line, the ticket, its stage, the counter's hold and the event (11 before:
#: the counter's check, the counter and the ticket read apart). A finish: BEGIN, the token, the lock, the counter with the ticket it holds and that
#: ticket's stage (one statement), the stage, its handling time, the counter, the ticket and the event (12
#: before: the check, the counter, the ticket and the stage read apart).
#: A transfer: BEGIN, the token, the lock, the counter with its ticket and stage, the target counter (when one is
#: named), the stage closed, the counter freed, the ticket moved (and sent to the target), its new stage, the
#: line it joins, the event (15 before: the counter with its services and stages, the ticket, its stages, the
#: target service with its stages and the target counter loaded as objects, the target written apart). A call
#: by number: BEGIN, the token, the lock, the counter, the ticket by number (with the numbers of the counters
#: it names and the hall's no-show grace), the line, the ticket, its stage, the counter, the event (10 before
#: too, with objects). A reinstate: BEGIN, the token, the lock, the ticket by number, the ticket, its new stage,
#: the line, the event (14 before, in two transactions: the token and the hall read before the action's).
CEILINGS = {"issue": 8, "call_next": 9, "finish": 9, "recall": 6, "start": 7, "no_show": 8,
            "transfer": 11, "call_ticket": 10, "reinstate": 8}
#: A call by number of a no-show still within its grace: the reinstate's writes first (the ticket, its new
#: stage, the line, its event row).
REINSTATED = 4
#: On PostgreSQL an issue is one call in autocommit, no BEGIN or COMMIT sent: a common one (service A) one
#: statement (the lock, the number, the line, the ticket, its stage and its event; 5 round trips before:
#: BEGIN, the lock, the number and line, the rows, COMMIT), a real-name one (C) one call of the function
#: that also counts the visitor's tickets once the hall is locked (4 before: BEGIN, the lock, the count
#: and the rows, COMMIT).
POSTGRES_CEILINGS = {**CEILINGS, "issue": 1}
#: A hall's first issue in a new process: the hall, its services and stages, the estimate's picture, read
#: outside the lock in one transaction, then the one call.
FIRST_ISSUE_IN_A_PROCESS = 12
#: After the commit, event subscribers may read (the turn-near notifier: one statement, on the action's own
#: connection before it goes back to the pool: no BEGIN, no second checkout; both before).
AFTER_COMMIT = 1


@pytest.fixture
def app(any_app):
    # the hall's picture, read by the first issue, stays young enough for the whole test
    any_app.config["HALL"]["queue"]["estimate_inputs_max_age_s"] = 600
    return any_app


@dataclass
class Cost:
    statements: list[str] = field(default_factory=list)
    #: Whether each statement ran on a connection in autocommit (on PostgreSQL no BEGIN, no COMMIT sent).
    autocommit: list[bool] = field(default_factory=list)
    commits: int = 0
    checkouts: int = 0
    #: How many statements had run at the first commit.
    committed_after: int | None = None

    @property
    def in_transaction(self) -> list[str]:
        return self.statements[:self.committed_after]

    @property
    def after_commit(self) -> list[str]:
        return self.statements[self.committed_after:]


@contextlib.contextmanager
def cost() -> Cost:
    """Count what reaches the database from this thread (the request's) while the block runs: not what
    the app's background tasks send meanwhile (the lobby's waiting counts, read an interval later)."""
    engine, seen, mine = db.engine, Cost(), threading.get_ident()

    def on_statement(_conn, cursor, statement, *_):
        if threading.get_ident() == mine:
            seen.statements.append(" ".join(statement.split()))
            seen.autocommit.append(bool(getattr(cursor.connection, "autocommit", False)))

    def on_commit(_conn):
        if threading.get_ident() == mine:
            seen.commits += 1
            if seen.committed_after is None:
                seen.committed_after = len(seen.statements)

    def on_checkout(*_):
        if threading.get_ident() == mine:
            seen.checkouts += 1

    listeners = [(engine, "before_cursor_execute", on_statement), (engine, "commit", on_commit),
                 (engine.pool, "checkout", on_checkout)]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield seen
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)


def assert_one_transaction(seen: Cost, ceiling: int, after_commit: int = 0) -> None:
    listing = "\n".join(s[:120] for s in seen.statements)
    assert seen.commits == 1, listing
    assert len(seen.in_transaction) <= ceiling, f"{len(seen.in_transaction)} statements:\n{listing}"
    assert len(seen.after_commit) <= after_commit, listing
    assert seen.checkouts == 1, listing


@pytest.mark.parametrize("service", ["A", "C"])  # C: real-name, its daily limit counted
def test_issuing_a_ticket_is_one_short_transaction(app, demo, service):
    client = app.test_client()
    visitors = iter(range(100))

    def issue():
        body = {"service": service, "id_number": simulated_id_number(next(visitors))}
        return client.post("/api/v1/halls/demo/tickets", json=body)

    issue()  # the line and its day exist, this process has the hall's services and picture
    for n in range(3):
        with cost() as seen:
            response = issue()
        assert response.status_code == 201 and response.get_json()["people_ahead"] == n + 1
        if db.engine.dialect.name != "postgresql":
            assert_one_transaction(seen, CEILINGS["issue"])
        else:  # one call in autocommit, on the connection kept for it: no BEGIN, nothing to commit, no checkout
            assert len(seen.statements) <= POSTGRES_CEILINGS["issue"], seen.statements
            assert seen.autocommit == [True] and seen.commits == 0 and seen.checkouts == 0
        # nothing reads the waiting line (only, on a real-name service, the visitor's own tickets by
        # their ID's index, and an idempotency key by its index): issuing costs the same with 20 000
        # tickets waiting as with none
        assert not [s for s in seen.statements if "SELECT" in s and " FROM tickets " in s
                    and "tickets.id_hash = " not in s and "tickets.idempotency_key = " not in s]


@pytest.mark.postgres
@pytest.mark.parametrize("service", ["A", "C"])
def test_a_halls_first_issue_in_a_new_process_is_one_call_too(pg_app, pg_demo, service):
    """A new server process (a second app on the database) has no copy of the hall yet: it reads one
    outside the hall's lock, with the services and the estimate's picture, and its very first issue is
    the one call (no BEGIN, no COMMIT): the hall's row is locked only while that call runs."""
    body = {"service": service, "id_number": simulated_id_number(1)}
    pg_app.test_client().post("/api/v1/halls/demo/tickets", json=body)  # in this process: the line and day exist
    fresh = make_app(pg_app.config["SQLALCHEMY_DATABASE_URI"])
    with fresh.app_context():
        try:
            with cost() as seen:
                response = fresh.test_client().post("/api/v1/halls/demo/tickets",
                                                    json={**body, "id_number": simulated_id_number(2)})
            listing = "\n".join(s[:120] for s in seen.statements)
            assert response.status_code == 201 and response.get_json()["people_ahead"] == 1
            assert not [s for s in seen.statements[:-1] if "UPDATE halls" in s], listing
            assert seen.autocommit[-1] and seen.committed_after == len(seen.statements) - 1, \
                listing  # the reads' transaction ends before the call
            assert len(seen.statements) <= FIRST_ISSUE_IN_A_PROCESS, listing
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("service", ["A", "C"])  # C: the real-name function's one call
def test_a_one_call_issue_runs_on_a_kept_autocommit_connection_and_the_pools_stay_transactional(pg_app, pg_demo,
                                                                                                service):
    """The one call runs in autocommit by the driver's flag alone, on a connection the process keeps for such
    calls: no connection option set (SQLAlchemy's isolation level, set at the use and reset at the checkin,
    cost a fifth of the call's Python), no pool checkout or checkin (as much again). The pool's connections
    stay out of autocommit, so a request's transaction is one."""
    client, visitors = pg_app.test_client(), iter(range(100))

    def issue():
        return client.post("/api/v1/halls/demo/tickets",
                           json={"service": service, "id_number": simulated_id_number(next(visitors))})

    issue()  # the line and its day exist, this process has the hall's copies and the call's connection
    options_set: list[dict] = []

    def on_options(_connection, options: dict) -> None:
        options_set.append(options)

    checkins: list[object] = []
    event.listen(db.engine, "set_connection_execution_options", on_options)
    event.listen(db.engine.pool, "checkin", lambda *_: checkins.append(_))
    try:
        with cost() as seen:
            assert issue().status_code == 201
    finally:
        event.remove(db.engine, "set_connection_execution_options", on_options)
    assert seen.autocommit == [True] and seen.checkouts == 0 and checkins == [] and options_set == []
    with db.engine.connect() as connection:  # one of the pool's
        assert connection.connection.dbapi_connection.autocommit is False
        connection.execute(text("UPDATE halls SET name_en = 'undone' WHERE slug = 'demo'"))
        connection.rollback()
        assert connection.scalar(text("SELECT name_en FROM halls WHERE slug = 'demo'")) != "undone"


@pytest.mark.postgres
def test_a_kept_connection_the_server_ended_is_replaced_and_goes_back_to_the_pool_out_of_autocommit(pg_app, pg_demo):
    """A kept connection is checked before each use as the pool checks its own: one whose session the server
    ended (a restart, an administrator, an idle timeout) is given back to the pool (which drops it) and the
    issue runs on another, without an error. Kept connections are the pool's own (the connection budget
    counts them): at most a third of the pool stays kept, and a connection given back is out of autocommit."""
    from hall.database import kept_autocommit
    client = pg_app.test_client()
    kept = kept_autocommit(db.engine)
    assert client.post("/api/v1/halls/demo/tickets", json={"service": "A"}).status_code == 201
    (connection, _since), = kept.idle
    server_pid = connection.connection.dbapi_connection.info.backend_pid
    with db.engine.connect() as admin:
        assert admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": server_pid})
    time.sleep(0.2)  # the server's goodbye reaches the socket
    for _ in range(2):
        assert client.post("/api/v1/halls/demo/tickets", json={"service": "A"}).status_code == 201
    (replacement, _since), = kept.idle
    assert replacement is not connection and replacement.connection.dbapi_connection.info.backend_pid != server_pid
    assert connection.closed

    taken = [kept.take() for _ in range(kept.most + 3)]  # a peak: more out at once than are kept
    assert db.engine.pool.checkedout() == kept.most + 3 and all(c.connection.dbapi_connection.autocommit for c in taken)
    for each in taken:
        kept.give_back(each)
    assert len(kept.idle) == kept.most == db.engine.pool.size() // 3 and db.engine.pool.checkedout() == kept.most
    with db.engine.connect() as pooled:  # the last given back to the pool
        assert pooled.connection.dbapi_connection.autocommit is False
    db.engine.dispose()  # kept connections go back too
    assert kept.idle == [] and all(c.closed for c in taken)


def test_with_the_picture_reader_no_issue_of_a_hall_in_use_reads_its_picture(app, demo):
    """A server process's picture reader keeps the estimate picture of a hall in use younger than the
    max age, on its own connection: after the hall's first issue, no issue reads the picture (those
    reads set the ten-hall p99), while the copy is renewed every quarter of the max age."""
    from hall import pictures
    app.config["HALL"]["queue"]["estimate_inputs_max_age_s"] = 1.0
    reader = pictures.start_reader(app)
    client = app.test_client()
    try:
        client.post("/api/v1/halls/demo/tickets", json={"service": "A"})  # the hall's first: reads it
        first = pictures._kept()[demo.id]
        with cost() as seen:
            deadline = time.monotonic() + 2.5
            while time.monotonic() < deadline:
                assert client.post("/api/v1/halls/demo/tickets", json={"service": "A"}).status_code == 201
                time.sleep(0.02)
        renewed = pictures._kept()[demo.id]
    finally:
        reader.stop(timeout=5)
    assert not reader.task.is_alive()  # stopped at once
    assert not [s for s in seen.statements if "FROM counters" in s], "\n".join(seen.statements)
    assert reader.rounds >= 3 and renewed.taken > first.taken + 1.5
    db.session.commit()


def test_calling_the_next_ticket_is_one_short_transaction(app, demo):
    client = app.test_client()
    staff = {"Authorization": f"Bearer {demo.token('staff1')}"}
    client.post("/api/v1/halls/demo/counters/1/open", headers=staff)  # the token's use is noted once a minute
    for _ in range(3):
        queue.issue_ticket(demo.id, "A")
    for path in ("call-next", "finish"):  # this process has the counter's copy of its services
        client.post(f"/api/v1/halls/demo/counters/1/{path}", headers=staff)
    for _ in range(2):
        for action, ceiling in (("call-next", CEILINGS["call_next"]), ("finish", CEILINGS["finish"])):
            with cost() as seen:
                response = client.post(f"/api/v1/halls/demo/counters/1/{action}", headers=staff)
            assert response.status_code == 200
            assert_one_transaction(seen, ceiling, AFTER_COMMIT)
            # the notifier's read (the ticket now near its turn; the finished ticket's contact) ran, on the
            # action's connection (one checkout), with no BEGIN of its own
            [read] = seen.after_commit
            assert read.startswith("SELECT tickets.number") and " FROM tickets " in read, read
            # the counter is read once, under the hall's lock (the staff check is made on that read)
            lock = next(n for n, s in enumerate(seen.statements) if s.startswith("UPDATE halls"))
            reads = [n for n, s in enumerate(seen.statements) if " FROM counters" in s]
            assert len(reads) == 1 and reads[0] > lock, "\n".join(seen.statements)


def test_recall_start_and_no_show_are_one_short_transaction(app, demo):
    """The counter with its ticket and that ticket's stage is one read, under the hall's lock."""
    client = app.test_client()
    staff = {"Authorization": f"Bearer {demo.token('staff1')}"}
    client.post("/api/v1/halls/demo/counters/1/open", headers=staff)
    for _ in range(4):
        queue.issue_ticket(demo.id, "A")
    for path in ("call-next", "recall", "start", "finish"):  # this process has the counter's copy of its services
        client.post(f"/api/v1/halls/demo/counters/1/{path}", headers=staff)
    for actions in (("call-next", "recall", "start", "finish"), ("call-next", "no-show")):
        for action in actions:
            with cost() as seen:
                response = client.post(f"/api/v1/halls/demo/counters/1/{action}", headers=staff)
            assert response.status_code == 200, response.json
            ceiling = CEILINGS.get(action.replace("-", "_"))
            if action in ("recall", "start", "no-show"):
                assert_one_transaction(seen, ceiling)
                lock = next(n for n, s in enumerate(seen.statements) if s.startswith("UPDATE halls"))
                reads = [n for n, s in enumerate(seen.statements) if " FROM counters" in s or " FROM tickets" in s]
                assert len(reads) == 1 and reads[0] > lock, "\n".join(seen.statements)


def test_transfer_call_by_number_and_reinstate_are_one_short_transaction(app, demo):
    """The counter (with its ticket and stage, for a transfer) and the ticket by its number are read once
    each, under the hall's lock; the target service's stages are the process's copy of the hall's layout."""
    client = app.test_client()
    staff = {"Authorization": f"Bearer {demo.token('staff1')}"}
    client.post("/api/v1/halls/demo/counters/1/open", headers=staff)
    client.post("/api/v1/halls/demo/counters/2/open", headers=staff)
    numbers = [queue.issue_ticket(demo.id, "A")["number"] for _ in range(6)]
    client.post("/api/v1/halls/demo/counters/1/call-next", headers=staff)  # the counters' copies of their services
    client.post("/api/v1/halls/demo/counters/1/finish", headers=staff)

    def counted(path: str, body: dict | None, ceiling: int) -> list[str]:
        with cost() as seen:
            response = client.post(f"/api/v1/halls/demo/{path}", headers=staff, json=body)
        assert response.status_code == 200, response.json
        assert_one_transaction(seen, ceiling, AFTER_COMMIT)
        lock = next(n for n, s in enumerate(seen.statements) if s.startswith("UPDATE halls"))
        assert lock <= 2 and not [s for s in seen.in_transaction[lock:] if "FROM services" in s
                                  or "FROM service_stages" in s], "\n".join(seen.statements)
        return seen.in_transaction

    client.post("/api/v1/halls/demo/counters/1/call-next", headers=staff)
    counted("counters/1/transfer", {"service": "B", "stage": "review", "counter": 2}, CEILINGS["transfer"])
    client.post("/api/v1/halls/demo/counters/1/call-next", headers=staff)
    counted("counters/1/transfer", {"service": "B"}, CEILINGS["transfer"])
    counted("counters/1/call", {"number": numbers[3]}, CEILINGS["call_ticket"])
    client.post("/api/v1/halls/demo/counters/1/no-show", headers=staff)
    counted(f"tickets/{numbers[3]}/reinstate", None, CEILINGS["reinstate"])
    client.post("/api/v1/halls/demo/counters/1/call", headers=staff, json={"number": numbers[3]})
    client.post("/api/v1/halls/demo/counters/1/no-show", headers=staff)
    counted("counters/1/call", {"number": numbers[3]}, CEILINGS["call_ticket"] + REINSTATED)


def hold_hall_lock(app, hall_id: int, holding: threading.Event, release: threading.Event) -> None:
    """Run a hall action that holds the hall's lock from `holding` until `release` (with its event row)."""
    with app.app_context():
        with queue_unit.hall_action(hall_id) as action:
            holding.set()
            release.wait(10)
            action.log("held")
            action.publish("held")
        db.session.remove()


def _issue_in(app, hall_id: int, priority: str = "normal") -> str:
    with app.app_context():
        try:
            return queue.issue_ticket(hall_id, "A", priority=priority)["number"]
        finally:
            db.session.remove()


@pytest.mark.postgres
def test_halls_do_not_wait_for_each_other_on_postgresql(pg_app, pg_demo):
    """While one hall's action holds its lock, another hall issues at once; the first hall's own
    actions wait for it."""
    create_demo_hall("other")
    other = db.session.scalar(select(Hall.id).where(Hall.slug == "other"))
    db.session.commit()
    holding, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_hall_lock, args=(pg_app, pg_demo.id, holding, release))
    holder.start()
    assert holding.wait(10)
    with ThreadPoolExecutor(2) as pool:
        same_hall, other_hall = (pool.submit(_issue_in, pg_app, pg_demo.id),
                                 pool.submit(_issue_in, pg_app, other))
        assert other_hall.result(timeout=5) == "A001"
        time.sleep(0.3)
        assert not same_hall.done()  # serialised behind the held lock of its own hall
        release.set()
        assert same_hall.result(timeout=10) == "A001"
    holder.join(10)


def backends_waiting_on_locks() -> int:
    """Backends of this database waiting for a lock (the hall's row lock, here)."""
    with db.engine.connect() as connection:
        return connection.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                      " AND datname = current_database()"))


def _issues_waiting_behind_a_held_lock(app, hall_id: int, monkeypatch, issues: int,
                                       cases: tuple[tuple[float, int], ...], priority: str = "normal") -> None:
    """For each (turn wait, backends expected on the row lock): `issues` issues start while another
    action holds the hall's lock; once it is released, each gets a number of its own."""
    holding, release = threading.Event(), threading.Event()
    for turn_wait_s, on_the_lock in cases:
        monkeypatch.setitem(app.config["HALL"]["database"], "turn_wait_s", turn_wait_s)
        holding.clear(), release.clear()
        holder = threading.Thread(target=hold_hall_lock, args=(app, hall_id, holding, release))
        holder.start()
        assert holding.wait(10)
        with ThreadPoolExecutor(issues) as pool:
            issued = [pool.submit(_issue_in, app, hall_id, priority) for _ in range(issues)]
            time.sleep(0.6)
            assert backends_waiting_on_locks() == on_the_lock
            release.set()
            assert len({future.result(timeout=10) for future in issued}) == issues
        holder.join(10)


@pytest.mark.postgres
def test_a_processs_actions_of_a_hall_take_turns_before_the_row_lock(pg_app, pg_demo, monkeypatch):
    """While an action of a hall runs, the process's next actions of that hall wait for their turn in
    the process, not all on the database's row lock; a turn not had in time goes on to the lock. (Priority
    tickets: a normal one is one call that takes no turn.)"""
    _issues_waiting_behind_a_held_lock(pg_app, pg_demo.id, monkeypatch, 3, ((10.0, 0), (0.2, 3)), "priority")


@pytest.mark.postgres
@pytest.mark.parametrize("places", [2, 3])  # 2: config.toml's
def test_a_processs_one_call_issues_of_a_hall_wait_on_the_row_lock_as_many_at_a_time_as_set(pg_app, pg_demo,
                                                                                          monkeypatch, places):
    """Issues that are one call (common and real-name) wait on the hall's row lock `[database]
    issues_at_the_lock` at a time per process, the others in the process; a place not had in time goes
    on to the lock."""
    pg_app.config["HALL"]["database"]["issues_at_the_lock"] = places
    queue.issue_ticket(pg_demo.id, "A")  # the process knows the hall: the next issues are one call each
    db.session.commit()
    _issues_waiting_behind_a_held_lock(pg_app, pg_demo.id, monkeypatch, 4, ((10.0, places), (0.2, 4)))


@pytest.mark.postgres
def test_an_issue_whose_line_moved_meanwhile_gets_the_estimate_of_its_place(pg_app, pg_demo, monkeypatch):
    """The one-statement issue writes the estimate it computed beforehand only when the line holds
    the count it expected; otherwise the estimate of the ticket's real place is written just after,
    in the ticket and in its "issued" event."""
    from hall import pictures
    from hall.models import Ticket, TicketEvent
    from hall.queue import one_statement
    from hall.queue.rules import today

    pg_app.config["HALL"]["queue"]["estimate_inputs_max_age_s"] = 600
    client = pg_app.test_client()
    client.post("/api/v1/halls/demo/tickets", json={"service": "A"})  # the process keeps the hall
    for _ in range(3):
        client.post("/api/v1/halls/demo/tickets", json={"service": "A"})
    monkeypatch.setattr(one_statement, "in_flight", lambda line: 7)  # expects 7 more ahead than there are
    with cost() as seen:
        view = client.post("/api/v1/halls/demo/tickets", json={"service": "A"}).get_json()
    assert seen.autocommit == [True, True] and "UPDATE tickets SET estimated_wait_s" in seen.statements[1]
    hall = db.session.get(Hall, pg_demo.id)
    picture = pictures.picture(hall.id, today(hall), hall.layout_version)
    service_id = db.session.scalar(select(Ticket.service_id).where(Ticket.id == view["id"]))
    line = (service_id, view["stage"]["code"])
    assert view["people_ahead"] == 4
    assert view["estimated_wait_s"] == picture.estimate(line, 4).wait_s != picture.estimate(line, 4 + 7).wait_s
    assert db.session.get(Ticket, view["id"]).estimated_wait_s == view["estimated_wait_s"]
    event = db.session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == view["id"]))
    assert event.data == {"priority": "normal", "channel": "kiosk", "estimated_wait_s": view["estimated_wait_s"]}
    db.session.commit()


@pytest.mark.postgres
@pytest.mark.parametrize("service", ["A", "C"])  # C: real-name, through the issue's function
def test_an_issue_in_a_line_another_process_issues_in_writes_its_estimate_in_the_one_call(pg_app, pg_demo,
                                                                                        service):
    """Another process's issues move the line between this process's: the place a ticket gets is then
    seldom the one expected. The issue sends the estimates of the places the line's last issues here
    landed at, and the one call writes its own place's: no second statement writes it after."""
    from hall import pictures
    from hall.models import Ticket, TicketEvent
    from hall.queue.rules import today

    pg_app.config["HALL"]["queue"]["estimate_inputs_max_age_s"] = 600
    other = make_app(pg_app.config["SQLALCHEMY_DATABASE_URI"])
    visitors = iter(range(100))

    def issue(app) -> dict:
        response = app.test_client().post("/api/v1/halls/demo/tickets", json={
            "service": service, "id_number": simulated_id_number(next(visitors))})
        assert response.status_code == 201
        return response.get_json()

    try:
        issue(pg_app)  # this process keeps the hall, its picture and the line's count (0 ahead then)
        for _ in range(2):
            issue(other)
        with cost() as seen:
            assert issue(pg_app)["people_ahead"] == 3  # 2 places after the one expected
        assert seen.autocommit == [True, True] and "UPDATE tickets SET estimated_wait_s" in seen.statements[1]
        for _ in range(2):
            issue(other)
        with cost() as seen:
            view = issue(pg_app)
        assert seen.autocommit == [True], "\n".join(seen.statements)
    finally:
        with other.app_context():
            db.engine.dispose()
    hall = db.session.get(Hall, pg_demo.id)
    picture = pictures.picture(hall.id, today(hall), hall.layout_version)
    line = (db.session.scalar(select(Ticket.service_id).where(Ticket.id == view["id"])), view["stage"]["code"])
    assert view["people_ahead"] == 6
    assert view["estimated_wait_s"] == picture.estimate(line, 6).wait_s != picture.estimate(line, 4).wait_s
    assert db.session.get(Ticket, view["id"]).estimated_wait_s == view["estimated_wait_s"]
    event = db.session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == view["id"]))
    assert event.data == {"priority": "normal", "channel": "kiosk", "estimated_wait_s": view["estimated_wait_s"]}
    db.session.commit()


def test_a_kiosk_tap_issues_as_the_api_does_with_no_read_of_its_own_before(app, demo):
    """The kiosk page's route (ticket, QR code, print job) authorises on the hall the issue reads: the same
    one transaction (on PostgreSQL the one call) as the ticket API, no read of the hall before it."""
    client = app.test_client()
    keys = iter(range(100))

    def tap():
        return client.post("/api/v1/halls/demo/kiosk/tickets",
                           json={"service": "A", "idempotency_key": f"kiosk-tap-{next(keys):06d}"})

    tap()
    with cost() as seen:
        response = tap()
    assert response.status_code == 201 and response.get_json()["print"]["status"] == "disabled"
    if db.engine.dialect.name != "postgresql":
        assert_one_transaction(seen, CEILINGS["issue"])
    else:  # as the API's issue: one call in autocommit, on the connection kept for it
        assert len(seen.statements) <= POSTGRES_CEILINGS["issue"], seen.statements
        assert seen.autocommit == [True] and seen.commits == 0 and seen.checkouts == 0
    assert not [s for s in seen.statements if s.startswith("SELECT") and " FROM halls " in s]
