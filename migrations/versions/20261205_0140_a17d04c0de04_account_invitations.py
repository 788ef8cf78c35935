"""Invitations and password resets by single-use e-mail links (issue 17)

Placeholder in the migration chain, filled in by the change that needs it (no schema change yet).

Revision ID: a17d04c0de04
Revises: a17a03c0de03
Create Date: 2026-12-05 01:40:00

"""

revision = 'a17d04c0de04'
down_revision = 'a17a03c0de03'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
