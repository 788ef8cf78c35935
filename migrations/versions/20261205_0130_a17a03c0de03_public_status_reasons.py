"""Public revocation and suspension reasons (issue 17)

Placeholder in the migration chain, filled in by the change that needs it (no schema change yet).

Revision ID: a17a03c0de03
Revises: a16b02c0de02
Create Date: 2026-12-05 01:30:00

"""

revision = 'a17a03c0de03'
down_revision = 'a16b02c0de02'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
