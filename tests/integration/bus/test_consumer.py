"""ReliableConsumer on the real broker: retries, dead letters, error replies."""

import json
import time
from typing import Any
from uuid import UUID

import aio_pika
import pytest

from bus.commands import RegisterUser, UpdateProfile
from bus.consumer import ATTEMPTS_HEADER, DEADLINE_HEADER
from bus.events import UserCreated
from bus.messages import Role
from bus.replies import Done, ErrorCode, Reply, UserView
from bus.rpc import CommandTimeout
from tests.integration.bus.support import BusService, eventually, queue_depth
from tests.support.rabbit import watch_queue

EVENT_QUEUE = "email.user.created"
PASSWORD = "a-long-enough-password"


def _user_created() -> UserCreated:
    return UserCreated(
        user_id=UUID("5d8f0f7e-3b7b-4a52-9c55-8a3f1f1c2d11"),
        email="ana@example.com",
        full_name="Ana",
        role=Role.FREE,
    )


async def _publish(service: BusService, event: UserCreated) -> None:
    await service.publish_event(
        event.model_dump_json().encode(), message_id=str(event.event_id)
    )


def _retried_through(headers: dict[str, Any]) -> set[str]:
    return {str(death["queue"]) for death in headers.get("x-death", [])}


async def test_a_transient_failure_is_retried_with_back_off_and_then_succeeds(
    service: BusService, amqp_url: str
) -> None:
    service.event_failures = [ConnectionError("smtp down")] * 2
    event = _user_created()

    await _publish(service, event)

    async def handled() -> bool:
        return len(service.handled_events) == 1

    await eventually(handled)
    first, second, third = service.deliveries
    # Back-off 0.2 s, then 0.4 s (bus_settings), through the retry queue.
    assert second.at - first.at >= 0.18
    assert third.at - second.at >= 0.38
    assert [d.headers.get(ATTEMPTS_HEADER) for d in service.deliveries] == [
        None,
        1,
        2,
    ]
    assert _retried_through(third.headers) == {f"{EVENT_QUEUE}.retry"}
    assert service.handled_events == [event]
    assert await queue_depth(amqp_url, f"{EVENT_QUEUE}.dlq") == 0


async def test_an_event_that_always_fails_ends_in_the_dead_letter_queue(
    service: BusService, amqp_url: str
) -> None:
    service.event_always_fails = True
    event = _user_created()

    async with watch_queue(amqp_url, f"{EVENT_QUEUE}.dlq") as dead:
        await _publish(service, event)
        [body] = await dead.wait_for(1)

    assert len(service.deliveries) == 3  # max_attempts
    [message] = dead.messages
    assert body == event.model_dump(mode="json")
    assert message.message_id == str(event.event_id)
    assert message.headers["x-error-reason"] == "failed 3 times"
    assert message.headers["x-error-type"] == "ConnectionError"
    assert "mail server is down" in str(message.headers["x-error-detail"])
    assert message.headers[ATTEMPTS_HEADER] == 3
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert await queue_depth(amqp_url, EVENT_QUEUE) == 0
    assert await queue_depth(amqp_url, f"{EVENT_QUEUE}.retry") == 0


async def test_unreadable_events_are_dead_lettered_at_once_and_the_queue_flows(
    service: BusService, amqp_url: str
) -> None:
    valid = _user_created()
    invalid = {**valid.model_dump(mode="json"), "email": "not-an-address"}

    async with watch_queue(amqp_url, f"{EVENT_QUEUE}.dlq") as dead:
        await service.publish_event(b"{not json", message_id="broken")
        await service.publish_event(json.dumps(invalid).encode(), message_id="bad")
        await _publish(service, valid)

        async def settled() -> bool:
            # Watcher.wait_for would parse the bodies, and one is not JSON.
            return len(dead.messages) == 2 and len(service.handled_events) == 1

        await eventually(settled)

    reasons = {
        message.message_id: message.headers["x-error-type"] for message in dead.messages
    }
    assert reasons == {"broken": "JSONDecodeError", "bad": "ValidationError"}
    assert all(m.headers[ATTEMPTS_HEADER] == 1 for m in dead.messages)
    # Neither reached the handler's body; only the valid one did.
    assert [d.event for d in service.deliveries] == [valid]


async def test_a_refused_command_gets_an_error_reply(service: BusService) -> None:
    command = RegisterUser(email="taken@example.com", password=PASSWORD)

    reply = await service.client.send(command, UserView)

    assert not reply.ok
    assert reply.error is not None
    assert reply.error.code is ErrorCode.CONFLICT
    assert reply.error.message == "email already registered"


async def test_a_command_is_answered_with_its_result(service: BusService) -> None:
    command = RegisterUser(email="ana@example.com", password=PASSWORD)

    reply = await service.client.send(command, UserView)

    assert reply.result is not None
    assert reply.result.email == "ana@example.com"
    assert service.commands == [command]


@pytest.mark.parametrize(
    ("queue", "body", "paths"),
    [
        (
            RegisterUser.name,
            {"email": "nope", "password": "short"},
            {("email",), ("password",)},
        ),
        (
            UpdateProfile.name,
            {
                "actor": {"user_id": "someone", "role": "emperor"},
                "user_id": "5d8f0f7e-3b7b-4a52-9c55-8a3f1f1c2d11",
                "nickname": "x",
            },
            {("actor", "user_id"), ("actor", "role"), ("nickname",)},
        ),
    ],
)
async def test_an_invalid_command_gets_field_paths_into_the_body_it_sent(
    service: BusService, queue: str, body: dict[str, Any], paths: set[tuple[str, ...]]
) -> None:
    raw = await service.client.send_raw(queue, json.dumps(body).encode())

    reply = Reply[Done].model_validate_json(raw)
    assert reply.error is not None
    assert reply.error.code is ErrorCode.INVALID
    assert {tuple(detail.loc) for detail in reply.error.details} == paths
    assert service.commands == []


async def test_a_command_that_is_not_json_gets_an_invalid_reply(
    service: BusService,
) -> None:
    raw = await service.client.send_raw(RegisterUser.name, b"{nope")

    reply = Reply[Done].model_validate_json(raw)
    assert reply.error is not None
    assert reply.error.code is ErrorCode.INVALID
    assert reply.error.message == "the body is not JSON"


async def test_a_command_picked_up_after_its_deadline_is_never_executed(
    service: BusService,
) -> None:
    late = RegisterUser(email="late@example.com", password=PASSWORD)
    on_time = RegisterUser(email="on-time@example.com", password=PASSWORD)

    await service.command_subscriber.stop()
    started = time.monotonic()
    with pytest.raises(CommandTimeout):
        await service.client.send(late, UserView, timeout=0.3)
    assert time.monotonic() - started < 1.0
    await service.command_subscriber.start()

    # One command at a time: once this one is answered, the late one before
    # it in the queue has been settled.
    reply = await service.client.send(on_time, UserView)

    assert reply.ok
    assert service.commands == [on_time]


async def test_a_message_past_its_deadline_header_is_dropped_by_the_consumer(
    service: BusService, amqp_url: str
) -> None:
    # No expiration: only the consumer's own check can stop this one.
    late = RegisterUser(email="late@example.com", password=PASSWORD)
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await channel.default_exchange.publish(
            aio_pika.Message(
                late.model_dump_json().encode(),
                content_type="application/json",
                headers={DEADLINE_HEADER: int(time.time() * 1000) - 1},
            ),
            routing_key=RegisterUser.name,
        )
    finally:
        await connection.close()
    on_time = RegisterUser(email="on-time@example.com", password=PASSWORD)

    reply = await service.client.send(on_time, UserView)

    assert reply.ok
    assert service.commands == [on_time]
    assert await queue_depth(amqp_url, f"{RegisterUser.name}.dlq") == 0
