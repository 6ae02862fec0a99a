"""A RabbitMQ outage delays events and commands; it never loses or repeats them.

These tests stop RabbitMQ for everyone using it (the ``rabbit`` fixture):
where other suites share the server, run them under one lock
(``flock <lock file> uv run pytest ...``).
"""

from uuid import uuid4

import pytest
from sqlmodel import select

from bus.commands import RegisterUser
from bus.events import UserDeleted
from bus.outbox import OutboxMessage, OutboxRelay, stage
from bus.publisher import ReliablePublisher
from bus.replies import UserView
from bus.rpc import CommandFailed
from tests.integration.bus.support import (
    BusService,
    Database,
    eventually,
    queue_depth,
)
from tests.support.rabbit import RabbitControl, watch_queue

DURABLE_QUEUE = "auth.user.deleted"


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


async def test_the_command_client_sends_again_once_rabbitmq_is_back(
    service: BusService, rabbit: RabbitControl
) -> None:
    def register(email: str) -> RegisterUser:
        return RegisterUser(email=email, password="a-long-enough-password")

    before = await service.client.send(register("before@example.com"), UserView)
    await rabbit.stop()
    with pytest.raises(CommandFailed):
        await service.client.send(register("during@example.com"), UserView, timeout=1)
    await rabbit.start()

    async def answered() -> bool:
        try:
            reply = await service.client.send(
                register("after@example.com"), UserView, timeout=1
            )
        except CommandFailed:
            return False
        return reply.ok

    await eventually(answered, timeout=60.0)
    assert before.ok
