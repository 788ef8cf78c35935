"""Bulk issuance jobs: an upload's rows, issued one per transaction by ``issuer worker``

- ``bulk_jobs``: who confirmed an upload, when, and whether rows still wait (running, finished).
- ``bulk_job_rows``: each line as uploaded, its state (pending, issued, skipped, failed), message and credential.

Revision ID: 9e4f1a2b3c5d
Revises: 7c3d9e1f2a6b
Create Date: 2026-12-05 00:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '9e4f1a2b3c5d'
down_revision = '7c3d9e1f2a6b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bulk_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_bulk_jobs_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_jobs'))
    )
    with op.batch_alter_table('bulk_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulk_jobs_created_by_id'), ['created_by_id'], unique=False)

    op.create_table('bulk_job_rows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('therapist_email', sa.String(length=320), nullable=False),
    sa.Column('level', sa.String(length=200), nullable=False),
    sa.Column('completion_date', sa.String(length=40), nullable=False),
    sa.Column('supervisor_email', sa.String(length=320), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('message', sa.String(length=1000), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], name=op.f('fk_bulk_job_rows_credential_id_credentials')),
    sa.ForeignKeyConstraint(['job_id'], ['bulk_jobs.id'], name=op.f('fk_bulk_job_rows_job_id_bulk_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_job_rows'))
    )
    with op.batch_alter_table('bulk_job_rows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulk_job_rows_job_id'), ['job_id'], unique=False)
        batch_op.create_index('ix_bulk_job_rows_state_id', ['state', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bulk_job_rows', schema=None) as batch_op:
        batch_op.drop_index('ix_bulk_job_rows_state_id')
        batch_op.drop_index(batch_op.f('ix_bulk_job_rows_job_id'))

    op.drop_table('bulk_job_rows')
    with op.batch_alter_table('bulk_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulk_jobs_created_by_id'))

    op.drop_table('bulk_jobs')
