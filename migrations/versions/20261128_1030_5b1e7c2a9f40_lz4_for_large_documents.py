"""lz4 compression for the large signed documents (PostgreSQL)

Every issuance writes about 40 KB of text (the signed JSON-LD and its VC-JWT).
PostgreSQL compresses values that large with pglz by default, which costs about
a millisecond of server CPU per issuance; lz4 compresses them as well at less
than half the cost. Only new values are affected; SQLite has no such setting.

Revision ID: 5b1e7c2a9f40
Revises: d69f09fb5ce0
Create Date: 2026-11-28 10:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '5b1e7c2a9f40'
down_revision = 'd69f09fb5ce0'
branch_labels = None
depends_on = None

COLUMNS = (("credentials", "document"), ("credentials", "jwt"), ("status_lists", "signed_document"))


def _lz4_available(bind: sa.Connection) -> bool:
    values = bind.execute(sa.text(
        "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"
    )).scalar()
    return values is not None and "lz4" in values


def _set_compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not _lz4_available(bind):
        return
    for table, column in COLUMNS:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET COMPRESSION {method}')


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("pglz")
