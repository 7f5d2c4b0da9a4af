"""users.session_generation: a number carried in every staff session; raising it ends them all (log-out,
password change, deactivation)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 21:15:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('session_generation')
