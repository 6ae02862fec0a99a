"""Auth's tables (PostgreSQL): revoked tokens, refresh tokens, throttling counters.

The outbox and inbox tables come from ``bus``.
"""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from bus.db import UTCDateTime
from bus.messages import utcnow


class EndReason(StrEnum):
    """Why a session ended before its refresh token expired."""

    LOGOUT = "logout"
    REUSE = "reuse"
    USER_UPDATED = "user_updated"
    USER_DELETED = "user_deleted"


class BlacklistedToken(SQLModel, table=True):
    """An access token revoked before its expiry; the brief's ``blacklisted_tokens``.

    ``token`` holds the token's ``jti`` claim, never the JWT itself: a JWT is a
    bearer credential, so a table of them would hand live sessions to anyone
    who can read it, while the ``jti`` identifies the token just as well for a
    denylist. A row is useless once ``expires_at`` has passed (the token is
    refused anyway) and is purged after that.
    """

    __tablename__ = "blacklisted_tokens"

    token: str = Field(
        sa_column=Column(sa.Text, primary_key=True),
        description="The revoked access token's `jti`.",
    )
    user_id: UUID = Field(
        sa_column=Column(sa.Uuid, nullable=False), description="The token's owner."
    )
    expires_at: datetime = Field(
        sa_column=Column(UTCDateTime, nullable=False, index=True),
        description="The token's own expiry (`exp`).",
    )
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(UTCDateTime, server_default=sa.func.now()),
        description="When it was revoked.",
    )


class RefreshToken(SQLModel, table=True):
    """One refresh token, stored as its SHA-256, and the access token issued with it.

    A login opens a session: a family of refresh tokens sharing ``family_id``
    (the access tokens' ``sid`` claim). Each refresh spends one token
    (``used_at``) and adds the next to the family. ``revoked_at`` is set on
    every token of a family when the session ends.
    """

    __tablename__ = "refresh_tokens"

    id: UUID = Field(sa_column=Column(sa.Uuid, primary_key=True))
    family_id: UUID = Field(
        sa_column=Column(sa.Uuid, nullable=False, index=True),
        description="The session this token belongs to.",
    )
    user_id: UUID = Field(sa_column=Column(sa.Uuid, nullable=False, index=True))
    role: str = Field(
        sa_column=Column(sa.String(16), nullable=False),
        description="The role the session's access tokens carry.",
    )
    token_hash: str = Field(
        sa_column=Column(sa.CHAR(64), nullable=False, unique=True),
        repr=False,
        description="Hex SHA-256 of the refresh token; the token is never stored.",
    )
    access_jti: str = Field(
        sa_column=Column(sa.String(64), nullable=False),
        description="`jti` of the access token issued with this refresh token.",
    )
    access_expires_at: datetime = Field(
        sa_column=Column(UTCDateTime, nullable=False),
        description="When that access token expires.",
    )
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = Field(
        sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
    used_at: datetime | None = Field(
        default=None,
        sa_column=Column(UTCDateTime, nullable=True),
        description="When a refresh spent it.",
    )
    revoked_at: datetime | None = Field(
        default=None,
        sa_column=Column(UTCDateTime, nullable=True),
        description="When its session ended.",
    )
    revoked_reason: str | None = Field(
        default=None,
        sa_column=Column(sa.String(16), nullable=True),
        description="Why its session ended (an `EndReason`).",
    )


class ThrottleCounter(SQLModel, table=True):
    """Failed attempts of one account or one client address in a fixed window.

    Kept in the database so that every replica counts the same failures.
    Accounts are keyed by the SHA-256 of the email, so addresses that strangers
    type are not collected in clear.
    """

    __tablename__ = "throttle_counters"

    key: str = Field(
        sa_column=Column(sa.String(100), primary_key=True),
        description="`account:<sha256 of the email>` or `address:<ip or /64>`.",
    )
    window_started_at: datetime = Field(
        sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
    failures: int = Field(sa_column=Column(sa.Integer, nullable=False))
