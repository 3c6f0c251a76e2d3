"""running figures per line: waiting counts per service stage and day, weighted handling times

Revision ID: 7a1c3e5b9d20
Revises: 41bd6f7c8b0c
Create Date: 2026-11-30 06:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7a1c3e5b9d20'
down_revision = '41bd6f7c8b0c'
branch_labels = None
depends_on = None

RECENT_STAGES = 30


def _handling_times(bind, alpha: float, first: float) -> list[dict]:
    """The weighted handling time of every stage, from its latest finished stages as estimates read them before."""
    stages = sa.table('stages', sa.column('service_id', sa.Integer), sa.column('code', sa.String),
                      sa.column('started_at', sa.DateTime), sa.column('finished_at', sa.DateTime),
                      sa.column('outcome', sa.String))
    done = sa.and_(stages.c.started_at.is_not(None), stages.c.finished_at.is_not(None),
                   sa.func.coalesce(stages.c.outcome, '') != 'transferred')
    rows = []
    for service_id, code in bind.execute(sa.select(stages.c.service_id, stages.c.code).where(done).distinct()).all():
        recent = bind.execute(sa.select(stages.c.started_at, stages.c.finished_at)
                              .where(done, stages.c.service_id == service_id, stages.c.code == code)
                              .order_by(stages.c.finished_at.desc()).limit(RECENT_STAGES)).all()
        average, variance = first, 0.0
        for started, finished in reversed(recent):
            gap = (finished - started).total_seconds() - average
            average += alpha * gap
            variance = (1 - alpha) * (variance + alpha * gap * gap)
        rows.append({"service_id": service_id, "stage_code": code, "average_s": average, "variance_s2": variance,
                     "samples": len(recent)})
    return rows


def upgrade():
    op.create_table('line_counts',
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('business_day', sa.Date(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('stage_code', sa.String(length=30), nullable=False),
    sa.Column('waiting', sa.Integer(), nullable=False),
    sa.Column('joined', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], ),
    sa.PrimaryKeyConstraint('hall_id', 'business_day', 'service_id', 'stage_code')
    )
    op.create_table('handling_times',
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('stage_code', sa.String(length=30), nullable=False),
    sa.Column('average_s', sa.Float(), nullable=False),
    sa.Column('variance_s2', sa.Float(), nullable=False),
    sa.Column('samples', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], ),
    sa.PrimaryKeyConstraint('service_id', 'stage_code')
    )
    op.execute("INSERT INTO line_counts (hall_id, business_day, service_id, stage_code, waiting, joined)"
               " SELECT hall_id, business_day, service_id, stage_code, count(*), count(*) FROM tickets"
               " WHERE status = 'waiting' GROUP BY hall_id, business_day, service_id, stage_code")
    from hall.config import load_settings

    queue = load_settings()["queue"]
    bind = op.get_bind()
    rows = _handling_times(bind, float(queue["estimate_alpha"]), float(queue["default_handling_s"]))
    if rows:
        table = sa.table('handling_times', *(sa.column(c) for c in
                                             ('service_id', 'stage_code', 'average_s', 'variance_s2', 'samples',
                                              'updated_at')))
        now = bind.execute(sa.text("SELECT CURRENT_TIMESTAMP")).scalar_one()
        op.bulk_insert(table, [{**row, "updated_at": now} for row in rows])


def downgrade():
    op.drop_table('handling_times')
    op.drop_table('line_counts')
