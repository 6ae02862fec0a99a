"""Registrations across a RabbitMQ restart: every user's user.created arrives once.

This test stops RabbitMQ's application (``services.rabbitmq_control``) for
everyone using the server: where other suites share it, run it under the
shared outage lock (``flock <lock file> uv run pytest ...``).
"""

import asyncio
import contextlib
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
from tests.support.services import Services

CAPTURE = "test.users.outage.user.created"
REGISTRATIONS = 40
STOP_AFTER = 10


async def rabbitmqctl(services: Services, *args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *services.rabbitmq_control,
        *args,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await process.communicate()
    assert process.returncode == 0, errors.decode()


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


SEND_FAILURES = (
    CommandFailed,
    ConnectionError,
    aio_pika.exceptions.AMQPError,
    aio_pika.exceptions.ChannelInvalidStateError,
)


@dataclass
class Registrar:
    """A client that registers users and gets through a RabbitMQ restart."""

    amqp_url: str
    users: Users
    client: CommandClient | None = None

    async def register(self, email: str) -> UUID:
        """Register ``email``, retrying until it is; an earlier try may have landed."""
        command = RegisterUser(email=email, password=PASSWORD)
        while True:
            try:
                client = await self._connected()
                reply = await client.send(command, UserView, timeout=3.0)
            except SEND_FAILURES:
                # Limitation: CommandClient does not restore its reply
                # consumer after RabbitMQ restarts, so a failed client is
                # replaced rather than reused.
                await self.close()
                await asyncio.sleep(0.2)
                continue
            if reply.result is not None:
                return reply.result.id
            assert reply.error is not None
            assert reply.error.code is ErrorCode.CONFLICT, reply.error
            sql = "SELECT id FROM users WHERE email = :email"
            return UUID(await self.users.scalar(sql, email=email))

    async def _connected(self) -> CommandClient:
        if self.client is None:
            client = CommandClient(self.amqp_url)
            await client.connect()
            self.client = client
        return self.client

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(*SEND_FAILURES):
                await client.close()


async def test_every_registration_across_a_restart_publishes_its_event_once(
    services: Services, users: Users, capture: str
) -> None:
    registered: dict[str, UUID] = {}
    registrar = Registrar(services.amqp_url, users)

    async def register_all() -> None:
        for number in range(REGISTRATIONS):
            email = f"outage-{number}@example.com"
            registered[email] = await registrar.register(email)

    registering = asyncio.create_task(register_all())
    try:
        await wait_until(lambda: _at_least(registered, STOP_AFTER), timeout=30)
        try:
            await rabbitmqctl(services, "stop_app")
            registered_before_restart = len(registered)
        finally:
            await rabbitmqctl(services, "start_app")
        await asyncio.wait_for(registering, timeout=120)
    finally:
        registering.cancel()
        await registrar.close()
    await wait_until(users.all_published, timeout=60)
    events = await drain(services.amqp_url, capture)

    assert registered_before_restart < REGISTRATIONS
    assert len(set(registered.values())) == REGISTRATIONS
    assert await users.scalar("SELECT count(*) FROM users") == REGISTRATIONS
    # One event per user, each in the outbox once...
    event_ids = {event["user_id"]: event["event_id"] for event in events}
    assert set(event_ids) == {str(user_id) for user_id in registered.values()}
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
