"""Stable credentialSubject ids for therapists (issue 16)

Placeholder in the migration chain, filled in by the change that needs it (no schema change yet).

Revision ID: a16a01c0de01
Revises: 4d7b2c9e8f10
Create Date: 2026-12-05 01:10:00

"""

revision = 'a16a01c0de01'
down_revision = '4d7b2c9e8f10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
