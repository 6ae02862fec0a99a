"""Helpers for the bus integration tests."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import sqlalchemy as sa
from faststream.rabbit import RabbitBroker
from faststream.rabbit.subscriber import RabbitSubscriber
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bus.commands import RegisterUser
from bus.db import create_session_factory
from bus.events import UserCreated
from bus.publisher import ReliablePublisher
from bus.rpc import CommandClient
from bus.settings import ServiceSettings

DIALECTS = ("mariadb", "postgres")


@dataclass(frozen=True)
class Database:
    dialect: str
    url: str
    engine: AsyncEngine

    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """A session factory of its own, as each process has."""
        return create_session_factory(self.engine)


# Sessions of this database waiting for a row lock another one holds.
_LOCK_WAITERS = {
    "postgres": (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
    ),
    "mariadb": (
        "SELECT count(*) FROM information_schema.innodb_trx AS trx "
        "JOIN information_schema.processlist AS process "
        "ON process.id = trx.trx_mysql_thread_id "
        "WHERE trx.trx_state = 'LOCK WAIT' AND process.db = database()"
    ),
}


# InnoDB refreshes its transaction tables only when they were not read for
# 0.1 s: polled faster, they never show a new lock wait.
LOCK_POLL_INTERVAL = 0.25


async def lock_waiters(database: Database) -> int:
    """How many of the database's sessions wait for a lock right now.

    Poll it every ``LOCK_POLL_INTERVAL`` seconds at most.
    """
    async with database.engine.connect() as connection:
        count = await connection.scalar(sa.text(_LOCK_WAITERS[database.dialect]))
    return int(count or 0)


async def queue_depth(amqp_url: str, queue: str) -> int:
    """How many messages wait in ``queue``, not counting unacknowledged ones."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)
    finally:
        await connection.close()


def bus_settings(amqp_url: str) -> ServiceSettings:
    """Settings for a test service: three attempts, back-off 0.2 s then 0.4 s."""
    return ServiceSettings(
        amqp_url=amqp_url, max_attempts=3, retry_base_delay=0.2, prefetch=8
    )


async def eventually(
    check: Callable[[], Awaitable[bool]],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
) -> None:
    """Wait until ``check`` holds, polling it; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@dataclass
class Delivery:
    """One delivery of an event to the test service's handler."""

    at: float
    headers: dict[str, Any]
    event: UserCreated


@dataclass
class BusService:
    """A service built like the contexts' (bus.broker.create_broker), with
    handlers whose outcome each test chooses."""

    broker: RabbitBroker
    publisher: ReliablePublisher
    command_subscriber: RabbitSubscriber
    client: CommandClient
    # What the event handler raises, one entry per delivery; then it succeeds.
    event_failures: list[Exception] = field(default_factory=list)
    event_always_fails: bool = False
    deliveries: list[Delivery] = field(default_factory=list)
    handled_events: list[UserCreated] = field(default_factory=list)
    commands: list[RegisterUser] = field(default_factory=list)
    correlation_ids: list[str] = field(default_factory=list)
    # When set, the command handler stages UserCreated in this outbox.
    outbox: async_sessionmaker[AsyncSession] | None = None

    async def publish_event(self, body: bytes, **options: Any) -> None:
        """Publish to ``user.created`` as an outbox relay would."""
        await self.publisher.publish(body, exchange=UserCreated.name, **options)
