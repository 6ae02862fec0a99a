"""The users context against the real MariaDB and RabbitMQ, in this process.

Once per session the database ``<prefix>_users_users`` is dropped, created and
migrated by Alembic, and the users runtime starts (``create_runtime`` and
``runtime.start()``). Before each test its tables are emptied and every queue
of the topology is purged.
"""

from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bus.logging import configure_logging
from bus.rpc import CommandClient
from bus.service import ServiceRuntime
from contexts.users.app import build_api, create_runtime, prepare_database
from contexts.users.settings import UsersSettings
from tests.integration.users.support import Users
from tests.support.rabbit import purge_topology
from tests.support.services import Services

TABLES = ("users", "outbox", "inbox")


async def drop_database(url: str) -> None:
    name = make_url(url).database
    engine = create_async_engine(make_url(url).set(database=""))
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def settings(services: Services) -> UsersSettings:
    """Settings for the test database; a fresh Alembic migration builds it."""
    configure_logging("INFO", json=True)
    settings = UsersSettings(
        environment="test",
        amqp_url=services.amqp_url,
        database_url=services.database_url("mariadb", services.database("users")),
        max_attempts=3,
        retry_base_delay=0.05,
    )
    await drop_database(settings.database_url)
    await prepare_database(settings)
    return settings


@pytest.fixture(scope="session")
async def runtime(settings: UsersSettings) -> AsyncIterator[ServiceRuntime]:
    runtime = create_runtime(settings)
    await runtime.start()
    yield runtime
    await runtime.stop()


@pytest.fixture(scope="session")
def engine(runtime: ServiceRuntime) -> AsyncEngine:
    assert runtime.engine is not None
    return runtime.engine


@pytest.fixture(autouse=True)
async def clean(engine: AsyncEngine, settings: UsersSettings) -> None:
    async with engine.begin() as connection:
        for table in TABLES:
            await connection.execute(sa.delete(sa.table(table)))
    await purge_topology(settings.amqp_url)


@pytest.fixture
async def commands(settings: UsersSettings) -> AsyncIterator[CommandClient]:
    client = CommandClient(settings.amqp_url, default_timeout=10.0)
    await client.connect()
    yield client
    await client.close()


@pytest.fixture(scope="session")
async def http(runtime: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    """The users REST API around the running runtime (no second lifespan)."""
    transport = httpx.ASGITransport(app=build_api(runtime))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://users"
    ) as client:
        yield client


@pytest.fixture
def users(commands: CommandClient, engine: AsyncEngine) -> Users:
    return Users(commands, engine)


@pytest.fixture(scope="session")
def services(services: Services) -> Services:
    """The shared services, with a RabbitMQ virtual host of this suite's own."""
    return services.isolated("users")
