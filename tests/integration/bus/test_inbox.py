"""The inbox on MariaDB and PostgreSQL: a message's effect happens once."""

import asyncio
from uuid import uuid4

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bus.events import UserDeleted
from bus.inbox import InboxMessage, claim
from bus.outbox import OutboxMessage, stage
from tests.integration.bus.support import (
    LOCK_POLL_INTERVAL,
    Database,
    eventually,
    lock_waiters,
)

CONSUMER = "email.user.created"


async def _count(sessions: async_sessionmaker[AsyncSession], table: type) -> int:
    async with sessions() as session:
        return (await session.exec(select(func.count()).select_from(table))).one()


async def test_a_second_claim_is_refused_and_the_transaction_goes_on(
    database: Database,
) -> None:
    sessions = database.sessions()
    message_id = str(uuid4())
    async with sessions.begin() as session:
        assert await claim(session, CONSUMER, message_id)

    async with sessions.begin() as session:
        again = await claim(session, CONSUMER, message_id)
        # The transaction is still usable after the refused insert.
        stage(session, UserDeleted(user_id=uuid4()))
        other = await claim(session, CONSUMER, str(uuid4()))

    assert again is False
    assert other is True
    assert await _count(sessions, InboxMessage) == 2
    assert await _count(sessions, OutboxMessage) == 1


async def test_a_claim_repeated_in_one_transaction_is_refused(
    database: Database,
) -> None:
    sessions = database.sessions()
    message_id = str(uuid4())

    async with sessions.begin() as session:
        first = await claim(session, CONSUMER, message_id)
        second = await claim(session, CONSUMER, message_id)

    assert (first, second) == (True, False)
    assert await _count(sessions, InboxMessage) == 1


async def test_the_same_id_is_separate_for_each_consumer(database: Database) -> None:
    sessions = database.sessions()
    message_id = str(uuid4())

    async with sessions.begin() as session:
        assert await claim(session, "auth.user.deleted", message_id)
        assert await claim(session, "playlists.user.deleted", message_id)

    assert await _count(sessions, InboxMessage) == 2


async def test_a_claim_rolled_back_with_its_effect_can_be_made_again(
    database: Database,
) -> None:
    sessions = database.sessions()
    message_id = str(uuid4())

    try:
        async with sessions.begin() as session:
            assert await claim(session, CONSUMER, message_id)
            raise LookupError("the effect failed")
    except LookupError:
        pass

    async with sessions.begin() as session:
        assert await claim(session, CONSUMER, message_id)


async def test_of_two_concurrent_claims_exactly_one_wins(database: Database) -> None:
    first_in = asyncio.Event()
    message_id = str(uuid4())

    async def handle(sessions: async_sessionmaker[AsyncSession], lead: bool) -> bool:
        async with sessions.begin() as session:
            if not lead:
                await first_in.wait()
            won = await claim(session, CONSUMER, message_id)
            if lead:
                first_in.set()
                # Commit only once the other claim is blocked on this one, so
                # the two really overlap.
                await eventually(
                    lambda: _blocked(database), interval=LOCK_POLL_INTERVAL
                )
            return won

    async def _blocked(database: Database) -> bool:
        return await lock_waiters(database) > 0

    results = await asyncio.gather(
        handle(database.sessions(), lead=True),
        handle(database.sessions(), lead=False),
    )

    assert sorted(results) == [False, True]
    assert await _count(database.sessions(), InboxMessage) == 1
