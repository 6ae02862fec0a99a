"""A RabbitMQ outage delays events in the outbox; it never loses or repeats them.

These tests stop RabbitMQ for everyone using it: run them under
``flock /tmp/sf/rabbit-outage.lock``.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import uuid4

import pytest
from sqlmodel import select

from bus.events import UserDeleted
from bus.outbox import OutboxMessage, OutboxRelay, stage
from bus.publisher import ReliablePublisher
from tests.integration.bus.support import Database, eventually, queue_depth
from tests.support.rabbit import watch_queue
from tests.support.services import Services

DURABLE_QUEUE = "auth.user.deleted"


@dataclass
class RabbitControl:
    command: tuple[str, ...]
    stopped: bool = False

    async def _run(self, action: str) -> None:
        process = await asyncio.create_subprocess_exec(
            *self.command,
            action,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, error = await process.communicate()
        assert process.returncode == 0, error.decode()

    async def stop(self) -> None:
        self.stopped = True
        await self._run("stop_app")

    async def start(self) -> None:
        await self._run("start_app")
        self.stopped = False


@pytest.fixture
async def rabbit(services: Services) -> AsyncIterator[RabbitControl]:
    control = RabbitControl(services.rabbitmq_control)
    yield control
    if control.stopped:
        # Never leave RabbitMQ down for the tests that follow.
        await control.start()


async def test_events_staged_during_an_outage_all_arrive_once_it_ends(
    database: Database,
    publisher: ReliablePublisher,
    amqp_url: str,
    rabbit: RabbitControl,
) -> None:
    sessions = database.sessions()
    # Never sweeps on its own: only its retry schedule can bring the rows out.
    relay = OutboxRelay(sessions, publisher, poll_interval=3600)
    staged = [UserDeleted(user_id=uuid4()) for _ in range(20)]

    async def rows() -> list[OutboxMessage]:
        async with sessions() as session:
            return list((await session.exec(select(OutboxMessage))).all())

    async def all_failed() -> bool:
        found = await rows()
        return len(found) == len(staged) and all(
            row.attempts > 0 and row.published_at is None for row in found
        )

    async def all_published() -> bool:
        return all(row.published_at is not None for row in await rows())

    relay.start()
    try:
        await rabbit.stop()
        async with sessions.begin() as session:
            for event in staged:
                stage(session, event)
        await eventually(all_failed)

        await rabbit.start()
        await eventually(all_published, timeout=60.0)
    finally:
        await relay.stop()

    assert await queue_depth(amqp_url, DURABLE_QUEUE) == len(staged)
    async with watch_queue(amqp_url, DURABLE_QUEUE) as watcher:
        await watcher.wait_for(len(staged))
    assert sorted(message.message_id or "" for message in watcher.messages) == sorted(
        str(event.event_id) for event in staged
    )
