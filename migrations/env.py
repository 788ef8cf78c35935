"""Alembic environment for the issuer: the app's engine and metadata, batch mode for SQLite."""

from __future__ import annotations

import logging
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext
from flask import current_app
from sqlalchemy import Engine

logger = logging.getLogger("alembic.env")
config = context.config

migrate_ext = current_app.extensions["migrate"]
target_metadata = migrate_ext.db.metadata


def engine() -> Engine:
    bound: Engine = migrate_ext.db.engine
    return bound


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``issuer db upgrade --sql``)."""
    url = engine().url.render_as_string(hide_password=False)
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, **migrate_ext.configure_args)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def process_revision_directives(  # no empty revisions from autogenerate
        ctx: MigrationContext, revision: Any, directives: list[Any]
    ) -> None:
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(migrate_ext.configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    with engine().connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
