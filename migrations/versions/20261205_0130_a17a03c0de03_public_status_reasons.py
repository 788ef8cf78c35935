"""Public revocation and suspension reasons (issue 17)

The free-text reason given at revocation or suspension stays private (the audit log, the people who manage the
credential). The issuer may add a separate public reason, which the public pages show next to the date.

Revision ID: a17a03c0de03
Revises: a16b02c0de02
Create Date: 2026-12-05 01:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = 'a17a03c0de03'
down_revision = 'a16b02c0de02'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('credentials') as batch:
        batch.add_column(sa.Column('revocation_public_reason', sa.Text(), nullable=True))
        batch.add_column(sa.Column('suspension_public_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('credentials') as batch:
        batch.drop_column('suspension_public_reason')
        batch.drop_column('revocation_public_reason')
