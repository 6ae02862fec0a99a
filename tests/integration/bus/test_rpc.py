"""CommandClient against the real broker: concurrency, timeouts, correlation."""

import asyncio
import json
import time

import pytest

from bus.commands import Login, RegisterUser
from bus.correlation import HEADER as CORRELATION_HEADER
from bus.correlation import bind_correlation_id
from bus.events import UserCreated
from bus.outbox import OutboxRelay
from bus.publisher import ReliablePublisher
from bus.replies import Reply, UserView
from bus.rpc import CommandClient, CommandFailed, CommandTimeout
from tests.integration.bus.support import BusService, Database, eventually
from tests.support.rabbit import watch_exchange

PASSWORD = "a-long-enough-password"


async def test_fifty_commands_in_flight_each_get_their_own_reply(
    service: BusService,
) -> None:
    emails = [f"user{n}@example.com" for n in range(50)]

    replies = await asyncio.gather(
        *(
            service.client.send(RegisterUser(email=email, password=PASSWORD), UserView)
            for email in emails
        )
    )

    assert [reply.result.email if reply.result else None for reply in replies] == (
        emails
    )
    assert sorted(command.email for command in service.commands) == sorted(emails)


async def test_a_command_nobody_answers_times_out_quickly(
    service: BusService,
) -> None:
    # Nothing in this test service consumes auth.login.
    command = Login(email="ana@example.com", password=PASSWORD, client_ip="10.0.0.1")

    started = time.monotonic()
    with pytest.raises(CommandTimeout):
        await service.client.send(command, UserView, timeout=0.3)

    assert time.monotonic() - started < 0.8


async def test_closing_the_client_fails_the_commands_in_flight(
    amqp_url: str,
) -> None:
    client = CommandClient(amqp_url)
    await client.connect()
    command = Login(email="ana@example.com", password=PASSWORD, client_ip="10.0.0.1")
    waiting = asyncio.create_task(client.send(command, UserView, timeout=30))

    async def sent() -> bool:
        return bool(client._pending)

    await eventually(sent)
    await client.close()

    with pytest.raises(CommandFailed, match="closed"):
        await waiting


async def test_a_client_that_is_not_connected_refuses_to_send(amqp_url: str) -> None:
    client = CommandClient(amqp_url)

    with pytest.raises(CommandFailed, match="not connected"):
        await client.send_raw(RegisterUser.name, b"{}")


async def test_the_callers_correlation_id_reaches_the_handler_and_its_event(
    service: BusService,
    database: Database,
    publisher: ReliablePublisher,
    amqp_url: str,
) -> None:
    sessions = database.sessions()
    service.outbox = sessions
    relay = OutboxRelay(sessions, publisher, poll_interval=3600)
    command = RegisterUser(email="ana@example.com", password=PASSWORD)

    async def call_as_the_gateway() -> Reply[UserView]:
        bind_correlation_id("corr-from-the-edge")
        return await service.client.send(command, UserView)

    async with watch_exchange(amqp_url, UserCreated.name) as watcher:
        relay.start()
        try:
            # A task of its own, so the binding stays out of other tests.
            reply = await asyncio.create_task(call_as_the_gateway())
            [event] = await watcher.wait_for(1)
        finally:
            await relay.stop()

    assert reply.ok
    assert service.correlation_ids == ["corr-from-the-edge"]
    assert event["correlation_id"] == "corr-from-the-edge"
    assert watcher.messages[0].headers[CORRELATION_HEADER] == "corr-from-the-edge"
    assert json.loads(watcher.messages[0].body)["email"] == "ana@example.com"
