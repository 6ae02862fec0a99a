"""Auth against the real services, with the real users context beside it.

Once per session the databases ``<prefix>_auth_auth`` (PostgreSQL) and
``<prefix>_auth_users`` (MariaDB) are dropped, created and migrated by Alembic,
and both contexts are served over HTTP in this process, each with its bus
runtime. Every test starts with empty tables and purged queues.
"""

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from bus.db import create_engine
from bus.logging import configure_logging
from bus.rpc import CommandClient
from contexts.auth import app as auth_app
from contexts.auth.keys import generate_private_pem
from contexts.auth.settings import AuthSettings
from contexts.users import app as users_app
from contexts.users.settings import UsersSettings
from tests.integration.auth.support import (
    ACCOUNT_LIMIT,
    ADDRESS_LIMIT,
    THROTTLE_WINDOW,
    Commands,
    Served,
    Stack,
    recreate_database,
)
from tests.support.services import Services


@pytest.fixture(scope="session")
async def running(services: Services) -> AsyncIterator[Stack]:
    configure_logging("INFO", json=True)
    auth_url = services.database_url("postgresql", services.database("auth"))
    users_url = services.database_url("mariadb", services.database("users"))
    await recreate_database(auth_url)
    await recreate_database(users_url)

    users_settings = UsersSettings(
        environment="test", amqp_url=services.amqp_url, database_url=users_url
    )
    await users_app.prepare_database(users_settings)
    users = Served(lambda: users_app.create_app(users_settings))
    await users.start()

    auth_settings = AuthSettings(
        environment="test",
        amqp_url=services.amqp_url,
        database_url=auth_url,
        users_url=users.url,
        users_timeout=2.0,
        signing_keys=SecretStr(generate_private_pem().decode("ascii")),
        max_failures_per_account=ACCOUNT_LIMIT,
        max_failures_per_address=ADDRESS_LIMIT,
        throttle_window=THROTTLE_WINDOW,
        outbox_poll_interval=0.5,
    )
    await auth_app.prepare_database(auth_settings)
    auth = Served(lambda: auth_app.create_app(auth_settings))
    await auth.start()

    client = CommandClient(services.amqp_url, default_timeout=10.0)
    await client.connect()
    auth_db = create_engine(auth_url, pool_size=2)
    users_db = create_engine(users_url, pool_size=2)
    try:
        async with httpx.AsyncClient(timeout=10.0) as http:
            yield Stack(
                amqp_url=services.amqp_url,
                settings=auth_settings,
                auth=auth,
                users=users,
                commands=Commands(client),
                auth_db=auth_db,
                users_db=users_db,
                http=http,
            )
    finally:
        await client.close()
        await auth.stop()
        await users.stop()
        await auth_db.dispose()
        await users_db.dispose()


@pytest.fixture
async def stack(running: Stack) -> Stack:
    """The running contexts, with empty tables and purged queues."""
    await running.clean()
    return running


@pytest.fixture(scope="session")
def services(services: Services) -> Services:
    """The shared services, with a RabbitMQ virtual host of this suite's own."""
    return services.isolated("auth")
