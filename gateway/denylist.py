"""Revoked access tokens, so a logged-out token fails at every gateway replica.

Each replica consumes ``token.revoked`` through a queue of its own (exclusive,
auto-deleted, bound to the event's fanout exchange), so every replica sees
every revocation. At start, and again after each reconnection to RabbitMQ
(the private queue is gone while the connection is down), the replica loads
the revocations still in force from auth's ``GET /revocations``. An entry is
forgotten once its token has expired anyway.
"""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any
from uuid import uuid4

import aio_pika
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from pydantic import BaseModel, ValidationError

from bus.events import TokenRevoked
from bus.topology import event_exchange

log = structlog.get_logger(__name__)

SWEEP_INTERVAL = 60.0
RELOAD_RETRY_INTERVAL = 1.0


class Revocation(BaseModel):
    """One revoked token as auth's ``/revocations`` lists it."""

    jti: str
    expires_at: datetime


class RevocationList(BaseModel):
    """The body of auth's ``GET /revocations``."""

    revocations: list[Revocation]


Load = Callable[[], Awaitable[Iterable[Revocation]]]


class Denylist:
    """Revoked token ids, each kept until its token would have expired."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._entries: dict[str, float] = {}
        self._next_sweep = clock() + SWEEP_INTERVAL
        self.loaded = False

    def __len__(self) -> int:
        return len(self._entries)

    def revoke(self, jti: str, expires_at: float) -> None:
        now = self._clock()
        if expires_at > now:
            self._entries[jti] = expires_at
        if now >= self._next_sweep:
            self._sweep(now)

    def load(self, revocations: Iterable[Revocation]) -> None:
        """Add what auth lists as still revoked; the list is now trustworthy."""
        for revocation in revocations:
            self.revoke(revocation.jti, revocation.expires_at.timestamp())
        self.loaded = True

    def is_revoked(self, jti: str) -> bool:
        return jti in self._entries

    def _sweep(self, now: float) -> None:
        self._entries = {
            jti: expires for jti, expires in self._entries.items() if expires > now
        }
        self._next_sweep = now + SWEEP_INTERVAL


class RevocationFeed:
    """Keeps a ``Denylist`` current from the bus and from auth."""

    def __init__(
        self,
        amqp_url: str,
        denylist: Denylist,
        load: Load,
        *,
        replica: str | None = None,
    ) -> None:
        self._url = amqp_url
        self._denylist = denylist
        self._load = load
        # The queue and the connection carry the replica's name, so an operator
        # can tell them apart in RabbitMQ.
        self.name = f"gateway.{TokenRevoked.name}.{replica or uuid4().hex}"
        self._connection: AbstractRobustConnection | None = None
        self._loader: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._connection is not None and self._connection.connected.is_set()

    async def start(self) -> None:
        """Subscribe first, then load: no revocation falls between the two."""
        self._connection = await aio_pika.connect_robust(
            self._url, client_properties={"connection_name": self.name}
        )
        channel = await self._connection.channel()
        exchange = event_exchange(TokenRevoked)
        declared = await channel.declare_exchange(
            exchange.name, aio_pika.ExchangeType.FANOUT, durable=True
        )
        # A named (not server-named) queue, so the robust connection can declare
        # it again after a reconnection.
        queue = await channel.declare_queue(self.name, exclusive=True, auto_delete=True)
        await queue.bind(declared)
        await queue.consume(self._on_message, no_ack=True)
        self._connection.reconnect_callbacks.add(self._on_reconnect)
        self._reload()

    async def stop(self) -> None:
        if self._loader is not None:
            self._loader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loader
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def wait_loaded(self) -> None:
        """Wait for the current load from auth (tests and the benchmark)."""
        if self._loader is not None:
            await asyncio.shield(self._loader)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            event = TokenRevoked.model_validate_json(message.body)
        except ValidationError:
            log.warning("gateway.denylist.bad_event", message_id=message.message_id)
            return
        self._denylist.revoke(event.jti, event.expires_at.timestamp())
        log.debug("gateway.denylist.revoked", jti=event.jti, user_id=str(event.user_id))

    def _on_reconnect(self, *_: Any) -> None:
        log.info("gateway.denylist.reconnected")
        self._reload()

    def _reload(self) -> None:
        if self._loader is None or self._loader.done():
            self._loader = asyncio.create_task(self._load_until_done())

    async def _load_until_done(self) -> None:
        while True:
            try:
                revocations = await self._load()
            except Exception as exc:
                log.warning(
                    "gateway.denylist.load_failed", error_type=type(exc).__name__
                )
                await asyncio.sleep(RELOAD_RETRY_INTERVAL)
                continue
            self._denylist.load(revocations)
            log.info("gateway.denylist.loaded", revoked=len(self._denylist))
            return
