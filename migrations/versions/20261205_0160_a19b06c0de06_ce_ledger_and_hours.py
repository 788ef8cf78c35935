"""Continuing-education ledger, supervised hours and supervisor qualifications (issue 19)

- ``credit_activities``: a therapist's continuing-education activities (minutes, the credit ratio in force, category,
  evidence), submitted, then approved or returned with a reason.
- ``supervised_sessions``: clinical sessions logged by the supervisor (date, minutes, setting, population).
- ``supervisor_qualifications``: a supervisor's professional credential and its number, recorded by an administrator.

Revision ID: a19b06c0de06
Revises: a19a05c0de05
Create Date: 2026-12-05 01:60:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'a19b06c0de06'
down_revision = 'a19a05c0de05'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('credit_activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('provider', sa.String(length=200), nullable=False),
    sa.Column('activity_on', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('minutes_per_credit', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('evidence_url', sa.String(length=2000), nullable=True),
    sa.Column('evidence_note', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.CheckConstraint('minutes > 0 AND minutes <= 1440', name=op.f('ck_credit_activities_minutes_in_range')),
    sa.CheckConstraint('minutes_per_credit > 0', name=op.f('ck_credit_activities_minutes_per_credit_positive')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_credit_activities_decided_by_id_users')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_credit_activities_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['therapist_id'], ['users.id'], name=op.f('fk_credit_activities_therapist_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_activities'))
    )
    with op.batch_alter_table('credit_activities', schema=None) as batch_op:
        batch_op.create_index('ix_credit_activities_therapist_state_on', ['therapist_id', 'state', 'activity_on'],
                              unique=False)

    op.create_table('supervised_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=False),
    sa.Column('supervisor_id', sa.Integer(), nullable=False),
    sa.Column('session_on', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('setting', sa.String(length=100), nullable=False),
    sa.Column('population', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('minutes > 0 AND minutes <= 1440', name=op.f('ck_supervised_sessions_minutes_in_range')),
    sa.ForeignKeyConstraint(['supervisor_id'], ['users.id'], name=op.f('fk_supervised_sessions_supervisor_id_users')),
    sa.ForeignKeyConstraint(['therapist_id'], ['users.id'], name=op.f('fk_supervised_sessions_therapist_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervised_sessions'))
    )
    with op.batch_alter_table('supervised_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervised_sessions_supervisor_id'), ['supervisor_id'], unique=False)
        batch_op.create_index('ix_supervised_sessions_therapist_on', ['therapist_id', 'session_on'], unique=False)

    op.create_table('supervisor_qualifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supervisor_id', sa.Integer(), nullable=False),
    sa.Column('credential_name', sa.String(length=100), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('issuing_body', sa.String(length=200), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'],
                            name=op.f('fk_supervisor_qualifications_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['supervisor_id'], ['users.id'],
                            name=op.f('fk_supervisor_qualifications_supervisor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervisor_qualifications'))
    )
    with op.batch_alter_table('supervisor_qualifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervisor_qualifications_supervisor_id'), ['supervisor_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('supervisor_qualifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervisor_qualifications_supervisor_id'))
    op.drop_table('supervisor_qualifications')
    with op.batch_alter_table('supervised_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_supervised_sessions_therapist_on')
        batch_op.drop_index(batch_op.f('ix_supervised_sessions_supervisor_id'))
    op.drop_table('supervised_sessions')
    with op.batch_alter_table('credit_activities', schema=None) as batch_op:
        batch_op.drop_index('ix_credit_activities_therapist_state_on')
    op.drop_table('credit_activities')
