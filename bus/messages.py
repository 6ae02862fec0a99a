"""Base shapes every message on the bus is built from.

Commands ask one context to do something and are answered over request/reply;
events say something happened and fan out to every interested context. Both
are pydantic models serialised as JSON. The modules ``bus.commands``,
``bus.events`` and ``bus.replies`` hold the concrete contracts.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from bus.correlation import current_correlation_id


def utcnow() -> datetime:
    return datetime.now(UTC)


class Role(StrEnum):
    """A user's role: what they may watch and what they may administer."""

    FREE = "free"
    PREMIUM = "premium"
    ADMIN = "admin"


class Contract(BaseModel):
    """Any message body: strict about unknown fields so typos fail loudly."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Actor(Contract):
    """Who asks for a command, as the gateway authenticated them."""

    user_id: UUID = Field(description="Id of the authenticated user.")
    role: Role = Field(description="Role carried by the user's access token.")


class Command(Contract):
    """A request to one context to change its state.

    ``name`` is the queue the command is sent to (imperative: ``users.register``).
    """

    name: ClassVar[str]


class Event(Contract):
    """A fact that happened, published on a fanout exchange named after it.

    ``name`` is the exchange (past tense: ``user.created``). A breaking change
    to an event is a new event with a new name.
    """

    name: ClassVar[str]

    event_id: UUID = Field(
        default_factory=uuid4,
        description="Unique id of this event; consumers deduplicate on it.",
    )
    event_type: str = Field(description="The event's name, equal to its exchange.")
    occurred_at: datetime = Field(
        default_factory=utcnow, description="When the fact happened (UTC)."
    )
    correlation_id: str = Field(
        default_factory=current_correlation_id,
        description="Id of the request or message that caused this event.",
    )
