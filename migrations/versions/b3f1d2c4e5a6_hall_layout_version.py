"""hall layout version: bumped by every change to a hall's services, stages or counter links

Revision ID: b3f1d2c4e5a6
Revises: 7dd088c64d12
Create Date: 2026-11-30 09:12:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3f1d2c4e5a6'
down_revision = '7dd088c64d12'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('halls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('layout_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('halls', schema=None) as batch_op:
        batch_op.drop_column('layout_version')
