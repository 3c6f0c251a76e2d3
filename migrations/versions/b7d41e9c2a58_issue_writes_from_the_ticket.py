"""the issue's writes read the ticket's RETURNING, not the ticket joined again to the number and the line

Revision ID: b7d41e9c2a58
Revises: 7b3e9c1d4f52
Create Date: 2026-12-01 12:00:00

hall_issue_within_limit as hall.queue.limit_function makes it now: the ticket's INSERT returns its seq,
issue time and estimate, and the stage, the event and the returned row read them there (one_statement.WRITES,
WRITTEN), not from the number and the line joined again: four joins fewer for PostgreSQL to set up at each
call. Same arguments, result and outcomes. The text is frozen here; the downgrade creates 7b3e9c1d4f52's
again. SQLite has no functions.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7d41e9c2a58'
down_revision = '7b3e9c1d4f52'
branch_labels = None
depends_on = None

#: The function as this revision creates it (same arguments and result as 7b3e9c1d4f52's).
CREATE_FUNCTION = """CREATE OR REPLACE FUNCTION hall_issue_within_limit(p_hall_id integer, p_hall_slug VARCHAR(40), p_hall_active BOOLEAN, p_hall_layout_version INTEGER, p_hall_timezone VARCHAR(64), p_hall_reset_at TIME WITHOUT TIME ZONE, p_hall_public_issue BOOLEAN, p_hall_require_registered_kiosk BOOLEAN, p_hall_public_name_mode VARCHAR(12), p_daily_limit integer, p_business_day date, p_now timestamp, p_head_start interval, p_prefix varchar, p_service_id integer, p_stage_code varchar, p_token varchar, p_channel varchar, p_idempotency_key varchar, p_staff_id integer, p_expected_ahead integer, p_estimates integer[], p_id_hash varchar, p_id_masked varchar, p_data json, OUT outcome text, OUT event_seq integer, OUT seq integer, OUT issued_at timestamp, OUT ahead integer, OUT expected boolean, OUT ticket_id integer) RETURNS record LANGUAGE plpgsql VOLATILE AS $function$
#variable_conflict use_column
DECLARE
  v_event_seq integer;
  v_repeated boolean;
  v_taken bigint;
BEGIN
  UPDATE halls SET event_seq = event_seq + 1
  WHERE id = p_hall_id AND slug = p_hall_slug AND active = p_hall_active AND layout_version = p_hall_layout_version AND timezone = p_hall_timezone AND reset_at = p_hall_reset_at AND public_issue = p_hall_public_issue AND require_registered_kiosk = p_hall_require_registered_kiosk AND public_name_mode = p_hall_public_name_mode
  RETURNING event_seq
  INTO v_event_seq;
  IF NOT FOUND THEN
    outcome := 'unlocked';
    RETURN;
  END IF;
  WITH checked AS (
  SELECT p_idempotency_key IS NOT NULL AND EXISTS (SELECT 1 FROM tickets WHERE tickets.hall_id = p_hall_id
           AND tickets.idempotency_key = p_idempotency_key) AS repeated,
         (SELECT count(*) AS count_1 
FROM tickets 
WHERE tickets.hall_id = p_hall_id AND tickets.business_day = p_business_day AND tickets.id_hash = p_id_hash AND tickets.service_id = p_service_id AND tickets.status != 'cancelled') + (SELECT count(*) AS count_2 
FROM appointments 
WHERE appointments.service_id = p_service_id AND appointments.day = p_business_day AND appointments.id_hash = p_id_hash AND appointments.status = 'booked') AS taken),
  hall AS (SELECT v_event_seq AS event_seq FROM checked WHERE NOT checked.repeated AND checked.taken < p_daily_limit),
  number AS (
  INSERT INTO ticket_sequences (hall_id, business_day, prefix, last, last_issued_at)
  SELECT p_hall_id, p_business_day, p_prefix, 1, CAST(p_now AS TIMESTAMP) FROM hall
  ON CONFLICT (hall_id, business_day, prefix) DO UPDATE SET last = ticket_sequences.last + 1,
    last_issued_at = GREATEST(ticket_sequences.last_issued_at, excluded.last_issued_at)
  RETURNING last, last_issued_at),
line AS (
  INSERT INTO line_counts (hall_id, business_day, service_id, stage_code, waiting, joined)
  SELECT p_hall_id, p_business_day, p_service_id, p_stage_code, 1, 1 FROM hall
  ON CONFLICT (hall_id, business_day, service_id, stage_code) DO UPDATE
    SET waiting = line_counts.waiting + 1, joined = line_counts.joined + 1
  RETURNING waiting - 1 AS ahead, (CAST(p_estimates AS INTEGER[]))[waiting - p_expected_ahead] AS estimated_wait_s),
ticket AS (
  INSERT INTO tickets (hall_id, service_id, business_day, seq, number, token, priority, channel, status,
                       stage_position, stage_code, issued_at, queued_at, sort_at, idempotency_key, recall_count,
                       estimated_wait_s, id_hash, id_masked)
  SELECT p_hall_id, p_service_id, p_business_day, number.last,
         p_prefix || lpad(CAST(number.last AS TEXT), GREATEST(3, length(CAST(number.last AS TEXT))), '0'), p_token,
         'normal', p_channel, 'waiting', 0, p_stage_code, number.last_issued_at, number.last_issued_at,
         number.last_issued_at - CAST(p_head_start AS INTERVAL),
         CAST(p_idempotency_key AS VARCHAR), 0, line.estimated_wait_s,
         CAST(p_id_hash AS VARCHAR), CAST(p_id_masked AS VARCHAR)
  FROM number, line
  RETURNING id, seq, issued_at, estimated_wait_s),
stage AS (
  INSERT INTO stages (ticket_id, hall_id, business_day, service_id, position, code, queued_at)
  SELECT ticket.id, p_hall_id, p_business_day, p_service_id, 0, p_stage_code, ticket.issued_at FROM ticket),
event AS (
  INSERT INTO ticket_events (hall_id, seq, ticket_id, kind, at, staff_id, data)
  SELECT p_hall_id, hall.event_seq, ticket.id, 'issued', ticket.issued_at, CAST(p_staff_id AS INTEGER),
         CAST(CAST(p_data AS JSONB) || jsonb_build_object('estimated_wait_s', ticket.estimated_wait_s) AS JSON)
  FROM hall, ticket)
  SELECT checked.repeated, checked.taken, written.* FROM checked
  LEFT JOIN (SELECT hall.event_seq, ticket.seq, ticket.issued_at, line.ahead,
       ticket.estimated_wait_s IS NOT NULL AS expected, ticket.id AS ticket_id
FROM hall, line, ticket) AS written ON true
  INTO v_repeated, v_taken, event_seq, seq, issued_at, ahead, expected, ticket_id;
  IF v_repeated OR v_taken >= p_daily_limit THEN
    UPDATE halls SET event_seq = event_seq - 1 WHERE id = p_hall_id;
    outcome := CASE WHEN v_repeated THEN 'repeated' ELSE 'limit' END;
    RETURN;
  END IF;
  outcome := 'issued';
END
$function$"""


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _on_postgresql():
        op.get_bind().exec_driver_sql(CREATE_FUNCTION)


def downgrade():
    if _on_postgresql():
        previous = op.get_context().script.get_revision('7b3e9c1d4f52').module
        op.get_bind().exec_driver_sql(previous.CREATE_FUNCTION)
