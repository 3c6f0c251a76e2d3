"""A server process's periodic round: past business days close, counters whose screen went silent
are released, alarms are scanned; on SQLite and PostgreSQL, and never twice."""
from __future__ import annotations

import pytest

from hall import queue
from hall.housekeeping import tend_all_halls
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
