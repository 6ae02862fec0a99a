"""Commands: imperative requests, each sent to the queue of its own name.

Only the owning context handles a command. Commands that act on behalf of a
user carry the ``actor`` the gateway authenticated; the handler decides
whether that actor may do it.
"""

from typing import ClassVar
from uuid import UUID

from pydantic import EmailStr, Field

from bus.messages import Actor, Command, Role

PASSWORD_MIN = 8
PASSWORD_MAX = 128


def _password(description: str) -> str:
    # repr=False keeps passwords out of reprs and therefore out of log lines.
    field: str = Field(
        min_length=PASSWORD_MIN,
        max_length=PASSWORD_MAX,
        repr=False,
        description=description,
    )
    return field


class RegisterUser(Command):
    """Create an account with the free role. Replies with the new user."""

    name: ClassVar[str] = "users.register"
    email: EmailStr = Field(description="Email address; stored lower-cased.")
    password: str = _password("Plain password, 8 to 128 characters.")
    full_name: str | None = Field(
        default=None, max_length=100, description="Full name, up to 100 characters."
    )


class UpdateProfile(Command):
    """Change a user's name, email or password. Replies with the updated user.

    Changing the email or the password needs the current password.
    """

    name: ClassVar[str] = "users.update_profile"
    actor: Actor = Field(description="Who asks: the user themself or an admin.")
    user_id: UUID = Field(description="The user to change.")
    full_name: str | None = Field(default=None, max_length=100, description="New name.")
    email: EmailStr | None = Field(default=None, description="New email address.")
    password: str | None = Field(
        default=None,
        min_length=PASSWORD_MIN,
        max_length=PASSWORD_MAX,
        repr=False,
        description="New password.",
    )
    current_password: str | None = Field(
        default=None,
        max_length=PASSWORD_MAX,
        repr=False,
        description="The current password; required to change email or password.",
    )


class ChangeRole(Command):
    """Give a user another role. Admins only. Replies with the updated user."""

    name: ClassVar[str] = "users.change_role"
    actor: Actor = Field(description="Who asks; must be an admin.")
    user_id: UUID = Field(description="The user whose role changes.")
    role: Role = Field(description="The new role.")


class DeleteUser(Command):
    """Delete an account: the user themself or an admin. Replies ``Done``."""

    name: ClassVar[str] = "users.delete"
    actor: Actor = Field(description="Who asks: the user themself or an admin.")
    user_id: UUID = Field(description="The user to delete.")


class Login(Command):
    """Exchange an email and password for a token pair."""

    name: ClassVar[str] = "auth.login"
    email: EmailStr = Field(description="The account's email address.")
    password: str = Field(max_length=PASSWORD_MAX, repr=False, description="Password.")
    client_ip: str = Field(description="Caller's address, for throttling.")


class RefreshTokens(Command):
    """Exchange a refresh token for a new pair; the old one is spent."""

    name: ClassVar[str] = "auth.refresh"
    refresh_token: str = Field(repr=False, description="The refresh token to spend.")
    client_ip: str = Field(description="Caller's address, for throttling.")


class Logout(Command):
    """Revoke the caller's access token and end its session. Replies ``Done``."""

    name: ClassVar[str] = "auth.logout"
    actor: Actor = Field(description="The token's owner.")
    access_token: str = Field(repr=False, description="The access token to revoke.")
