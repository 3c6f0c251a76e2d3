"""tickets: fewer index entries per issue (ix_tickets_day dropped, ix_tickets_identity only for real-name tickets)

ix_tickets_day (hall_id, business_day) repeated the first two columns of the day's numbers' unique key
(hall_id, business_day, number), which serves every look-up it served. ix_tickets_identity is read only for
one ID's tickets (`id_hash = …`), so it now holds real-name tickets alone: a ticket with no identity adds no
entry to it.

Revision ID: 5e1c7a9d3b24
Revises: 9d4b2f7e1a36
Create Date: 2026-12-01 02:45:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5e1c7a9d3b24'
down_revision = '9d4b2f7e1a36'
branch_labels = None
depends_on = None

_IDENTIFIED = sa.text('id_hash IS NOT NULL')


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_day')
        batch_op.drop_index('ix_tickets_identity')
        batch_op.create_index('ix_tickets_identity', ['hall_id', 'business_day', 'id_hash'], unique=False,
                              postgresql_where=_IDENTIFIED, sqlite_where=_IDENTIFIED)


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_identity')
        batch_op.create_index('ix_tickets_identity', ['hall_id', 'business_day', 'id_hash'], unique=False)
        batch_op.create_index('ix_tickets_day', ['hall_id', 'business_day'], unique=False)
