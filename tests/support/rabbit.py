"""RabbitMQ helpers for tests: purge the topology, watch an exchange, stop it."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from bus.topology import consumer_queues, dead_letter_queue, retry_queue


async def purge_topology(amqp_url: str) -> None:
    """Empty every queue of the topology (main, retry and dead-letter)."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        for queue, _ in consumer_queues():
            for name in (
                queue.name,
                retry_queue(queue.name).name,
                dead_letter_queue(queue.name).name,
            ):
                try:
                    declared = await channel.get_queue(name, ensure=True)
                    await declared.purge()
                except aio_pika.exceptions.ChannelClosed:
                    # Not declared yet; the channel closed with the error.
                    channel = await connection.channel()
    finally:
        await connection.close()


class Watcher:
    """Collects every message that reaches an exchange (or a queue) from now on."""

    def __init__(self) -> None:
        self.messages: list[AbstractIncomingMessage] = []
        self._changed = asyncio.Condition()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        async with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(message.body) for message in self.messages]

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until at least ``count`` messages arrived; return all bodies."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.messages) >= count)
        return self.bodies()


@asynccontextmanager
async def watch_exchange(amqp_url: str, exchange: str) -> AsyncIterator[Watcher]:
    """Bind a private queue to ``exchange`` and collect what arrives."""
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange)
        watcher = Watcher()
        await queue.consume(watcher._on_message, no_ack=True)
        yield watcher
    finally:
        await connection.close()


@asynccontextmanager
async def watch_queue(amqp_url: str, name: str) -> AsyncIterator[Watcher]:
    """Consume an existing queue (a dead-letter queue, say) and collect it."""
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(name, ensure=True)
        watcher = Watcher()
        await queue.consume(watcher._on_message, no_ack=True)
        yield watcher
    finally:
        await connection.close()


@dataclass
class RabbitControl:
    """Stops and starts RabbitMQ's application, for outage tests.

    Stopping it affects every client of the server: where other suites share
    it, run outage tests under one lock (``flock <file> uv run pytest ...``).
    """

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
