"""Database plumbing shared by every context: engines, sessions, creation, migrations.

Works the same on MariaDB (aiomysql) and PostgreSQL (asyncpg). Domain code
never commits: the handler or request boundary opens ``session.begin()``.
"""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL stores it as ``timestamptz``; MariaDB's ``DATETIME`` has no zone,
    so it holds naive UTC and gets its zone back on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session factory with a Session class of its own.

    The class is private to this factory so that listeners (the outbox relay's
    after-commit hook) fire for its sessions only. It derives from SQLModel's
    Session, whose ``exec`` the async session calls.
    """
    session_class = type("ContextSession", (Session,), {})
    return async_sessionmaker(
        engine,
        class_=AsyncSession,
        sync_session_class=session_class,
        expire_on_commit=False,
    )


async def ping(engine: AsyncEngine) -> None:
    """Raise unless the database answers."""
    async with engine.connect() as connection:
        await connection.execute(sa.text("SELECT 1"))


async def ensure_database(url: str) -> bool:
    """Create the database ``url`` names if it does not exist; True if created."""
    target = make_url(url)
    name = target.database
    if not name or not name.replace("_", "").isalnum():
        raise ValueError("database names are letters, digits and underscores")
    postgres = target.get_backend_name() == "postgresql"
    # URL.set ignores None, so MariaDB's "no database" is the empty name.
    server = target.set(database="postgres" if postgres else "")
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            if postgres:
                exists = await connection.scalar(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                    {"name": name},
                )
                if exists:
                    return False
                await connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
                return True
            result = await connection.execute(
                sa.text(
                    f"CREATE DATABASE IF NOT EXISTS `{name}` "
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
            )
            return bool(result.rowcount)
    finally:
        await engine.dispose()


def alembic_config(alembic_ini: Path, url: str) -> Config:
    config = Config(str(alembic_ini))
    config.set_main_option("script_location", str(alembic_ini.parent / "migrations"))
    # ConfigParser interpolation would read "%" in a password as a reference.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_sync(alembic_ini: Path, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(alembic_ini, url), revision)


async def upgrade(alembic_ini: Path, url: str, revision: str = "head") -> None:
    """Run a context's migrations up to ``revision``.

    Alembic's async env.py runs its own event loop, so it runs in a thread.
    """
    await asyncio.to_thread(upgrade_sync, alembic_ini, url, revision)
