"""Session epoch per account: sign-out and password change end every session of that account

- ``users.session_epoch``: stored in the session at sign-in and checked on every request; bumping it ends every
  session signed in before.

Revision ID: 4d7b2c9e8f10
Revises: 9e4f1a2b3c5d
Create Date: 2026-12-05 01:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '4d7b2c9e8f10'
down_revision = '9e4f1a2b3c5d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('session_epoch')
