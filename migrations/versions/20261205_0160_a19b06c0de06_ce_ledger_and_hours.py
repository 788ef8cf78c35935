"""Continuing-education ledger, supervised hours and supervisor qualifications (issue 19)

Placeholder in the migration chain, filled in by the change that needs it (no schema change yet).

Revision ID: a19b06c0de06
Revises: a19a05c0de05
Create Date: 2026-12-05 01:60:00

"""

revision = 'a19b06c0de06'
down_revision = 'a19a05c0de05'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
