"""booking: each hall's calendar (closed weekdays, closed dates, make-up working days)

Revision ID: 41bd6f7c8b0c
Revises: e76fe5c08fa8
Create Date: 2026-11-23 19:56:30.501053

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '41bd6f7c8b0c'
down_revision = 'e76fe5c08fa8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('halls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('booking_closed_weekdays', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('booking_closed_dates', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('booking_open_dates', sa.JSON(), server_default='[]', nullable=False))


def downgrade():
    with op.batch_alter_table('halls', schema=None) as batch_op:
        batch_op.drop_column('booking_open_dates')
        batch_op.drop_column('booking_closed_dates')
        batch_op.drop_column('booking_closed_weekdays')
