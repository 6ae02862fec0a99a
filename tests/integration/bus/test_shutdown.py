"""Stopping a service lets the message in hand finish; nothing is redelivered."""

import asyncio
from uuid import UUID, uuid4

from faststream.rabbit import Channel

from bus.events import UserCreated
from bus.messages import Role
from bus.publisher import ReliablePublisher
from bus.service import ServiceRuntime
from bus.topology import event_exchange, event_queue
from tests.integration.bus.support import bus_settings, queue_depth

QUEUE = event_queue("email", UserCreated)
WORK_SECONDS = 0.5


async def test_stopping_lets_the_handler_in_hand_finish_and_ack(
    amqp_url: str, publisher: ReliablePublisher
) -> None:
    runtime = ServiceRuntime(bus_settings(amqp_url), service="shutdown-test")
    started = asyncio.Event()
    finished: list[UUID] = []

    @runtime.broker.subscriber(
        QUEUE, event_exchange(UserCreated), channel=Channel(prefetch_count=1)
    )
    async def slow_welcome(event: UserCreated) -> None:
        started.set()
        await asyncio.sleep(WORK_SECONDS)  # the work in hand when the stop comes
        finished.append(event.event_id)

    event = UserCreated(
        user_id=uuid4(), email="ana@example.com", full_name=None, role=Role.FREE
    )
    await runtime.start()
    await publisher.publish(
        event.model_dump_json().encode(),
        exchange=UserCreated.name,
        message_id=str(event.event_id),
    )
    await asyncio.wait_for(started.wait(), timeout=10)

    await runtime.stop()

    assert finished == [event.event_id]
    assert await queue_depth(amqp_url, QUEUE.name) == 0
