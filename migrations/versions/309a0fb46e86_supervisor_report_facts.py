"""supervisor: report facts (one row per ticket and stage pass) rolled up per business day

Revision ID: 309a0fb46e86
Revises: dc1573aace20
Create Date: 2026-11-23 16:57:53.997633

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '309a0fb46e86'
down_revision = 'dc1573aace20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_days',
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('final', sa.Boolean(), nullable=False),
    sa.Column('rolled_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.PrimaryKeyConstraint('hall_id', 'day')
    )
    op.create_table('report_tickets',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hour', sa.SmallInteger(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('wait_s', sa.Integer(), nullable=True),
    sa.Column('within', sa.Boolean(), nullable=True),
    sa.Column('estimate_error_s', sa.Integer(), nullable=True),
    sa.Column('served_hour', sa.SmallInteger(), nullable=True),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('ticket_id')
    )
    with op.batch_alter_table('report_tickets', schema=None) as batch_op:
        batch_op.create_index('ix_report_tickets_day', ['hall_id', 'day', 'status', 'wait_s'], unique=False)

    op.create_table('report_stages',
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hour', sa.SmallInteger(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('handling_s', sa.Integer(), nullable=False),
    sa.Column('over_limit', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.ForeignKeyConstraint(['stage_id'], ['stages.id'], ),
    sa.PrimaryKeyConstraint('stage_id')
    )
    with op.batch_alter_table('report_stages', schema=None) as batch_op:
        batch_op.create_index('ix_report_stages_day', ['hall_id', 'day', 'code', 'handling_s'], unique=False)



def downgrade():
    with op.batch_alter_table('report_stages', schema=None) as batch_op:
        batch_op.drop_index('ix_report_stages_day')

    op.drop_table('report_stages')
    with op.batch_alter_table('report_tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_report_tickets_day')

    op.drop_table('report_tickets')
    op.drop_table('report_days')
