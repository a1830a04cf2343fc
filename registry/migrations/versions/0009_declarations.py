"""declarations and aggregate counts: evidence the platform does not observe

Revision ID: 0009
Revises: 0008

``declarations``: what an organisation declared, or an assessment found, on a date, with
its source. ``aggregate_counts``: an authoritative N of M per area and year, with its
source. Both are imported (``declarations`` and ``aggregates`` import kinds) and read by
the rollup as evidence for the indicators that name them.
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('declarations',
    sa.Column('organisation_id', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('declared_on', sa.Date(), nullable=False),
    sa.Column('holds', sa.Boolean(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('organisation_id', 'subject', 'declared_on')
    )
    op.create_table('aggregate_counts',
    sa.Column('measure', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('unit_code', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('numerator', sa.Integer(), nullable=False),
    sa.Column('denominator', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.CheckConstraint("level IN ('province', 'ward', 'former_province')", name='known_level'),
    sa.CheckConstraint('numerator >= 0 AND denominator > 0 AND numerator <= denominator',
                       name='n_of_m'),
    sa.PrimaryKeyConstraint('measure', 'level', 'unit_code', 'year')
    )


def downgrade() -> None:
    op.drop_table('aggregate_counts')
    op.drop_table('declarations')
