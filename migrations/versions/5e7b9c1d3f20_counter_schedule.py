"""counter schedule: planned opening hours and breaks per counter

Revision ID: 5e7b9c1d3f20
Revises: c4a2e6f8b1d3
Create Date: 2026-11-30 11:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e7b9c1d3f20'
down_revision = 'c4a2e6f8b1d3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('counters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opens_at', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('closes_at', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('breaks', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('counters', schema=None) as batch_op:
        batch_op.drop_column('breaks')
        batch_op.drop_column('closes_at')
        batch_op.drop_column('opens_at')
