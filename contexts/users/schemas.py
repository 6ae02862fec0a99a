"""Shapes of the users REST reads that are not bus contracts."""

from uuid import UUID

from pydantic import BaseModel, Field

from bus.commands import PASSWORD_MAX
from bus.messages import Role
from bus.replies import UserView

MAX_PAGE_SIZE = 100


class UserPage(BaseModel):
    """One page of users, in email order."""

    items: list[UserView] = Field(description="The users on this page.")
    page: int = Field(description="The page number, from 1.")
    size: int = Field(description="The page size asked for.")
    total: int = Field(description="How many users match, over all pages.")


class CredentialCheck(BaseModel):
    """An email and password to check."""

    # A plain string: a malformed address is just another wrong credential.
    email: str = Field(max_length=255, description="The account's email address.")
    password: str = Field(
        max_length=PASSWORD_MAX, repr=False, description="The password to check."
    )


class VerifiedCredentials(BaseModel):
    """The account whose password matched."""

    user_id: UUID = Field(description="The user's id.")
    email: str = Field(description="The user's normalised email address.")
    role: Role = Field(description="The user's current role.")


class Problem(BaseModel):
    """Why a request failed."""

    detail: str = Field(description="Human-readable explanation.")
