"""Events: facts in the past tense, each on a fanout exchange of its own name.

Fields are only ever added (with defaults); renaming or removing one makes a
new event. Consumers reload whatever else they need from the owning context.
"""

from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import EmailStr, Field

from bus.messages import Event, Role

EVENT_TYPE = "The event's name, equal to its exchange."


class UserCreated(Event):
    """A user account was registered (or seeded)."""

    name: ClassVar[str] = "user.created"
    event_type: Literal["user.created"] = Field(
        default="user.created", description=EVENT_TYPE
    )
    user_id: UUID = Field(description="Id of the new user.")
    email: EmailStr = Field(description="The user's normalised email address.")
    full_name: str | None = Field(description="The user's full name, if given.")
    role: Role = Field(description="The role the account starts with.")


class UserUpdated(Event):
    """A user's profile, credentials or role changed."""

    name: ClassVar[str] = "user.updated"
    event_type: Literal["user.updated"] = Field(
        default="user.updated", description=EVENT_TYPE
    )
    user_id: UUID = Field(description="Id of the changed user.")
    email: EmailStr = Field(description="The user's email address after the change.")
    full_name: str | None = Field(description="The user's full name after the change.")
    role: Role = Field(description="The user's role after the change.")
    changed: list[Literal["email", "full_name", "password", "role"]] = Field(
        description="Which attributes changed; sessions end when credentials or "
        "the role change."
    )


class UserDeleted(Event):
    """A user account was deleted; every context forgets what it kept of it."""

    name: ClassVar[str] = "user.deleted"
    event_type: Literal["user.deleted"] = Field(
        default="user.deleted", description=EVENT_TYPE
    )
    user_id: UUID = Field(description="Id of the deleted user.")


class TokenRevoked(Event):
    """An access token was revoked before its expiry (logout)."""

    name: ClassVar[str] = "token.revoked"
    event_type: Literal["token.revoked"] = Field(
        default="token.revoked", description=EVENT_TYPE
    )
    jti: str = Field(description="The revoked token's unique id (its `jti` claim).")
    user_id: UUID = Field(description="Owner of the revoked token.")
    expires_at: datetime = Field(
        description="When the token expires anyway; the revocation may be "
        "forgotten after that."
    )


class InvoicePaid(Event):
    """The billing service recorded the payment of an invoice."""

    name: ClassVar[str] = "invoice.paid"
    event_type: Literal["invoice.paid"] = Field(
        default="invoice.paid", description=EVENT_TYPE
    )
    invoice_id: str = Field(description="Billing's id of the paid invoice.")
    user_id: UUID = Field(description="The user who paid.")
    amount: Decimal = Field(description="Amount paid, in the invoice's currency.")
    currency: str = Field(
        min_length=3, max_length=3, description="ISO 4217 currency code."
    )
    paid_at: datetime = Field(description="When the payment was recorded (UTC).")


class EmailSent(Event):
    """An email left for the SMTP server and was accepted by it."""

    name: ClassVar[str] = "email.sent"
    event_type: Literal["email.sent"] = Field(
        default="email.sent", description=EVENT_TYPE
    )
    email_id: UUID = Field(description="Id of the email in the email log.")
    user_id: UUID = Field(description="The user the email was for.")
    to_email: EmailStr = Field(description="Recipient address.")
    template: str = Field(description="Name of the template the email was built from.")
    sent_at: datetime = Field(description="When the SMTP server accepted it (UTC).")


class EmailFailed(Event):
    """An email could not be delivered after every retry."""

    name: ClassVar[str] = "email.failed"
    event_type: Literal["email.failed"] = Field(
        default="email.failed", description=EVENT_TYPE
    )
    email_id: UUID = Field(description="Id of the email in the email log.")
    user_id: UUID = Field(description="The user the email was for.")
    to_email: EmailStr = Field(description="Recipient address.")
    template: str = Field(description="Name of the template the email was built from.")
    error: str = Field(description="Why delivery failed, as the SMTP server said.")


ALL_EVENTS: tuple[type[Event], ...] = (
    UserCreated,
    UserUpdated,
    UserDeleted,
    TokenRevoked,
    InvoicePaid,
    EmailSent,
    EmailFailed,
)
