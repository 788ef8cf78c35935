"""Validity policies and expiry reminders (issue 19)

Placeholder in the migration chain, filled in by the change that needs it (no schema change yet).

Revision ID: a19a05c0de05
Revises: a17d04c0de04
Create Date: 2026-12-05 01:50:00

"""

revision = 'a19a05c0de05'
down_revision = 'a17d04c0de04'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
