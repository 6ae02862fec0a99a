"""The users table (the brief's schema, on MariaDB)."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Column, Field, SQLModel

from bus.db import UTCDateTime
from bus.messages import Role


def now() -> datetime:
    """The current time as the users table holds it: aware UTC, whole seconds.

    ``DATETIME`` keeps no fraction, so a value with microseconds would read
    back different from what a reply showed.
    """
    return datetime.now(UTC).replace(microsecond=0)


class UUIDText(sa.types.TypeDecorator[UUID]):
    """A UUID stored as its 36-character text form (``CHAR(36)``)."""

    impl = sa.CHAR(36)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(UUID(str(value)))

    def process_result_value(self, value: Any, dialect: Dialect) -> UUID | None:
        return None if value is None else UUID(str(value))


ROLE_TYPE = sa.Enum(
    Role,
    name="user_role",
    values_callable=lambda roles: [role.value for role in roles],
)


class User(SQLModel, table=True):
    """An account. ``password_hash`` never leaves this context.

    The application always writes ``created_at`` and ``updated_at`` itself, in
    UTC; the database defaults only serve rows written by hand.
    """

    __tablename__ = "users"

    id: UUID = Field(
        default_factory=uuid4, sa_column=Column(UUIDText, primary_key=True)
    )
    email: str = Field(
        sa_column=Column(sa.String(255), nullable=False, unique=True),
        description="Normalised (trimmed, lower-case) email address.",
    )
    password_hash: str = Field(
        sa_column=Column(sa.String(255), nullable=False),
        repr=False,
        description="argon2id hash in PHC format.",
    )
    full_name: str | None = Field(
        default=None, sa_column=Column(sa.String(100), nullable=True)
    )
    role: Role = Field(default=Role.FREE, sa_column=Column(ROLE_TYPE, nullable=False))
    created_at: datetime = Field(
        default_factory=now,
        sa_column=Column(
            UTCDateTime, nullable=True, server_default=sa.text("CURRENT_TIMESTAMP")
        ),
    )
    updated_at: datetime = Field(
        default_factory=now,
        sa_column=Column(
            UTCDateTime,
            nullable=True,
            onupdate=now,
            server_default=sa.text("CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP"),
        ),
    )
