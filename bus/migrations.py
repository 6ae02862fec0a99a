"""Alembic pieces every context with a database shares.

A context's ``migrations/env.py`` is a call to ``run_environment``. Its
initial migration calls ``create_outbox_and_inbox()`` in ``upgrade()`` and
``drop_outbox_and_inbox()`` in ``downgrade()``. The columns and indexes are
those of ``bus.outbox.OutboxMessage`` and ``bus.inbox.InboxMessage``; a change
to either model needs a new migration in every context, written with the
operations here.
"""

import asyncio
import logging.config
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy import pool
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def _timestamp() -> sa.types.TypeEngine[datetime]:
    """The column type behind ``bus.db.UTCDateTime``.

    ``timestamptz`` on PostgreSQL; on MariaDB a ``DATETIME`` with microseconds,
    because the relay publishes in ``created_at`` order and whole seconds
    would let two events of one transaction swap places.
    """
    microseconds = mysql.DATETIME(fsp=6)
    return (
        sa.DateTime(timezone=True)
        .with_variant(microseconds, "mysql")
        .with_variant(microseconds, "mariadb")
    )


def create_outbox_and_inbox() -> None:
    """Create the ``outbox`` and ``inbox`` tables with their indexes."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("next_attempt_at", _timestamp(), nullable=False),
        sa.Column("published_at", _timestamp(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
    )
    op.create_index("ix_outbox_pending", "outbox", ["published_at", "next_attempt_at"])
    op.create_index("ix_outbox_type_created", "outbox", ["event_type", "created_at"])

    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(150), primary_key=True),
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("handled_at", _timestamp(), nullable=False),
    )


def drop_outbox_and_inbox() -> None:
    """Drop what ``create_outbox_and_inbox`` created."""
    op.drop_table("inbox")
    op.drop_index("ix_outbox_type_created", table_name="outbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")


def run_environment(metadata: sa.MetaData, default_url: Callable[[], str]) -> None:
    """Run the migrations Alembic asks for: the body of a context's env.py.

    The database URL is the ``sqlalchemy.url`` option, which ``bus.db.upgrade``
    sets; the alembic command line without one uses ``default_url()`` (the
    context's settings). Only the command line configures logging from the
    ini file: a process migrating through ``bus.db`` keeps its own.
    """
    config = context.config
    if config.config_file_name is not None and config.cmd_opts is not None:
        logging.config.fileConfig(
            config.config_file_name, disable_existing_loggers=False
        )
    url = config.get_main_option("sqlalchemy.url") or default_url()

    if context.is_offline_mode():
        # ``alembic upgrade --sql``: print the SQL instead of running it.
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_online(url, metadata))


async def _run_online(url: str, metadata: sa.MetaData) -> None:
    def migrate(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()

    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
    finally:
        await engine.dispose()
