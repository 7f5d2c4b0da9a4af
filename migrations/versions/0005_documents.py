"""documents: versioned settings that are data (the planning ruleset, plan targets, district populations),
each save a new numbered version, like a layer's

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 20:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('documents',
                    sa.Column('name', sa.String(length=64), nullable=False),
                    sa.Column('number', sa.Integer(), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('author', sa.String(length=128), nullable=False),
                    sa.Column('message', sa.Text(), server_default='', nullable=False),
                    sa.Column('body', sa.Text(), nullable=False),
                    sa.Column('restored_from', sa.Integer(), nullable=True),
                    sa.PrimaryKeyConstraint('name', 'number'))


def downgrade() -> None:
    op.drop_table('documents')
