"""The outbox and its relay on MariaDB and PostgreSQL, publishing to RabbitMQ."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, ClassVar, Literal
from uuid import uuid4

import aio_pika
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bus.correlation import HEADER as CORRELATION_HEADER
from bus.events import UserDeleted
from bus.messages import Event
from bus.outbox import OutboxMessage, OutboxRelay, stage
from bus.publisher import ReliablePublisher
from tests.integration.bus.support import Database, queue_depth
from tests.support.rabbit import watch_exchange, watch_queue

# Bound to user.deleted by the topology: where the tests count what arrived.
DURABLE_QUEUE = "auth.user.deleted"
# Relays in these tests never sweep on their own: only a commit wakes them.
NEVER = 3600.0


class NobodyListens(Event):
    """An event whose exchange has no queue bound."""

    name: ClassVar[str] = "bus_test.nobody_listens"
    event_type: Literal["bus_test.nobody_listens"] = "bus_test.nobody_listens"


class CountingPublisher(ReliablePublisher):
    def __init__(self, amqp_url: str) -> None:
        super().__init__(amqp_url)
        self.count = 0

    async def publish(self, body: bytes, **options: Any) -> None:
        await super().publish(body, **options)
        self.count += 1


class GatedPublisher(ReliablePublisher):
    """Holds every publish until the test opens the gate."""

    def __init__(self, amqp_url: str) -> None:
        super().__init__(amqp_url)
        self.holding = asyncio.Event()
        self.gate = asyncio.Event()

    async def publish(self, body: bytes, **options: Any) -> None:
        self.holding.set()
        await self.gate.wait()
        await super().publish(body, **options)


@pytest.fixture
async def lonely_exchange(amqp_url: str) -> AsyncIterator[str]:
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        NobodyListens.name, aio_pika.ExchangeType.FANOUT
    )
    yield NobodyListens.name
    await exchange.delete()
    await connection.close()


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sessions() as session:
        query = select(OutboxMessage).order_by(col(OutboxMessage.created_at))
        return list((await session.exec(query)).all())


async def test_a_rolled_back_transaction_stages_nothing(
    database: Database, publisher: ReliablePublisher
) -> None:
    sessions = database.sessions()
    relay = OutboxRelay(sessions, publisher, poll_interval=NEVER)

    async def change_state_and_fail() -> None:
        async with sessions.begin() as session:
            stage(session, UserDeleted(user_id=uuid4()))
            raise LookupError("the state change failed")

    with pytest.raises(LookupError):
        await change_state_and_fail()

    assert await _rows(sessions) == []
    assert await relay.relay_once() == 0


async def test_a_committed_event_is_published_right_after_the_commit(
    database: Database, publisher: ReliablePublisher, amqp_url: str
) -> None:
    sessions = database.sessions()
    relay = OutboxRelay(sessions, publisher, poll_interval=NEVER)
    events = [UserDeleted(user_id=uuid4()) for _ in range(2)]

    async with watch_exchange(amqp_url, UserDeleted.name) as watcher:
        relay.start()
        try:
            for arrived, event in enumerate(events, start=1):
                async with sessions.begin() as session:
                    stage(session, event)
                # Far below the poll interval: only the commit hook explains it.
                await watcher.wait_for(arrived, timeout=2.0)
        finally:
            await relay.stop()

    for event, message in zip(events, watcher.messages, strict=True):
        assert json.loads(message.body) == event.model_dump(mode="json")
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert message.message_id == str(event.event_id)
        assert message.correlation_id == event.correlation_id
        assert message.headers[CORRELATION_HEADER] == event.correlation_id
        assert message.type == UserDeleted.name
        assert message.content_type == "application/json"
    rows = await _rows(sessions)
    assert [row.id for row in rows] == [event.event_id for event in events]
    assert all(row.published_at is not None for row in rows)
    assert all(row.attempts == 0 for row in rows)


async def test_events_of_one_transaction_go_out_in_the_order_staged(
    database: Database, publisher: ReliablePublisher, amqp_url: str
) -> None:
    sessions = database.sessions()
    relay = OutboxRelay(sessions, publisher, poll_interval=NEVER)
    events = [UserDeleted(user_id=uuid4()) for _ in range(20)]
    async with sessions.begin() as session:
        for event in events:
            stage(session, event)

    async with watch_exchange(amqp_url, UserDeleted.name) as watcher:
        assert await relay.relay_once() == len(events)
        await watcher.wait_for(len(events))

    assert [message.message_id for message in watcher.messages] == [
        str(event.event_id) for event in events
    ]


async def test_an_event_nobody_can_receive_stays_unpublished(
    database: Database,
    publisher: ReliablePublisher,
    amqp_url: str,
    lonely_exchange: str,
) -> None:
    sessions = database.sessions()
    relay = OutboxRelay(sessions, publisher, poll_interval=NEVER)
    async with sessions.begin() as session:
        stage(session, NobodyListens())

    assert await relay.relay_once() == 1

    [row] = await _rows(sessions)
    assert row.published_at is None
    assert row.attempts == 1
    assert row.last_error
    assert row.next_attempt_at > row.created_at
    # Not retried before its back-off...
    assert await relay.relay_once() == 0
    # ...and the publisher is still good for events that can be delivered.
    async with sessions.begin() as session:
        stage(session, UserDeleted(user_id=uuid4()))
    assert await relay.relay_once() == 1
    assert await queue_depth(amqp_url, DURABLE_QUEUE) == 1


async def test_staging_does_not_wait_for_a_relay_that_is_publishing(
    database: Database, amqp_url: str
) -> None:
    sessions = database.sessions()
    async with sessions.begin() as session:
        stage(session, UserDeleted(user_id=uuid4()))
    publisher = GatedPublisher(amqp_url)
    await publisher.connect()
    relay = OutboxRelay(sessions, publisher, poll_interval=NEVER)
    sweep = asyncio.create_task(relay.relay_once())

    try:
        await publisher.holding.wait()
        # The relay holds its batch's transaction open while it publishes; a
        # context committing a new event meanwhile must not wait for it.
        async with asyncio.timeout(5.0), sessions.begin() as session:
            stage(session, UserDeleted(user_id=uuid4()))
    finally:
        publisher.gate.set()
        claimed = await sweep
        await publisher.close()

    assert claimed == 1
    assert len(await _rows(sessions)) == 2


async def test_two_relays_on_one_table_publish_each_row_exactly_once(
    database: Database, amqp_url: str
) -> None:
    staged = [UserDeleted(user_id=uuid4()) for _ in range(300)]
    async with database.sessions().begin() as session:
        for event in staged:
            stage(session, event)
    publishers = [CountingPublisher(amqp_url) for _ in range(2)]
    for publisher in publishers:
        await publisher.connect()
    relays = [
        OutboxRelay(database.sessions(), publisher, batch_size=25)
        for publisher in publishers
    ]

    async def drain(relay: OutboxRelay) -> None:
        while await relay.relay_once():
            pass

    try:
        await asyncio.gather(*(drain(relay) for relay in relays))
    finally:
        for publisher in publishers:
            await publisher.close()

    assert sum(publisher.count for publisher in publishers) == len(staged)
    assert all(publisher.count > 0 for publisher in publishers)
    assert await queue_depth(amqp_url, DURABLE_QUEUE) == len(staged)
    async with watch_queue(amqp_url, DURABLE_QUEUE) as watcher:
        await watcher.wait_for(len(staged))
    delivered = {message.message_id for message in watcher.messages}
    assert delivered == {str(event.event_id) for event in staged}
    rows = await _rows(database.sessions())
    assert all(row.published_at is not None for row in rows)
