"""The one way a StreamFlow process builds its RabbitMQ broker.

Every broker gets the ``ReliableConsumer`` middleware, per-message log lines
at DEBUG (at INFO they halve throughput), and a graceful shutdown that lets
the message in hand finish.
"""

import logging
from functools import partial
from typing import Any

from faststream.rabbit import Channel, ExchangeType, RabbitBroker, RabbitExchange

from bus.consumer import ReliableConsumer, RetryPolicy
from bus.events import ALL_EVENTS
from bus.publisher import ReliablePublisher
from bus.settings import ServiceSettings
from bus.topology import (
    DEAD_LETTER_EXCHANGE,
    FORWARDS,
    consumer_queues,
    dead_letter_queue,
    event_exchange,
    fanout,
    retry_queue,
)

GRACEFUL_TIMEOUT = 15.0


def create_broker(
    settings: ServiceSettings, *, service: str, publisher: ReliablePublisher
) -> RabbitBroker:
    """A broker for ``service``; ``publisher`` carries its retries and dead letters."""
    broker = RabbitBroker(
        settings.amqp_url,
        # Replies only: confirms would add a round trip to every command, and
        # everything that must not be lost goes through ReliablePublisher.
        default_channel=Channel(publisher_confirms=False),
        graceful_timeout=GRACEFUL_TIMEOUT,
        logger=logging.getLogger(f"streamflow.{service}.broker"),
        log_level=logging.DEBUG,
        app_id=f"streamflow-{service}",
    )
    policy = RetryPolicy(
        max_attempts=settings.max_attempts, base_delay=settings.retry_base_delay
    )
    broker.add_middleware(partial(ReliableConsumer, publisher=publisher, policy=policy))
    return broker


def consumer_channel(settings: ServiceSettings) -> Channel:
    """The channel a subscriber consumes on: bounded prefetch."""
    return Channel(prefetch_count=settings.prefetch)


async def declare_topology(broker: RabbitBroker) -> None:
    """Declare every exchange, queue and binding of ``bus.topology``.

    Idempotent; every process runs it at start.
    """
    dlx = await broker.declare_exchange(
        RabbitExchange(DEAD_LETTER_EXCHANGE, type=ExchangeType.DIRECT, durable=True)
    )
    exchanges: dict[str, Any] = {}
    for event in ALL_EVENTS:
        exchanges[event.name] = await broker.declare_exchange(event_exchange(event))
    for target, sources in FORWARDS.items():
        exchanges[target] = forward = await broker.declare_exchange(fanout(target))
        for source in sources:
            await forward.bind(exchanges[source.name])
    for queue, exchange in consumer_queues():
        declared = await broker.declare_queue(queue)
        if exchange is not None:
            await declared.bind(exchanges[exchange.name])
        dead = await broker.declare_queue(dead_letter_queue(queue.name))
        await dead.bind(dlx, routing_key=queue.name)
        await broker.declare_queue(retry_queue(queue.name))
