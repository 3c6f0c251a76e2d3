"""real-name issue as one call: the PostgreSQL function hall_issue_within_limit

Revision ID: 8c3e1f5a7b20
Revises: 8f4d2a6c1e93
Create Date: 2026-11-30 18:00:00

The function's text is the application's (hall.queue.limit_function): the lock and writes of the
common issue and the daily limit's count. SQLite has no such functions: nothing to do there.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '8c3e1f5a7b20'
down_revision = '8f4d2a6c1e93'
branch_labels = None
depends_on = None


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _on_postgresql():
        from hall.queue.limit_function import CREATE_FUNCTION
        op.get_bind().exec_driver_sql(CREATE_FUNCTION)


def downgrade():
    if _on_postgresql():
        from hall.queue.limit_function import DROP_FUNCTION
        op.get_bind().exec_driver_sql(DROP_FUNCTION)
