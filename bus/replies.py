"""Replies to commands: a result, or an error carried as data.

A command handler that fails sends an error reply instead of raising, so the
caller never waits for a reply that will not come. The gateway maps each
``ErrorCode`` to one HTTP status.
"""

from datetime import datetime
from enum import StrEnum
from typing import Generic, Self, TypeVar
from uuid import UUID

from pydantic import EmailStr, Field, model_validator

from bus.messages import Contract, Role

T = TypeVar("T")


class ErrorCode(StrEnum):
    """Why a command was not carried out."""

    INVALID = "invalid"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    TOO_MANY_REQUESTS = "too_many_requests"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class FieldError(Contract):
    """One invalid field of a command."""

    loc: list[str | int] = Field(description="Path to the field inside the body.")
    msg: str = Field(description="What is wrong with it.")
    type: str = Field(description="Machine-readable kind of the error.")


class ErrorInfo(Contract):
    """What went wrong, safe to show to the caller."""

    code: ErrorCode = Field(description="Machine-readable error class.")
    message: str = Field(description="Human-readable explanation.")
    details: list[FieldError] = Field(
        default_factory=list, description="Per-field problems, for invalid input."
    )
    retry_after: int | None = Field(
        default=None, description="Seconds to wait before trying again, if known."
    )


class Reply(Contract, Generic[T]):
    """The answer to a command: exactly one of ``result`` and ``error`` is set."""

    result: T | None = Field(default=None, description="What the command produced.")
    error: ErrorInfo | None = Field(
        default=None, description="Why the command was refused or failed."
    )

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if self.result is not None and self.error is not None:
            raise ValueError("a reply carries a result or an error, not both")
        return self

    @property
    def ok(self) -> bool:
        return self.error is None


class CommandError(Exception):
    """Raised by domain code to refuse a command; becomes an error reply."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        details: list[FieldError] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.info = ErrorInfo(
            code=code, message=message, details=details or [], retry_after=retry_after
        )


class Done(Contract):
    """The result of a command that produces nothing but its effect."""

    done: bool = Field(default=True, description="Always true.")


class UserView(Contract):
    """A user as other contexts and the public API see it: never a hash."""

    id: UUID = Field(description="The user's id.")
    email: EmailStr = Field(description="Normalised email address.")
    full_name: str | None = Field(description="Full name, if given.")
    role: Role = Field(description="free, premium or admin.")
    created_at: datetime = Field(description="When the account was created (UTC).")
    updated_at: datetime = Field(description="When it last changed (UTC).")


class TokenPair(Contract):
    """Tokens issued by a login or a refresh."""

    access_token: str = Field(
        description="Short-lived JWT for the Authorization header."
    )
    refresh_token: str = Field(description="Single-use token to obtain a new pair.")
    token_type: str = Field(default="Bearer", description="Always `Bearer`.")
    expires_in: int = Field(description="Seconds until the access token expires.")
