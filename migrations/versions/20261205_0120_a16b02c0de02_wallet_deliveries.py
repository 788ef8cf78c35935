"""OpenID4VCI 1.0: nonces and holder-bound deliveries of an award (issue 16)

- ``wallet_nonces``: the ``c_nonce`` values of the Nonce Endpoint (hashed), short-lived and used once.
- ``wallet_deliveries``: each holder-bound credential delivered to a wallet for an award, with its own status.
- ``oauth_authorization_codes.authorization_details`` and ``oauth_tokens.authorization_details``: RFC 9396
  ``openid_credential`` details as requested, and as answered with the token (``credential_identifiers``).
- ``credential_offers.tx_code_hash`` and ``tx_code_attempts``: the offer's transaction code and wrong tries.

Revision ID: a16b02c0de02
Revises: a16a01c0de01
Create Date: 2026-12-05 01:20:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text  # autogenerate renders JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

revision = 'a16b02c0de02'
down_revision = 'a16a01c0de01'
branch_labels = None
depends_on = None


def _json() -> sa.JSON:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('wallet_nonces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nonce_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_nonces')),
    sa.UniqueConstraint('nonce_hash', name=op.f('uq_wallet_nonces_nonce_hash'))
    )
    with op.batch_alter_table('wallet_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_nonces_expires_at'), ['expires_at'], unique=False)

    op.create_table('wallet_deliveries',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('holder_did', sa.Text(), nullable=False),
    sa.Column('configuration_id', sa.String(length=100), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=100), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revocation_reason', sa.Text(), nullable=True),
    sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_changed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'],
                            name=op.f('fk_wallet_deliveries_credential_id_credentials')),
    sa.ForeignKeyConstraint(['status_changed_by_id'], ['users.id'],
                            name=op.f('fk_wallet_deliveries_status_changed_by_id_users')),
    sa.ForeignKeyConstraint(['token_id'], ['oauth_tokens.id'], name=op.f('fk_wallet_deliveries_token_id_oauth_tokens'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_deliveries')),
    sa.UniqueConstraint('digest', name=op.f('uq_wallet_deliveries_digest'))
    )
    with op.batch_alter_table('wallet_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_deliveries_credential_id'), ['credential_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wallet_deliveries_token_id'), ['token_id'], unique=False)

    with op.batch_alter_table('oauth_authorization_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authorization_details', _json(), nullable=True))
    with op.batch_alter_table('oauth_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authorization_details', _json(), nullable=True))
    with op.batch_alter_table('credential_offers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tx_code_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('tx_code_attempts', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('credential_offers', schema=None) as batch_op:
        batch_op.drop_column('tx_code_attempts')
        batch_op.drop_column('tx_code_hash')
    with op.batch_alter_table('oauth_tokens', schema=None) as batch_op:
        batch_op.drop_column('authorization_details')
    with op.batch_alter_table('oauth_authorization_codes', schema=None) as batch_op:
        batch_op.drop_column('authorization_details')

    with op.batch_alter_table('wallet_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_deliveries_token_id'))
        batch_op.drop_index(batch_op.f('ix_wallet_deliveries_credential_id'))
    op.drop_table('wallet_deliveries')

    with op.batch_alter_table('wallet_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_nonces_expires_at'))
    op.drop_table('wallet_nonces')
