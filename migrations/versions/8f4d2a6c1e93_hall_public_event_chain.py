"""hall public event chain: the seq of the hall's last event public screens get, and of the one before

Revision ID: 8f4d2a6c1e93
Revises: f3b8d2a61c47
Create Date: 2026-11-30 14:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8f4d2a6c1e93'
down_revision = 'f3b8d2a61c47'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('halls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_seq', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('public_prev_seq', sa.Integer(), nullable=False, server_default='0'))
    # a screen connected across the upgrade counts everything up to now as public: it misses nothing
    op.execute("UPDATE halls SET public_seq = event_seq")


def downgrade():
    with op.batch_alter_table('halls', schema=None) as batch_op:
        batch_op.drop_column('public_prev_seq')
        batch_op.drop_column('public_seq')
