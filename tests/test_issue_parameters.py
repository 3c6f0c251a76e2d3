"""What a one-call issue (hall/queue/one_statement.py) binds: values psycopg sends as they are.

psycopg builds a dumper for a list (and adapters for that dumper) at every execution, and a dict bound
as JSON goes through SQLAlchemy's processor and psycopg's JSON wrapper: the estimates go as the text of
a PostgreSQL array, the event's data as JSON text, both cast by the statement (and by the real-name
function's arguments). That they are written right is checked on PostgreSQL in test_statement_counts.py.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from hall.queue import one_statement


def _issue(estimates: tuple[int, ...]) -> one_statement.Issue:
    return one_statement.Issue(
        hall_id=1, day=date(2026, 12, 1), now=datetime(2026, 12, 1, 9), head_start=timedelta(0), prefix="A",
        service_id=2, stage_code="main", token="t", channel="kiosk", idempotency_key=None, staff_id=None,
        expected_ahead=3, estimates=estimates, data={"priority": "normal", "channel": "kiosk"})


def test_an_issue_binds_its_estimates_as_an_arrays_text_and_its_event_data_as_json_text():
    params = _issue((60, 120, 185)).params()
    assert params["estimates"] == "{60,120,185}"
    assert params["data"] == '{"priority": "normal", "channel": "kiosk"}'
    assert json.loads(params["data"]) == {"priority": "normal", "channel": "kiosk"}
    assert _issue((0,)).params()["estimates"] == "{0}"
    assert {type(value) for value in params.values()} <= {int, str, date, datetime, timedelta, type(None)}
