"""ticket sequences: when the last number was issued (issue times follow the numbers)

Revision ID: f3b8d2a61c47
Revises: 5e7b9c1d3f20
Create Date: 2026-11-30 14:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3b8d2a61c47'
down_revision = '5e7b9c1d3f20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ticket_sequences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_issued_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('ticket_sequences', schema=None) as batch_op:
        batch_op.drop_column('last_issued_at')
