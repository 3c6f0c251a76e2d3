"""counter: last sign of life of the counter screen that holds it

Revision ID: d3550dee411c
Revises: 4fba5c8d9921
Create Date: 2026-11-23 19:37:59.977310

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd3550dee411c'
down_revision = '4fba5c8d9921'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('counters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('screen_seen_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('counters', schema=None) as batch_op:
        batch_op.drop_column('screen_seen_at')
