"""Bodies of the public API, with the examples its OpenAPI document shows.

Responses reuse the bus contracts (``UserView``, ``TokenPair``); requests
are the public shapes, which the routes turn into commands.
"""

from typing import Annotated, Any, ClassVar, Self

from fastapi import Body
from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator
from pydantic.config import JsonDict

from bus.commands import PASSWORD_MAX, PASSWORD_MIN
from bus.messages import Role
from bus.replies import UserView

USER_ID_EXAMPLE = "3f2b8c1e-4d5a-4b6c-9e7f-1a2b3c4d5e6f"


def _schema_examples(schema: JsonDict, model: type[Any]) -> None:
    schema["examples"] = list(model.EXAMPLES.values())


class PublicBody(BaseModel):
    """A request body: unknown fields are refused, so typos fail loudly.

    Secrets are declared with ``repr=False``, which keeps them out of reprs
    and so out of log lines.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_schema_examples)

    # Shown in the schema and as named examples of the request body, which
    # is what a Postman collection generated from the document sends.
    EXAMPLES: ClassVar[dict[str, JsonDict]] = {}

    @classmethod
    def openapi_examples(cls) -> dict[str, Example]:
        return {
            name: Example(summary=name, value=value)
            for name, value in cls.EXAMPLES.items()
        }


class Registration(PublicBody):
    """A new account; it starts with the free role."""

    EXAMPLES: ClassVar[dict[str, JsonDict]] = {
        "A new account": {
            "email": "ana@example.com",
            "password": "Str0ng-Passw0rd",
            "full_name": "Ana Pérez",
        }
    }

    email: EmailStr = Field(description="Email address; stored lower-cased.")
    password: str = Field(
        min_length=PASSWORD_MIN,
        max_length=PASSWORD_MAX,
        repr=False,
        description="Password, 8 to 128 characters.",
    )
    full_name: str | None = Field(
        default=None, max_length=100, description="Full name, up to 100 characters."
    )


class Credentials(PublicBody):
    """An email and password to log in with."""

    EXAMPLES: ClassVar[dict[str, JsonDict]] = {
        "Log in": {"email": "ana@example.com", "password": "Str0ng-Passw0rd"}
    }

    email: EmailStr = Field(description="The account's email address.")
    password: str = Field(
        min_length=1,
        max_length=PASSWORD_MAX,
        repr=False,
        description="The account's password.",
    )


class RefreshRequest(PublicBody):
    """A refresh token to exchange for a new token pair."""

    EXAMPLES: ClassVar[dict[str, JsonDict]] = {
        "Refresh": {"refresh_token": "<refresh token from the last pair>"}
    }

    refresh_token: str = Field(
        min_length=1,
        max_length=4096,
        repr=False,
        description="The refresh token of the latest pair; it can be used once.",
    )


class UserChange(PublicBody):
    """Changes to a user: profile fields, or (admins only) the role.

    Changing the email or the password needs `current_password`. A `role`
    change is sent on its own, without profile fields.
    """

    EXAMPLES: ClassVar[dict[str, JsonDict]] = {
        "Rename": {"full_name": "Ana María Pérez"},
        "New password": {
            "password": "N3w-Passw0rd!",
            "current_password": "Str0ng-Passw0rd",
        },
        "New role (admins)": {"role": "premium"},
    }

    full_name: str | None = Field(default=None, max_length=100, description="New name.")
    email: EmailStr | None = Field(default=None, description="New email address.")
    password: str | None = Field(
        default=None,
        min_length=PASSWORD_MIN,
        max_length=PASSWORD_MAX,
        repr=False,
        description="New password, 8 to 128 characters.",
    )
    current_password: str | None = Field(
        default=None,
        max_length=PASSWORD_MAX,
        repr=False,
        description="The current password; required to change email or password.",
    )
    role: Role | None = Field(default=None, description="New role (admins only).")

    @model_validator(mode="after")
    def _one_kind_of_change(self) -> Self:
        profile = self.model_fields_set - {"role"}
        if "role" in self.model_fields_set:
            if self.role is None:
                raise ValueError("role cannot be null")
            if profile:
                raise ValueError("change the role on its own, without profile fields")
        elif not profile - {"current_password"}:
            raise ValueError("nothing to change")
        return self


RegistrationBody = Annotated[
    Registration, Body(openapi_examples=Registration.openapi_examples())
]
CredentialsBody = Annotated[
    Credentials, Body(openapi_examples=Credentials.openapi_examples())
]
RefreshBody = Annotated[
    RefreshRequest, Body(openapi_examples=RefreshRequest.openapi_examples())
]
UserChangeBody = Annotated[
    UserChange, Body(openapi_examples=UserChange.openapi_examples())
]


class UserPage(BaseModel):
    """One page of users."""

    items: list[UserView] = Field(description="The users on this page.")
    page: int = Field(description="Page number, from 1.")
    size: int = Field(description="Users per page.")
    total: int = Field(description="Users matching the query, in all pages.")


USER_EXAMPLE: dict[str, Any] = {
    "id": USER_ID_EXAMPLE,
    "email": "ana@example.com",
    "full_name": "Ana Pérez",
    "role": "free",
    "created_at": "2025-01-15T10:30:00Z",
    "updated_at": "2025-01-15T10:30:00Z",
}

USER_PAGE_EXAMPLE: dict[str, Any] = {
    "items": [USER_EXAMPLE],
    "page": 1,
    "size": 20,
    "total": 1,
}

TOKEN_PAIR_EXAMPLE: dict[str, Any] = {
    "access_token": "<access token (JWT)>",
    "refresh_token": "<refresh token>",
    "token_type": "Bearer",
    "expires_in": 900,
}


def example(value: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI JSON ``content`` entry with one example."""
    return {"content": {"application/json": {"example": value}}}
