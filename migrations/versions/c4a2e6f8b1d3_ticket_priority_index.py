"""tickets: index of a hall's tickets by day and priority class (the estimate's priority arrival rates)

Revision ID: c4a2e6f8b1d3
Revises: b3f1d2c4e5a6
Create Date: 2026-11-30 09:50:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4a2e6f8b1d3'
down_revision = 'b3f1d2c4e5a6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_priority', ['hall_id', 'business_day', 'priority'], unique=False)


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_priority')
