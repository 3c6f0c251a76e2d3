"""visitor: a phone number left on the ticket page, to be told when the turn is near

Revision ID: e76fe5c08fa8
Revises: d3550dee411c
Create Date: 2026-11-23 19:50:19.141474

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e76fe5c08fa8'
down_revision = 'd3550dee411c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_phone', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('notify_phone')
