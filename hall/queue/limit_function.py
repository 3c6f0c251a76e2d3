"""A real-name issue on PostgreSQL as one call of a database function, in autocommit.

A real-name service's daily limit per person must count the visitor's tickets as they are once the
hall is locked: counted before, two kiosks could both see one ticket left. A single statement cannot
do it: it sees the rows committed when it started, and it started before it waited for the lock. In a
PL/pgSQL function (VOLATILE, READ COMMITTED) each statement sees what was committed when it starts,
so `hall_issue_within_limit` runs, in one round trip and one transaction:

1. the hall's lock, the UPDATE of the common issue (`one_statement.LOCK`: the copy's re-check);
   nothing locked: outcome "unlocked", the issue takes the general path;
2. once locked, one statement: a look at the idempotency key (a ticket committed before or while it
   waited: "repeated", the general path gives that ticket) and at the visitor's count
   (`realname.taken_count`, the same expression `realname.taken_today` runs), and only when neither
   stops it the number, the line, the ticket, its stage and its event, as the common issue writes them
   (`one_statement.WRITES`, fed by a `hall` row that exists only then): outcome "issued", with the row
   the common issue returns. At the limit: "limit"; for "limit" or "repeated" the seq bump is undone,
   so the hall's event seq keeps no gap. (The look and the writes are one statement, not two: each
   statement of the function costs the server its own start, plan check and end.)

The hall's row lock is held only while the server runs the function, not across round trips, and the
issue does not queue for the process's turn of the hall (`unit._in_turn`).

The function's text is made here from those three definitions, for the running app and for
`create_all` (an `after_create` hook, for schemas made from the models). A migration keeps the text
of its time frozen in it (8c3e1f5a7b20 the first): changing any of the three definitions, or the
issue's parameters, needs a new migration with the new `CREATE_FUNCTION` (tests/test_migrations.py
and tests/test_realname_postgresql.py say so).
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import DDL, Row, event, literal_column, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from hall.extensions import db
from hall.models import Hall
from hall.queue import one_statement
from hall.queue.realname import taken_count

NAME = "hall_issue_within_limit"

#: The function's arguments, in order: the hall's id, the copy's checked columns (their types the model's),
#: the daily limit, then the rest of what an issue binds (`one_statement.PARAMETERS`).
ARGUMENTS: tuple[tuple[str, str], ...] = (
    ("hall_id", "integer"),
    *((f"hall_{name}", Hall.__table__.c[name].type.compile(dialect=postgresql.dialect())) for name in
      one_statement.CHECKED),
    ("daily_limit", "integer"),
    *((parameter.name, parameter.sql_type) for parameter in one_statement.PARAMETERS if parameter.name != "hall_id"))

#: What it returns: how it went, and for an issued ticket what `one_statement.issue` returns.
RESULT = (("outcome", "text"), ("event_seq", "integer"), ("seq", "integer"), ("issued_at", "timestamp"),
          ("ahead", "integer"), ("expected", "boolean"), ("ticket_id", "integer"))


def _in_function(sql: str) -> str:
    """A statement's `:name` parameters as the function's `p_name` arguments."""
    return re.sub(r"(?<![:\w]):(\w+)", r"p_\1", sql)


def _taken() -> str:
    count = taken_count(*(literal_column(f"p_{name}") for name in ("hall_id", "business_day", "id_hash", "service_id")))
    return str(count.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


#: The visitor's check and, when it passes, the writes: one statement, whose snapshot is taken once the
#: hall is locked (it sees every ticket committed before the lock was granted).
_CHECKED_WRITES = f"""WITH checked AS (
  SELECT p_idempotency_key IS NOT NULL AND EXISTS (SELECT 1 FROM tickets WHERE tickets.hall_id = p_hall_id
           AND tickets.idempotency_key = p_idempotency_key) AS repeated,
         {{taken}} AS taken),
  hall AS (SELECT v_event_seq AS event_seq FROM checked WHERE NOT checked.repeated AND checked.taken < p_daily_limit),
  {_in_function(one_statement.WRITES)}
  SELECT checked.repeated, checked.taken, written.* FROM checked
  LEFT JOIN ({_in_function(one_statement.WRITTEN)}) AS written ON true
  INTO v_repeated, v_taken, {", ".join(name for name, _ in RESULT[1:])}"""

#: The function's body. Columns win over its own names (`use_column`); its arguments are all p_*.
BODY = f"""
#variable_conflict use_column
DECLARE
  v_event_seq integer;
  v_repeated boolean;
  v_taken bigint;
BEGIN
  {_in_function(one_statement.LOCK)}
  INTO v_event_seq;
  IF NOT FOUND THEN
    outcome := 'unlocked';
    RETURN;
  END IF;
  {_CHECKED_WRITES.format(taken=_taken())};
  IF v_repeated OR v_taken >= p_daily_limit THEN
    UPDATE halls SET event_seq = event_seq - 1 WHERE id = p_hall_id;
    outcome := CASE WHEN v_repeated THEN 'repeated' ELSE 'limit' END;
    RETURN;
  END IF;
  outcome := 'issued';
END
"""

_SIGNATURE = ", ".join([*(f"p_{name} {kind}" for name, kind in ARGUMENTS),
                        *(f"OUT {name} {kind}" for name, kind in RESULT)])
CREATE_FUNCTION = f"CREATE OR REPLACE FUNCTION {NAME}({_SIGNATURE}) RETURNS record LANGUAGE plpgsql VOLATILE AS " \
                  f"$function${BODY}$function$"
DROP_FUNCTION = f"DROP FUNCTION IF EXISTS {NAME}({', '.join(kind for _, kind in ARGUMENTS)})"

event.listen(db.metadata, "after_create", DDL(CREATE_FUNCTION).execute_if(dialect="postgresql"))
event.listen(db.metadata, "before_drop", DDL(DROP_FUNCTION).execute_if(dialect="postgresql"))

_CALL = text(f"SELECT * FROM {NAME}({', '.join(f'CAST(:{name} AS {kind})' for name, kind in ARGUMENTS)})")


def issue_within_limit(hall: Row, new: one_statement.Issue, daily_limit: int) -> str | Row:
    """Issue a real-name ticket from the process's copy of the hall in one call, in autocommit: the
    function's row for an issued ticket (as `one_statement.issue` returns it), else its outcome:
    "limit", or "unlocked" / "repeated" for the general path ("repeated" also for a key a ticket took
    during the call, whose INSERT then undid it all).

    The session must have no transaction open (the call runs on a connection of its own).
    """
    params: dict[str, Any] = {**new.params(), **one_statement.checked(hall), "daily_limit": daily_limit}

    def run() -> str | Row:
        try:
            row = one_statement.in_autocommit(_CALL, params)
        except IntegrityError:
            return "repeated"
        return row if row.outcome == "issued" else row.outcome

    return one_statement.counted_in_flight(new, run)
