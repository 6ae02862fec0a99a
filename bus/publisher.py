"""Publishing that must not lose a message: events, retries, dead letters.

``ReliablePublisher`` keeps its own robust connection and a channel with
publisher confirms on which an unroutable message raises. Every message is
persistent. ``publish`` returns only once RabbitMQ has taken responsibility
for the message, and raises otherwise (including while RabbitMQ is down).

Command replies do not go through here: they travel on the broker's own
channel without confirms, because a lost reply only costs its caller a
timeout, while a confirm would add a round trip to every command.
"""

from collections.abc import Mapping
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractRobustConnection

from bus.correlation import HEADER as CORRELATION_HEADER


class PublisherNotConnected(RuntimeError):
    """``publish`` was called before ``connect`` or after ``close``."""


class ReliablePublisher:
    def __init__(self, amqp_url: str) -> None:
        self._url = amqp_url
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, aio_pika.abc.AbstractExchange] = {}

    async def connect(self) -> None:
        self._connection = await aio_pika.connect_robust(self._url)
        self._channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True
        )

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
        self._connection = self._channel = None
        self._exchanges.clear()

    @property
    def connected(self) -> bool:
        return self._connection is not None and self._connection.connected.is_set()

    async def publish(
        self,
        body: bytes,
        *,
        exchange: str,
        routing_key: str = "",
        message_id: str | None = None,
        correlation_id: str | None = None,
        headers: Mapping[str, Any] | None = None,
        content_type: str | None = "application/json",
        message_type: str | None = None,
        expiration: float | None = None,
    ) -> None:
        """Publish persistently and wait for RabbitMQ's confirm.

        ``exchange`` "" is the default exchange (``routing_key`` names a queue).
        Raises ``aiormq.exceptions.PublishError`` when nothing would receive
        the message, and a connection error while RabbitMQ is unreachable.
        """
        if self._channel is None:
            raise PublisherNotConnected("connect() the publisher first")
        message_headers = dict(headers or {})
        if correlation_id is not None:
            message_headers.setdefault(CORRELATION_HEADER, correlation_id)
        message = aio_pika.Message(
            body,
            headers=message_headers,
            content_type=content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message_id,
            correlation_id=correlation_id,
            type=message_type,
            expiration=expiration,
        )
        target = await self._exchange(exchange)
        await target.publish(message, routing_key=routing_key, mandatory=True)

    async def _exchange(self, name: str) -> aio_pika.abc.AbstractExchange:
        assert self._channel is not None
        if not name:
            return self._channel.default_exchange
        exchange = self._exchanges.get(name)
        if exchange is None:
            # Declared elsewhere (bus.broker.declare_topology); only looked up.
            exchange = await self._channel.get_exchange(name, ensure=False)
            self._exchanges[name] = exchange
        return exchange
