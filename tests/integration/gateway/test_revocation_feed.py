"""Every gateway replica hears every revocation, and catches up after an outage."""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit
from uuid import uuid4

import aio_pika
import pytest

from bus.events import TokenRevoked
from gateway.denylist import Denylist, Revocation, RevocationFeed
from tests.support.services import Services


class WatchedDenylist(Denylist):
    """A denylist a test can wait on."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Condition()

    def revoke(self, jti: str, expires_at: float) -> None:
        super().revoke(jti, expires_at)
        asyncio.get_running_loop().create_task(self._notify())

    def load(self, revocations: Iterable[Revocation]) -> None:
        super().load(revocations)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def wait_until(self, condition: Callable[[], bool], timeout: float) -> None:
        async with asyncio.timeout(timeout), self.changed:
            await self.changed.wait_for(condition)


class Replica:
    def __init__(self, services: Services, known: list[Revocation]) -> None:
        self.denylist = WatchedDenylist()
        self.loads = 0
        self._known = known
        self.feed = RevocationFeed(services.amqp_url, self.denylist, self._load)

    async def wait_revoked(self, jti: str, timeout: float) -> None:
        await self.denylist.wait_until(lambda: self.denylist.is_revoked(jti), timeout)

    async def wait_loads(self, count: int, timeout: float) -> None:
        await self.denylist.wait_until(
            lambda: self.loads >= count and self.denylist.loaded, timeout
        )

    async def _load(self) -> list[Revocation]:
        self.loads += 1
        return list(self._known)


def _expiry() -> datetime:
    return datetime.now(UTC) + timedelta(minutes=10)


async def _publish(amqp_url: str, jti: str) -> None:
    event = TokenRevoked(jti=jti, user_id=uuid4(), expires_at=_expiry())
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(TokenRevoked.name)
        await exchange.publish(
            aio_pika.Message(event.model_dump_json().encode()), routing_key=""
        )


@pytest.fixture
async def replicas(services: Services) -> AsyncIterator[list[Replica]]:
    known = [Revocation(jti="revoked-before-start", expires_at=_expiry())]
    started = [Replica(services, known), Replica(services, known)]
    async with AsyncExitStack() as stack:
        for replica in started:
            await replica.feed.start()
            stack.push_async_callback(replica.feed.stop)
        for replica in started:
            await replica.wait_loads(1, 5)
        yield started


async def test_each_replica_loads_the_revocations_in_force_at_start(
    replicas: list[Replica],
) -> None:
    for replica in replicas:
        assert replica.loads == 1
        assert replica.denylist.is_revoked("revoked-before-start")


async def test_every_replica_hears_a_revocation_within_a_second(
    replicas: list[Replica], services: Services
) -> None:
    jti = uuid4().hex

    await _publish(services.amqp_url, jti)

    for replica in replicas:
        await replica.wait_revoked(jti, 1.0)


async def _close_connections_named(services: Services, names: set[str]) -> None:
    """Make RabbitMQ drop these connections, as in an outage, and no others."""
    vhost = unquote(urlsplit(services.amqp_url).path.removeprefix("/")) or "/"
    listing = await asyncio.create_subprocess_exec(
        *services.rabbitmq_control,
        "list_connections",
        "-q",
        "--vhost",
        vhost,
        "pid",
        "client_properties",
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await listing.communicate()
    pids = [
        line.split("\t", 1)[0]
        for line in output.decode().splitlines()
        if any(f'{{"connection_name","{name}"}}' in line for name in names)
    ]
    assert len(pids) == len(names)
    for pid in pids:
        closing = await asyncio.create_subprocess_exec(
            *services.rabbitmq_control,
            "close_connection",
            pid,
            "connection loss test",
            stdout=asyncio.subprocess.DEVNULL,
        )
        assert await closing.wait() == 0


async def test_a_replica_reloads_and_resubscribes_after_losing_rabbitmq(
    replicas: list[Replica], services: Services
) -> None:
    await _close_connections_named(services, {r.feed.name for r in replicas})

    for replica in replicas:
        await replica.wait_loads(2, 30)
    jti = uuid4().hex
    await _publish(services.amqp_url, jti)

    for replica in replicas:
        await replica.wait_revoked(jti, 5)
