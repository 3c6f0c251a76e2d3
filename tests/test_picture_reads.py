"""The estimate pictures of several halls read in one statement (what a server process's picture
reader does, hall/pictures.py) are each hall's picture as read alone."""
from __future__ import annotations

from sqlalchemy import select

from hall import queue
from hall.demo import create_demo_hall
from hall.estimate import HallPicture, read_pictures
from hall.extensions import db
from hall.models import Counter, CounterService, Hall
from hall.queue.rules import today


def _busy_hall(slug: str) -> Hall:
    """A hall with what each kind of row of the picture holds: counters with a planned break, open or
    holding a visitor, a link limited to one stage, waiting lines and a priority ticket."""
    create_demo_hall(slug)
    hall = db.session.scalar(select(Hall).where(Hall.slug == slug))
    counter = db.session.scalar(select(Counter).where(Counter.hall_id == hall.id, Counter.number == 1))
    counter.breaks = [["12:00", "12:30"]]
    link = db.session.scalar(select(CounterService).where(CounterService.counter_id == counter.id))
    link.stages = ["consult"]
    db.session.commit()
    for number in (1, 2):
        queue.open_counter(hall.id, number)
    for prefix in "AAB":
        queue.issue_ticket(hall.id, prefix)
    queue.issue_ticket(hall.id, "A", priority="priority")
    queue.call_next(hall.id, 1)
    db.session.commit()
    return hall


def test_pictures_read_together_are_each_halls_picture_read_alone(any_app, frozen):
    halls = [_busy_hall(slug) for slug in ("north", "south")]
    create_demo_hall("quiet")  # not asked for: none of its rows come in
    days = {hall.id: today(hall) for hall in halls}
    together = read_pictures(days)
    assert set(together) == set(days)
    for hall in halls:
        picture = together[hall.id]
        alone = HallPicture(hall.id, days[hall.id], picture.now)
        assert vars(picture) == vars(alone)
        assert sum(waiting for waiting, _ in picture.lines.values()) == 3  # one of four called
        assert any(counter.breaks for counter in picture.counters.values())
        assert any(counter.holds for counter in picture.counters.values())
        assert any(stages == ["consult"] for counter in picture.counters.values() for _, stages, _ in counter.links)
        assert picture.per_hour and picture.stages
    db.session.commit()


def test_a_read_of_several_halls_is_one_statement_in_a_session_of_its_own(any_app, frozen):
    """The reader reads in a session holding nothing yet: the pictures' rows and the halls' opening hours in
    one statement, whatever the number of halls (no hall read as an object, nor again one by one)."""
    from sqlalchemy import event

    days = {}
    for slug in ("north", "south", "east"):
        create_demo_hall(slug)
        hall = db.session.scalar(select(Hall).where(Hall.slug == slug))
        days[hall.id] = today(hall)
    db.session.commit()
    db.session.remove()
    statements = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        pictures = read_pictures(days)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert set(pictures) == set(days)
    assert len([s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]) == 1, statements
    db.session.commit()


def test_a_hall_deleted_before_the_read_has_no_picture(any_app, frozen):
    days = {}
    for slug in ("north", "south"):
        create_demo_hall(slug)
        hall = db.session.scalar(select(Hall).where(Hall.slug == slug))
        days[hall.id] = today(hall)
    db.session.commit()
    gone = max(days)
    pictures = read_pictures({**days, gone + 1: days[gone]})
    assert set(pictures) == set(days)
    db.session.commit()
