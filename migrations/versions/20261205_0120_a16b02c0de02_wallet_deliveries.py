"""OpenID4VCI 1.0: nonces and holder-bound deliveries of an award (issue 16)

Placeholder in the migration chain, filled in by the change that needs it (no schema change yet).

Revision ID: a16b02c0de02
Revises: a16a01c0de01
Create Date: 2026-12-05 01:20:00

"""

revision = 'a16b02c0de02'
down_revision = 'a16a01c0de01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
