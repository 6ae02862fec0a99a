"""Sending commands and awaiting their replies, many at once.

FastStream's ``broker.request`` holds one lock per broker and opens a reply
consumer per request, so a process can only have one command in flight.
``CommandClient`` keeps a single consumer on RabbitMQ's direct reply-to
pseudo-queue and matches each reply to its waiting future by correlation id.

Every command is sent with a timeout, and the same value as the message's
expiration plus an ``x-deadline`` header: a command nobody picked up in time
expires in its queue, and one picked up late is dropped by the consumer
(bus.consumer), so it is never executed after its caller gave up.
"""

import asyncio
import time
from typing import Any, TypeVar
from uuid import uuid4

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractRobustConnection,
)
from aio_pika.exceptions import AMQPError, ChannelInvalidStateError
from pydantic import BaseModel

from bus.consumer import DEADLINE_HEADER
from bus.correlation import HEADER as CORRELATION_HEADER
from bus.correlation import current_correlation_id
from bus.messages import Command
from bus.replies import Reply

log = structlog.get_logger(__name__)

T = TypeVar("T", bound=BaseModel)

REPLY_TO = "amq.rabbitmq.reply-to"


class CommandFailed(Exception):
    """The command got no reply: nobody took it, or it took too long."""


class CommandTimeout(CommandFailed):
    """No reply within the timeout; the command will not run later."""


class BrokerUnavailable(CommandFailed):
    """RabbitMQ cannot be reached, so the command was not sent."""


# What aio-pika raises for a publish while the connection is down or being
# restored; the caller sees one exception for all of them.
_BROKER_ERRORS = (AMQPError, ChannelInvalidStateError, ConnectionError)


class CommandClient:
    """A request/reply client for commands; safe to share across tasks."""

    def __init__(self, amqp_url: str, *, default_timeout: float = 5.0) -> None:
        self._url = amqp_url
        self._default_timeout = default_timeout
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._pending: dict[str, asyncio.Future[bytes]] = {}

    async def connect(self) -> None:
        self._connection = await aio_pika.connect_robust(self._url)
        self._connection.reconnect_callbacks.add(self._on_reconnect)
        await self._open_channel()

    async def _open_channel(self) -> None:
        assert self._connection is not None
        # No publisher confirms: the reply is the confirmation, and a confirm
        # would add a round trip to every command.
        channel = await self._connection.channel(publisher_confirms=False)
        queue = await channel.get_queue(REPLY_TO, ensure=False)
        await queue.consume(self._on_reply, no_ack=True)
        self._channel = channel

    async def _on_reconnect(self, *_: Any) -> None:
        """Consume the reply pseudo-queue again on a fresh channel.

        The robust connection restores channels, but not a consumer on the
        direct reply-to pseudo-queue, which is not a real queue. Replies to
        commands sent before the outage can no longer arrive: those callers
        get ``BrokerUnavailable`` now rather than a timeout later.
        """
        previous, self._channel = self._channel, None
        self._fail_pending(BrokerUnavailable("RabbitMQ reconnected before the reply"))
        if previous is not None and not previous.is_closed:
            await previous.close()
        await self._open_channel()
        log.info("command_client.reconnected")

    async def close(self) -> None:
        # Fail the commands in flight rather than cancel them: a cancellation
        # would read, in each caller, as its own task being cancelled.
        self._fail_pending(CommandFailed("the client closed before the reply came"))
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def send(
        self,
        command: Command,
        result: type[T],
        *,
        timeout: float | None = None,
    ) -> Reply[T]:
        """Send ``command`` and return its reply (a result or an error).

        Raises ``CommandTimeout`` when no reply came in time (the command's
        context is down, overloaded, or was never started) and
        ``BrokerUnavailable`` when RabbitMQ cannot be reached; error replies
        are returned, not raised.
        """
        body = await self.send_raw(
            command.name, command.model_dump_json().encode(), timeout=timeout
        )
        return Reply[result].model_validate_json(body)  # type: ignore[valid-type]

    async def send_raw(
        self, queue: str, body: bytes, *, timeout: float | None = None
    ) -> bytes:
        if self._channel is None:
            raise BrokerUnavailable("the command client is not connected")
        timeout = timeout if timeout is not None else self._default_timeout
        request_id = uuid4().hex
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        headers: dict[str, Any] = {
            CORRELATION_HEADER: current_correlation_id(),
            DEADLINE_HEADER: int((time.time() + timeout) * 1000),
        }
        message = aio_pika.Message(
            body,
            content_type="application/json",
            correlation_id=request_id,
            reply_to=REPLY_TO,
            expiration=timeout,
            headers=headers,
            message_id=request_id,
        )
        try:
            # One budget for sending and answering: the caller waits at most
            # ``timeout``, as the deadline the consumer checks says.
            async with asyncio.timeout(timeout):
                await self._channel.default_exchange.publish(
                    message, routing_key=queue, mandatory=False
                )
                return await future
        except TimeoutError:
            log.warning("command.timed_out", command=queue, timeout_s=timeout)
            raise CommandTimeout(f"{queue} got no reply within {timeout}s") from None
        except _BROKER_ERRORS as exc:
            raise BrokerUnavailable(
                f"{queue} was not sent: {type(exc).__name__}"
            ) from exc
        finally:
            self._pending.pop(request_id, None)

    def _fail_pending(self, error: CommandFailed) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.get(message.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(message.body)
