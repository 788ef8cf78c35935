"""Trust list, this service's credential registry (digests, names at issuance), key revocation, re-issuance

- ``trusted_issuers``: issuers besides this service whose credentials verify.
- ``credentials.digest``: SHA-256 of each signed document in canonical JSON, so a presented credential that names
  this service as issuer verifies only if it is, byte for meaning, one that this service issued.
- ``credentials.recipient_name``: the name given at issuance (pages no longer read the account's current name).
- ``credentials.replaces_id`` / ``superseded_at``: a credential re-signed after its key was revoked; one *current*
  credential per therapist and level (a partial unique index) instead of one ever.
- ``issuer_keys.revoked_at`` / ``revocation_reason``: a key withdrawn after a compromise.
- ``issued_documents``: the registry entries of other documents signed as this service (CLRs, VC-API issuance).
- ``rate_windows``: request counters that every worker shares (rate limits on the public verifier).

Revision ID: 7c3d9e1f2a6b
Revises: 5b1e7c2a9f40
Create Date: 2026-12-04 23:00:00

"""
import hashlib
import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '7c3d9e1f2a6b'
down_revision = '5b1e7c2a9f40'
branch_labels = None
depends_on = None


def _digest(document_text: str) -> str:
    # The same canonical form as issuer.credentials.digest (kept here so the migration never changes with the app).
    document = json.loads(document_text)
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def upgrade() -> None:
    op.create_table('issued_documents',
    sa.Column('id', sa.String(length=2000), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('jwt_digest', sa.String(length=64), nullable=True),
    sa.Column('key_id', sa.String(length=100), nullable=False),
    sa.Column('subject_user_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subject_user_id'], ['users.id'], name=op.f('fk_issued_documents_subject_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_documents')),
    sa.UniqueConstraint('digest', name=op.f('uq_issued_documents_digest')),
    sa.UniqueConstraint('jwt_digest', name=op.f('uq_issued_documents_jwt_digest'))
    )
    with op.batch_alter_table('issued_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issued_documents_subject_user_id'), ['subject_user_id'], unique=False)
    op.create_table('rate_windows',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('window_start', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_rate_windows'))
    )
    op.create_table('trusted_issuers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer_id', sa.String(length=2000), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('did_document', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
              nullable=True),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_trusted_issuers_added_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trusted_issuers')),
    sa.UniqueConstraint('issuer_id', name=op.f('uq_trusted_issuers_issuer_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('issuer_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revocation_reason', sa.Text(), nullable=True))

    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('recipient_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('replaces_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True))

    bind = op.get_bind()
    credentials = sa.table('credentials', sa.column('id', sa.Uuid()), sa.column('document', sa.Text()),
                           sa.column('therapist_id', sa.Integer()), sa.column('digest', sa.String()),
                           sa.column('recipient_name', sa.String()))
    users = sa.table('users', sa.column('id', sa.Integer()), sa.column('name', sa.String()))
    rows = bind.execute(sa.select(credentials.c.id, credentials.c.document, users.c.name)
                        .join(users, users.c.id == credentials.c.therapist_id)).all()
    for credential_id, document_text, name in rows:
        bind.execute(credentials.update().where(credentials.c.id == credential_id)
                     .values(digest=_digest(document_text), recipient_name=name))

    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.alter_column('digest', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('recipient_name', existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_constraint('uq_credentials_completion_id', type_='unique')
        batch_op.drop_constraint('uq_credentials_therapist_id_level_id', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_credentials_digest'), ['digest'])
        batch_op.create_foreign_key(batch_op.f('fk_credentials_replaces_id_credentials'), 'credentials',
                                    ['replaces_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_credentials_completion_id'), ['completion_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credentials_replaces_id'), ['replaces_id'], unique=False)
        batch_op.create_index('uq_credentials_current_therapist_level', ['therapist_id', 'level_id'], unique=True,
                              sqlite_where=sa.text('superseded_at IS NULL'),
                              postgresql_where=sa.text('superseded_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_index('uq_credentials_current_therapist_level')
        batch_op.drop_index(batch_op.f('ix_credentials_replaces_id'))
        batch_op.drop_index(batch_op.f('ix_credentials_completion_id'))
        batch_op.drop_constraint(batch_op.f('fk_credentials_replaces_id_credentials'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_credentials_digest'), type_='unique')
        batch_op.create_unique_constraint('uq_credentials_therapist_id_level_id', ['therapist_id', 'level_id'])
        batch_op.create_unique_constraint('uq_credentials_completion_id', ['completion_id'])
        batch_op.drop_column('superseded_at')
        batch_op.drop_column('replaces_id')
        batch_op.drop_column('recipient_name')
        batch_op.drop_column('digest')
    with op.batch_alter_table('issuer_keys', schema=None) as batch_op:
        batch_op.drop_column('revocation_reason')
        batch_op.drop_column('revoked_at')
    op.drop_table('trusted_issuers')
    op.drop_table('rate_windows')
    op.drop_table('issued_documents')
