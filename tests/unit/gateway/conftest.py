"""A gateway wired to fakes: no RabbitMQ, no contexts, no databases."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID, uuid4

import httpx
import pytest
from aiohttp.test_utils import TestServer
from fastapi import FastAPI

from bus.messages import Role
from gateway.app import create_app
from gateway.runtime import Gateway
from gateway.settings import GatewaySettings
from gateway.upstream import create_session
from tests.unit.gateway.fakes import Authority, FakeCommands, FakeContexts

CLIENT_IP = "203.0.113.7"


@dataclass
class Harness:
    app: FastAPI
    client: httpx.AsyncClient
    gateway: Gateway
    authority: Authority
    contexts: FakeContexts
    commands: FakeCommands

    def token(self, user_id: UUID, role: Role = Role.FREE) -> str:
        return self.authority.token(user_id, role)

    def bearer(self, user_id: UUID, role: Role = Role.FREE) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token(user_id, role)}"}


@pytest.fixture
async def contexts() -> AsyncIterator[tuple[FakeContexts, str]]:
    fake = FakeContexts(Authority())
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield fake, str(server.make_url("")).rstrip("/")
    finally:
        fake.hang.set()
        await server.close()


@pytest.fixture
def settings(contexts: tuple[FakeContexts, str]) -> GatewaySettings:
    _, url = contexts
    return GatewaySettings(
        users_url=url,
        auth_url=url,
        upstream_timeout=0.5,
        upstream_connect_timeout=0.5,
        jwks_refresh_interval=60,
    )


@pytest.fixture
async def harness(
    settings: GatewaySettings, contexts: tuple[FakeContexts, str]
) -> AsyncIterator[Harness]:
    fake, _ = contexts
    commands = FakeCommands()
    gateway = Gateway(settings, session=create_session(settings), commands=commands)
    assert await gateway.keys.refresh()
    gateway.denylist.load([])
    app = create_app(settings)
    # The lifespan is not run: the gateway is started by hand, without RabbitMQ.
    app.state.gateway = gateway
    transport = httpx.ASGITransport(
        app, raise_app_exceptions=False, client=(CLIENT_IP, 50_000)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        yield Harness(app, client, gateway, fake.authority, fake, commands)
    await gateway.session.close()


@pytest.fixture
def user_id() -> UUID:
    return uuid4()
