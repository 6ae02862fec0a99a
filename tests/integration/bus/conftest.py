"""Fixtures for the bus against the real RabbitMQ, MariaDB and PostgreSQL.

The bus's own test database ``<prefix>_bus_bus`` exists on both servers with the
outbox and inbox tables (built by ``bus.migrations``), emptied before each
test. The whole topology is declared once; its queues are purged before each
test that touches RabbitMQ.
"""

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from faststream.rabbit import Channel, RabbitBroker
from faststream.rabbit.annotations import RabbitMessage
from sqlalchemy.engine import Connection

from bus.broker import consumer_channel, create_broker, declare_topology
from bus.commands import RegisterUser, UpdateProfile
from bus.correlation import current_correlation_id
from bus.db import create_engine, ensure_database
from bus.events import UserCreated
from bus.messages import Role
from bus.migrations import create_outbox_and_inbox, drop_outbox_and_inbox
from bus.outbox import stage
from bus.publisher import ReliablePublisher
from bus.replies import CommandError, Done, ErrorCode, Reply, UserView
from bus.rpc import CommandClient
from bus.topology import command_queue, event_queue
from tests.integration.bus.support import (
    DIALECTS,
    BusService,
    Database,
    Delivery,
    bus_settings,
)
from tests.support.rabbit import purge_topology
from tests.support.services import Services


def _rebuild_tables(connection: Connection) -> None:
    context = MigrationContext.configure(connection)
    with Operations.context(context):
        if sa.inspect(connection).has_table("outbox"):
            drop_outbox_and_inbox()
        create_outbox_and_inbox()


@pytest.fixture(scope="session")
async def databases(services: Services) -> AsyncIterator[dict[str, Database]]:
    found: dict[str, Database] = {}
    for dialect in DIALECTS:
        url = services.database_url(dialect, services.database("bus"))
        await ensure_database(url)
        engine = create_engine(url, pool_size=5)
        async with engine.begin() as connection:
            await connection.run_sync(_rebuild_tables)
        found[dialect] = Database(dialect, url, engine)
    yield found
    for database in found.values():
        await database.engine.dispose()


@pytest.fixture(params=DIALECTS)
async def database(
    request: pytest.FixtureRequest, databases: dict[str, Database]
) -> Database:
    """Each database in turn, with empty outbox and inbox tables."""
    chosen = databases[request.param]
    async with chosen.engine.begin() as connection:
        await connection.execute(sa.text("DELETE FROM outbox"))
        await connection.execute(sa.text("DELETE FROM inbox"))
    return chosen


@pytest.fixture(scope="session")
async def topology(services: Services) -> str:
    """Declare the topology once; returns the AMQP URL."""
    broker = RabbitBroker(services.amqp_url, logger=None)
    await broker.connect()
    await declare_topology(broker)
    await broker.stop()
    return services.amqp_url


@pytest.fixture
async def amqp_url(topology: str) -> str:
    """The AMQP URL, with every queue of the topology empty."""
    await purge_topology(topology)
    return topology


@pytest.fixture
async def publisher(amqp_url: str) -> AsyncIterator[ReliablePublisher]:
    publisher = ReliablePublisher(amqp_url)
    await publisher.connect()
    yield publisher
    await publisher.close()


@pytest.fixture
async def service(
    amqp_url: str, publisher: ReliablePublisher
) -> AsyncIterator[BusService]:
    """A running service with one event handler and two command handlers."""
    settings = bus_settings(amqp_url)
    broker = create_broker(settings, service="bustest", publisher=publisher)
    # One command at a time: a later command is delivered only once the
    # earlier one is settled, which the deadline tests rely on.
    command_subscriber = broker.subscriber(
        command_queue(RegisterUser), channel=Channel(prefetch_count=1)
    )
    client = CommandClient(amqp_url, default_timeout=5.0)
    service = BusService(broker, publisher, command_subscriber, client)

    @command_subscriber
    async def register(command: RegisterUser) -> Reply[UserView]:
        service.commands.append(command)
        service.correlation_ids.append(current_correlation_id())
        if command.email.startswith("taken"):
            raise CommandError(ErrorCode.CONFLICT, "email already registered")
        user = _user(command)
        if service.outbox is not None:
            async with service.outbox.begin() as session:
                stage(
                    session,
                    UserCreated(
                        user_id=user.id,
                        email=user.email,
                        full_name=user.full_name,
                        role=user.role,
                    ),
                )
        return Reply[UserView](result=user)

    @broker.subscriber(command_queue(UpdateProfile), channel=consumer_channel(settings))
    async def update(command: UpdateProfile) -> Reply[Done]:
        return Reply[Done](result=Done())

    @broker.subscriber(
        event_queue("email", UserCreated), channel=consumer_channel(settings)
    )
    async def welcome(event: UserCreated, message: RabbitMessage) -> None:
        service.deliveries.append(
            Delivery(time.monotonic(), dict(message.headers), event)
        )
        if service.event_always_fails:
            raise ConnectionError("the mail server is down")
        if service.event_failures:
            raise service.event_failures.pop(0)
        service.handled_events.append(event)

    await broker.start()
    await client.connect()
    yield service
    await client.close()
    await broker.stop()


def _user(command: RegisterUser) -> UserView:
    now = datetime.now(UTC)
    return UserView(
        id=uuid4(),
        email=command.email,
        full_name=command.full_name,
        role=Role.FREE,
        created_at=now,
        updated_at=now,
    )


@pytest.fixture(scope="session")
def services(services: Services) -> Services:
    """The shared services, with a RabbitMQ virtual host of this suite's own."""
    return services.isolated("bus")
