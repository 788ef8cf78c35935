"""Validity policies and expiry reminders (issue 19)

- ``validity_policies``: per framework (``level_id`` NULL) or per level: validity in calendar months, the
  continuing-education credits (and per-category minimums) a renewal needs, minutes per credit, the supervised
  minutes a completion needs, and the reminder lead times.
- ``reminder_notices``: each expiry reminder claimed before it is sent, unique per (credential, lead days).
- ``credentials.renews_id``: the credential of the previous cycle that a renewal follows.

Revision ID: a19a05c0de05
Revises: a17d04c0de04
Create Date: 2026-12-05 01:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'a19a05c0de05'
down_revision = 'a17d04c0de04'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('validity_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('framework_id', sa.Integer(), nullable=False),
    sa.Column('level_id', sa.Integer(), nullable=True),
    sa.Column('validity_months', sa.Integer(), nullable=True),
    sa.Column('required_credits', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('category_minimums', sa.Text(), nullable=False),
    sa.Column('minutes_per_credit', sa.Integer(), nullable=False),
    sa.Column('min_supervised_minutes', sa.Integer(), nullable=True),
    sa.Column('reminder_days', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['framework_id'], ['frameworks.id'], name=op.f('fk_validity_policies_framework_id_frameworks'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['level_id'], ['levels.id'], name=op.f('fk_validity_policies_level_id_levels'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_validity_policies_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_validity_policies')),
    sa.UniqueConstraint('level_id', name=op.f('uq_validity_policies_level_id'))
    )
    with op.batch_alter_table('validity_policies', schema=None) as batch_op:
        batch_op.create_index('uq_validity_policies_framework_default', ['framework_id'], unique=True,
                              sqlite_where=sa.text('level_id IS NULL'), postgresql_where=sa.text('level_id IS NULL'))

    op.create_table('reminder_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('lead_days', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], name=op.f('fk_reminder_notices_credential_id_credentials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_notices')),
    sa.UniqueConstraint('credential_id', 'lead_days', name=op.f('uq_reminder_notices_credential_id_lead_days'))
    )

    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('renews_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_credentials_renews_id'), ['renews_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_credentials_renews_id_credentials'), 'credentials', ['renews_id'],
                                    ['id'])


def downgrade() -> None:
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_credentials_renews_id_credentials'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_credentials_renews_id'))
        batch_op.drop_column('renews_id')

    op.drop_table('reminder_notices')
    with op.batch_alter_table('validity_policies', schema=None) as batch_op:
        batch_op.drop_index('uq_validity_policies_framework_default', sqlite_where=sa.text('level_id IS NULL'),
                            postgresql_where=sa.text('level_id IS NULL'))

    op.drop_table('validity_policies')
