"""Registrations across a RabbitMQ restart: every user's user.created arrives once.

This test stops RabbitMQ's application (the ``rabbit`` fixture) for everyone
using the server: where other suites share it, run it under one lock
(``flock <lock file> uv run pytest ...``).
"""

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import aio_pika
import pytest

from bus.commands import RegisterUser
from bus.replies import ErrorCode, UserView
from bus.rpc import CommandClient, CommandFailed
from tests.integration.users.support import PASSWORD, Users, wait_until
from tests.support.rabbit import RabbitControl
from tests.support.services import Services

CAPTURE = "test.users.outage.user.created"
REGISTRATIONS = 40
STOP_AFTER = 10


@pytest.fixture
async def capture(services: Services) -> AsyncIterator[str]:
    """A durable queue bound to user.created: what it holds survives a restart."""
    connection = await aio_pika.connect(services.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(
            CAPTURE, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.bind("user.created")
        await queue.purge()
    yield CAPTURE
    connection = await aio_pika.connect(services.amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(CAPTURE)


async def drain(amqp_url: str, name: str) -> list[dict[str, Any]]:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(name)
        bodies = []
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            bodies.append(json.loads(message.body))
        return bodies


@dataclass
class Registrar:
    """Registers users through one client, across a RabbitMQ restart."""

    client: CommandClient
    users: Users

    async def register(self, email: str) -> UUID:
        """Register ``email``, retrying until it is; an earlier try may have landed."""
        command = RegisterUser(email=email, password=PASSWORD)
        while True:
            try:
                reply = await self.client.send(command, UserView, timeout=3.0)
            except CommandFailed:
                await asyncio.sleep(0.2)
                continue
            if reply.result is not None:
                return reply.result.id
            assert reply.error is not None
            assert reply.error.code is ErrorCode.CONFLICT, reply.error
            sql = "SELECT id FROM users WHERE email = :email"
            return UUID(await self.users.scalar(sql, email=email))


async def test_every_registration_across_a_restart_publishes_its_event_once(
    services: Services, users: Users, capture: str, rabbit: RabbitControl
) -> None:
    registered: dict[str, UUID] = {}
    client = CommandClient(services.amqp_url)
    await client.connect()
    registrar = Registrar(client, users)

    async def register_all() -> None:
        for number in range(REGISTRATIONS):
            email = f"outage-{number}@example.com"
            registered[email] = await registrar.register(email)

    registering = asyncio.create_task(register_all())
    try:
        await wait_until(lambda: _at_least(registered, STOP_AFTER), timeout=30)
        await rabbit.stop()
        registered_before_restart = len(registered)
        await rabbit.start()
        await asyncio.wait_for(registering, timeout=120)
    finally:
        registering.cancel()
        await client.close()
    await wait_until(users.all_published, timeout=60)
    events = await drain(services.amqp_url, capture)

    assert registered_before_restart < REGISTRATIONS
    assert len(set(registered.values())) == REGISTRATIONS
    assert await users.scalar("SELECT count(*) FROM users") == REGISTRATIONS
    # One event per user, each in the outbox once...
    event_ids = {event["user_id"]: event["event_id"] for event in events}
    assert set(event_ids) == {str(user_id) for user_id in registered.values()}
    assert len({event["event_id"] for event in events}) == REGISTRATIONS
    assert await users.scalar("SELECT count(*) FROM outbox") == REGISTRATIONS
    # ...delivered once. Only a publish cut off by the outage before its
    # confirm can be delivered twice (the relay cannot know it arrived); the
    # event id is the same, and consumers' inboxes absorb it.
    copies = Counter(event["event_id"] for event in events)
    for event_id in [event_id for event_id, count in copies.items() if count > 1]:
        attempts = await users.scalar(
            "SELECT attempts FROM outbox WHERE id = :id", id=event_id
        )
        assert attempts > 0, f"{event_id} was delivered twice without a failure"


async def _at_least(items: dict[str, UUID], count: int) -> bool:
    return len(items) >= count
