"""Stable credentialSubject ids for therapists (issue 16)

- ``users.subject_id``: a random UUID per account, made at account creation and never changed; credentials name
  their subject ``urn:uuid:<subject_id>`` (OB 3.0 section 8.2.4.1: the VC-JWT's ``sub``). Existing accounts get a
  fresh one each. Credentials issued before keep their document as signed.

Revision ID: a16a01c0de01
Revises: 4d7b2c9e8f10
Create Date: 2026-12-05 01:10:00

"""
import uuid

import sqlalchemy as sa
from alembic import op

revision = 'a16a01c0de01'
down_revision = '4d7b2c9e8f10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('subject_id', sa.Uuid(), nullable=True))

    bind = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer()), sa.column('subject_id', sa.Uuid()))
    ids = bind.execute(sa.select(users.c.id)).scalars().all()
    if ids:
        bind.execute(users.update().where(users.c.id == sa.bindparam('user_id'))
                     .values(subject_id=sa.bindparam('new_subject_id')),
                     [{'user_id': user_id, 'new_subject_id': uuid.uuid4()} for user_id in ids])

    with op.batch_alter_table('users') as batch_op:
        batch_op.alter_column('subject_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_users_subject_id'), ['subject_id'])


def downgrade() -> None:
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_subject_id'), type_='unique')
        batch_op.drop_column('subject_id')
