"""Ratings as 好差评 (GB/T 39734): the standard's level names, one rating per visit across pad and phone."""
from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from hall import queue
from hall.extensions import db
from hall.models import Feedback
from hall.reports.engine import figures
from hall.reports.selection import Filters
from hall.visitor.feedback import choices
from tests.visitor_support import add_rating_pad, serve_at


@pytest.fixture
def client(app, demo, frozen):
    return app.test_client()


def test_levels_carry_the_standards_names(app):
    with app.test_request_context(), force_locale("en"):
        assert [(r["value"], r["label"]) for r in choices()["ratings"]] == [
            (5, "Very satisfied"), (4, "Satisfied"), (3, "Basically satisfied"), (2, "Dissatisfied"),
            (1, "Very dissatisfied")]
    with app.test_request_context(), force_locale("zh"):
        assert [r["label"] for r in choices()["ratings"]] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]


@pytest.mark.parametrize("first", ["pad", "phone"])
def test_a_visit_is_rated_once_on_pad_or_phone(client, demo, frozen, first):
    pad = add_rating_pad(demo.id, 1)
    token = queue.issue_ticket(demo.id, "A")["token"]
    serve_at(demo, 1)

    def on_pad(rating):
        return client.post("/api/v1/halls/demo/counters/1/feedback", json={"number": "A001", "rating": rating},
                           headers={"X-Device-Token": pad})

    def on_phone(rating):
        return client.post(f"/api/v1/tickets/{token}/feedback", json={"rating": rating})

    channels = {"pad": on_pad, "phone": on_phone}
    second = "phone" if first == "pad" else "pad"
    assert channels[first](5).status_code == 201
    again = channels[second](1)
    assert again.status_code == 409 and again.get_json()["error"] == "already_rated"
    assert db.session.scalar(select(func.count()).select_from(Feedback)) == 1
    day = frozen.now.date()
    assert figures(Filters(demo.id, day, day))[0]["satisfaction"]["count"] == 1
