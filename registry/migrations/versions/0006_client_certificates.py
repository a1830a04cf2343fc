"""client certificates

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('client_certificates',
    sa.Column('serial', sa.String(length=40), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['username'], ['broker_accounts.username'], ),
    sa.PrimaryKeyConstraint('serial')
    )
    op.create_index(op.f('ix_client_certificates_username'), 'client_certificates', ['username'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_client_certificates_username'), table_name='client_certificates')
    op.drop_table('client_certificates')
