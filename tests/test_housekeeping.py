"""A server process's periodic round: past business days close, counters whose screen went silent
are released, alarms are scanned; on SQLite and PostgreSQL, and never twice."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import event

from hall import housekeeping, queue
from hall.demo import create_demo_hall
from hall.extensions import db
from hall.housekeeping import tend_all_halls, tend_spread
from hall.queue.lookup import counter_by_number, ticket_by_token
from hall.web.counter.presence import mark_screen_seen
from tests.conftest import DemoHall


@pytest.fixture
def app(any_app):
    return any_app


def kinds(events: list[dict]) -> list[str]:
    return [e["kind"] for e in events if e["kind"] != "alarms"]


def open_with_screen(demo: DemoHall, number: int) -> None:
    queue.open_counter(demo.id, number, staff_id=demo.staff(f"staff{number}").id)
    mark_screen_seen(counter_by_number(demo.id, number))


def test_a_silent_screen_closes_its_counter_once(demo, frozen, events):
    open_with_screen(demo, 1)
    frozen.advance(seconds=119)
    tend_all_halls()
    assert counter_by_number(demo.id, 1).status == "open"
    frozen.advance(seconds=2)   # 121 s without a word from the screen (timeout 120 s)
    events.clear()
    tend_all_halls()
    tend_all_halls()             # a second round (or process) changes nothing more
    assert kinds(events) == ["counter_closed"]
    assert counter_by_number(demo.id, 1).status == "closed"


def test_a_live_screen_keeps_its_counter(demo, frozen):
    open_with_screen(demo, 1)
    for _ in range(10):
        frozen.advance(seconds=60)
        mark_screen_seen(counter_by_number(demo.id, 1))
        tend_all_halls()
    assert counter_by_number(demo.id, 1).status == "open"


def test_a_silent_screen_holding_a_ticket_pauses_its_counter(demo, frozen, events):
    ticket = queue.issue_ticket(demo.id, "A")
    open_with_screen(demo, 1)
    queue.call_next(demo.id, 1)
    frozen.advance(minutes=5)
    events.clear()
    tend_all_halls()
    tend_all_halls()
    assert kinds(events) == ["counter_paused"]
    counter = counter_by_number(demo.id, 1)
    assert counter.status == "paused" and counter.current_ticket_id == ticket["id"]


def test_counters_opened_without_a_screen_are_not_watched(demo, frozen):
    open_with_screen(demo, 1)
    queue.close_counter(demo.id, 1)
    queue.open_counter(demo.id, 1)   # through the API: an old screen's last sign of life no longer counts
    queue.open_counter(demo.id, 2, staff_id=demo.staff("staff2").id)
    frozen.advance(hours=1)
    tend_all_halls()
    assert counter_by_number(demo.id, 1).status == "open"
    assert counter_by_number(demo.id, 2).status == "open"


def test_past_business_days_close_in_the_round(demo, frozen, events):
    ticket = queue.issue_ticket(demo.id, "A")
    tend_all_halls()
    assert "day_closed" not in kinds(events)
    frozen.advance(hours=17, minutes=1)  # 03:01 next day, local: past the reset
    tend_all_halls()
    tend_all_halls()
    closed = [e for e in events if e["kind"] == "day_closed"]
    assert len(closed) == 1 and closed[0]["not_served"] == 1
    assert ticket_by_token(ticket["token"]).status == "not_served"


def test_a_day_another_process_closed_first_is_not_closed_again(demo, frozen, events):
    queue.issue_ticket(demo.id, "A")
    frozen.advance(days=1)
    assert queue.close_business_day(demo.id)["not_served"] == 1
    assert queue.close_business_day(demo.id, only_if_open=True) is None  # the round that lost the race
    assert kinds(events) == ["issued", "day_closed"]


def test_repeated_status_changes_answer_unchanged_and_publish_nothing(demo, events):
    queue.open_counter(demo.id, 1, staff_id=demo.staff("staff1").id)
    assert queue.pause_counter(demo.id, 1)["counter"]["status"] == "paused"
    again = queue.pause_counter(demo.id, 1)
    assert again["unchanged"] and again["counter"]["status"] == "paused"
    queue.close_counter(demo.id, 1)
    assert queue.close_counter(demo.id, 1)["unchanged"]
    assert kinds(events) == ["counter_open", "counter_paused", "counter_closed"]


def test_a_round_reads_each_hall_once_however_many_steps_end_their_transaction(demo):
    """The steps commit or roll back their reads; the round's halls are plain rows, not ORM objects
    each step's end would expire and the next read again."""
    create_demo_hall("other")
    db.session.commit()
    read: list[str] = []

    def listen(_connection, _cursor, statement, *_):
        if re.search(r"\bFROM halls\b", statement):
            read.append(statement)
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        tend_all_halls()
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert len(read) == 1, read


def test_a_server_s_round_tends_one_hall_every_interval_over_halls(app, demo, monkeypatch):
    """Not all halls back to back: the round's work would hold the event loop in one burst, and every
    request in flight waits for it."""
    for slug in ("second", "third"):
        create_demo_hall(slug)
    db.session.commit()
    tended: list[tuple[str, float]] = []
    tend_hall = housekeeping.tend_hall

    def noted(hall):
        tended.append((hall.slug, time.monotonic()))
        tend_hall(hall)
    monkeypatch.setattr(housekeeping, "tend_hall", noted)
    started = time.monotonic()
    tend_spread(app, 0.6)
    assert sorted(slug for slug, _ in tended) == ["demo", "second", "third"]
    moments = [started] + [at for _, at in tended]
    assert min(later - earlier for earlier, later in zip(moments, moments[1:])) >= 0.19
