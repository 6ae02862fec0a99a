"""Inbox: a consumer's record of the messages it has already handled.

``claim`` inserts (consumer, message id) inside the same transaction as the
handler's effect. A redelivered or replayed message finds its row and is
skipped; two copies handled at once serialise on the primary key, and the
second one sees the first's row once it commits.
"""

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bus.db import UTCDateTime


def _now() -> datetime:
    return datetime.now(UTC)


class InboxMessage(SQLModel, table=True):
    """A message a consumer has handled."""

    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True, max_length=150)
    message_id: str = Field(primary_key=True, max_length=64)
    handled_at: datetime = Field(sa_type=UTCDateTime, default_factory=_now)


async def claim(session: AsyncSession, consumer: str, message_id: str) -> bool:
    """Record the message as handled; False if it already was.

    Must run inside the transaction that applies the message's effect. The
    insert sits in a savepoint so that a duplicate leaves that transaction
    usable.
    """
    try:
        async with session.begin_nested():
            session.add(InboxMessage(consumer=consumer, message_id=message_id))
    except IntegrityError:
        return False
    return True
