"""users.must_change_password: set when an admin resets a password to a temporary one; until the user sets
their own, a session of theirs reaches only the change-password page

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('must_change_password', sa.Boolean(), server_default='0', nullable=False))
    op.create_index('ix_audit_at', 'audit', ['at'])


def downgrade() -> None:
    op.drop_index('ix_audit_at', table_name='audit')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('must_change_password')
