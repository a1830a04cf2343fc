"""organisation tokens and the personal data access log

Revision ID: 0007
Revises: 0006

The ``organisation`` API role needs no change to the ``role`` column: roles are stored as
text of length 40 without a database enum. A token of that role must name its
organisation (a check constraint, added in batch mode so that SQLite rebuilds the table).
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

ROLES = ('ministry', 'province', 'operator', 'organisation')


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_check_constraint('organisation_role_has_organisation',
                                         "role != 'organisation' OR organisation_id IS NOT NULL")
    op.create_table('personal_data_access',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('token_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.Enum(*ROLES, name='apirole', native_enum=False, length=40), nullable=False),
    sa.Column('route', sa.String(length=200), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('organisation_id', sa.String(length=64), nullable=True),
    sa.Column('province_code', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_personal_data_access_at'), 'personal_data_access', ['at'], unique=False)
    op.create_index(op.f('ix_personal_data_access_organisation_id'), 'personal_data_access',
                    ['organisation_id'], unique=False)
    op.create_index(op.f('ix_personal_data_access_province_code'), 'personal_data_access',
                    ['province_code'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_personal_data_access_province_code'), table_name='personal_data_access')
    op.drop_index(op.f('ix_personal_data_access_organisation_id'), table_name='personal_data_access')
    op.drop_index(op.f('ix_personal_data_access_at'), table_name='personal_data_access')
    op.drop_table('personal_data_access')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint('organisation_role_has_organisation', type_='check')
