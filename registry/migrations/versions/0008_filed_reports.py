"""filed reports and organisations' open-data choice

Revision ID: 0008
Revises: 0007

A filed report keeps its bytes (CSV and XLSX) and their SHA-256, so that it stays what was
sent whatever is recomputed later. ``organisations.open_data`` is null for every existing
organisation: each then follows its type (public bodies open, private ones closed).
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('filed_reports',
    sa.Column('province_code', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('part', sa.String(length=4), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filed_by', sa.String(length=64), nullable=False),
    sa.Column('csv', sa.LargeBinary(), nullable=False),
    sa.Column('csv_sha256', sa.String(length=64), nullable=False),
    sa.Column('xlsx', sa.LargeBinary(), nullable=False),
    sa.Column('xlsx_sha256', sa.String(length=64), nullable=False),
    sa.CheckConstraint("part IN ('H1', 'H2', 'year')", name='known_part'),
    sa.ForeignKeyConstraint(['province_code'], ['provinces.code'], ),
    sa.PrimaryKeyConstraint('province_code', 'year', 'part')
    )
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('open_data', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('open_data')
    op.drop_table('filed_reports')
