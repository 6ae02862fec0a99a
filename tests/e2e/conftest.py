"""Every process for real: users, auth and two gateways, each on a free port.

The session drops and recreates the test databases (``<prefix>_e2e_users`` on
MariaDB, ``<prefix>_e2e_auth`` on PostgreSQL), migrates them, purges the queues,
seeds the admin, starts the processes and waits until each answers
``/readyz``. Tests talk to the gateway only, over HTTP, and watch RabbitMQ for
events. Every test works with accounts of its own, so no data is cleaned
between tests.

Every response any test receives is checked for password hashes and for the
passwords the tests used: none may ever appear.
"""

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bus.db import ensure_database, upgrade
from tests.support.processes import (
    ROOT,
    ServiceProcess,
    free_port,
    run_to_completion,
)
from tests.support.rabbit import purge_topology
from tests.support.services import Services

ADMIN_EMAIL = "admin@streamflow.example"
# Low, so the throttling test is quick; per address high, so the tests that
# fail logins on purpose never throttle each other (they share 127.0.0.1).
MAX_FAILURES_PER_ACCOUNT = 3
HASH_MARKERS = ("$argon2", "password_hash")


@dataclass
class Stack:
    amqp_url: str
    admin_password: str
    users: ServiceProcess
    auth: ServiceProcess
    gateway: ServiceProcess
    # A second replica, whose users context is a closed port.
    gateway_without_users: ServiceProcess

    @property
    def processes(self) -> list[ServiceProcess]:
        return [self.users, self.auth, self.gateway, self.gateway_without_users]


@dataclass
class Secrets:
    """Every password the tests sent, and every response body they got."""

    passwords: set[str] = field(default_factory=set)
    bodies: list[tuple[str, str]] = field(default_factory=list)

    def leaks(self) -> list[str]:
        found = []
        for where, body in self.bodies:
            for secret in (*HASH_MARKERS, *self.passwords):
                if secret in body:
                    found.append(f"{where} contains a secret")
        return found


async def _recreate_database(url: str) -> None:
    target = make_url(url)
    postgres = target.get_backend_name() == "postgresql"
    # URL.set ignores None: MariaDB's "no database" is the empty name.
    server = target.set(database="postgres" if postgres else "")
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    name = target.database
    try:
        async with engine.connect() as connection:
            if postgres:
                await connection.execute(
                    sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                )
            else:
                await connection.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
    finally:
        await engine.dispose()
    await ensure_database(url)


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-logs")


@pytest.fixture(scope="session")
async def stack(
    services: Services, logs: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    users_db = services.database_url("mariadb", services.database("users"))
    auth_db = services.database_url("postgres", services.database("auth"))
    for url, ini in (
        (users_db, ROOT / "contexts/users/alembic.ini"),
        (auth_db, ROOT / "contexts/auth/alembic.ini"),
    ):
        await _recreate_database(url)
        await upgrade(ini, url)
    await purge_topology(services.amqp_url)

    admin_password = "Adm1n-" + secrets.token_urlsafe(12)
    common = {"ENVIRONMENT": "test", "AMQP_URL": services.amqp_url, "LOG_JSON": "1"}
    users_port, auth_port = free_port(), free_port()
    users_env = {
        **{f"USERS_{key}": value for key, value in common.items()},
        "USERS_HTTP_PORT": str(users_port),
        "USERS_DATABASE_URL": users_db,
        "USERS_ADMIN_EMAIL": ADMIN_EMAIL,
        "USERS_ADMIN_PASSWORD": admin_password,
    }
    auth_env = {
        **{f"AUTH_{key}": value for key, value in common.items()},
        "AUTH_HTTP_PORT": str(auth_port),
        "AUTH_DATABASE_URL": auth_db,
        "AUTH_USERS_URL": f"http://127.0.0.1:{users_port}",
        "AUTH_DEV_KEYS_DIR": str(tmp_path_factory.mktemp("auth-keys")),
        "AUTH_MAX_FAILURES_PER_ACCOUNT": str(MAX_FAILURES_PER_ACCOUNT),
        "AUTH_MAX_FAILURES_PER_ADDRESS": "1000",
    }

    def gateway(name: str, users_url: str) -> ServiceProcess:
        port = free_port()
        env = {
            **{f"GATEWAY_{key}": value for key, value in common.items()},
            "GATEWAY_HTTP_PORT": str(port),
            "GATEWAY_USERS_URL": users_url,
            "GATEWAY_AUTH_URL": f"http://127.0.0.1:{auth_port}",
        }
        return ServiceProcess(name, "gateway", port, env, logs / f"{name}.log")

    await run_to_completion(
        "contexts.users.seed", "--count", "0", env=users_env, log_path=logs / "seed.log"
    )
    running = Stack(
        amqp_url=services.amqp_url,
        admin_password=admin_password,
        users=ServiceProcess(
            "users", "contexts.users", users_port, users_env, logs / "users.log"
        ),
        auth=ServiceProcess(
            "auth", "contexts.auth", auth_port, auth_env, logs / "auth.log"
        ),
        gateway=gateway("gateway", f"http://127.0.0.1:{users_port}"),
        gateway_without_users=gateway(
            "gateway-without-users", f"http://127.0.0.1:{free_port()}"
        ),
    )
    try:
        for process in running.processes:
            await process.start()
        for process in running.processes:
            await process.wait_ready()
        yield running
    finally:
        for process in reversed(running.processes):
            await process.stop()


@pytest.fixture(scope="session")
def secrets_seen() -> Secrets:
    return Secrets()


@pytest.fixture
async def client(
    stack: Stack, secrets_seen: Secrets, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the gateway that keeps every response for the check."""

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        where = f"{request.node.name}: {response.request.method} {response.url.path}"
        secrets_seen.bodies.append((where, response.text))

    async with httpx.AsyncClient(
        base_url=stack.gateway.url, timeout=10.0, event_hooks={"response": [keep]}
    ) as opened:
        yield opened


@pytest.fixture
async def replica(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the second gateway, whose users context is down."""
    async with httpx.AsyncClient(
        base_url=stack.gateway_without_users.url, timeout=10.0
    ) as opened:
        yield opened


@pytest.fixture(autouse=True)
def no_secret_in_any_response(secrets_seen: Secrets) -> Iterator[None]:
    yield
    assert secrets_seen.leaks() == []


@pytest.fixture(scope="session")
def services(services: Services) -> Services:
    """The shared services, with a RabbitMQ virtual host of this suite's own."""
    return services.isolated("e2e")
