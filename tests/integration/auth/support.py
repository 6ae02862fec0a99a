"""Helpers for the auth integration tests: servers, databases, commands."""

import asyncio
import contextlib
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import jwt
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bus.commands import (
    DeleteUser,
    Login,
    Logout,
    RefreshTokens,
    RegisterUser,
    UpdateProfile,
)
from bus.db import ensure_database
from bus.messages import Actor, Role
from bus.replies import Done, Reply, TokenPair, UserView
from bus.rpc import CommandClient
from contexts.auth.app import AuthRuntime
from contexts.auth.settings import AuthSettings
from tests.support.rabbit import purge_topology

PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple of the horse"
CLIENT_IP = "192.0.2.10"
# Low limits, so that the throttling tests stay short.
ACCOUNT_LIMIT = 3
ADDRESS_LIMIT = 8
THROTTLE_WINDOW = 600


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def recreate_database(url: str) -> None:
    """Drop the database ``url`` names, if it exists, and create it empty."""
    target = make_url(url)
    name = target.database
    assert name is not None
    assert name.replace("_", "").isalnum()
    postgres = target.get_backend_name() == "postgresql"
    server = target.set(database="postgres" if postgres else "")
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    drop = (
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        if postgres
        else f"DROP DATABASE IF EXISTS `{name}`"
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(sa.text(drop))
    finally:
        await engine.dispose()
    await ensure_database(url)


class _Server(uvicorn.Server):
    """A uvicorn server that says when its lifespan has started."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        except SystemExit:
            # uvicorn exits the process when the lifespan fails to start;
            # here that would end the whole test session.
            self.should_exit = True
        if not self.should_exit:
            self.ready.set()


class Served:
    """An ASGI app served over real HTTP in this process, on a fixed port.

    ``stop`` and ``start`` take the service down and bring a fresh app back
    on the same port, as a restarted process would be.
    """

    def __init__(self, build: Callable[[], FastAPI]) -> None:
        self._build = build
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app: FastAPI | None = None
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.app = self._build()
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve())
        ready = asyncio.create_task(server.ready.wait())
        async with asyncio.timeout(30):
            await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if not server.ready.is_set():
            ready.cancel()
            await task
            raise RuntimeError("the server did not start")
        self._server, self._task = server, task

    async def stop(self) -> None:
        server, task = self._server, self._task
        self._server = self._task = None
        if server is None or task is None:
            return
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Commands:
    """Sends the commands the tests need, as the gateway would."""

    def __init__(self, client: CommandClient) -> None:
        self.client = client

    async def register(self, password: str = PASSWORD) -> UserView:
        email = f"user-{uuid4().hex[:12]}@example.com"
        reply = await self.client.send(
            RegisterUser(email=email, password=password), UserView
        )
        assert reply.result is not None, reply.error
        return reply.result

    async def login(
        self, email: str, password: str = PASSWORD, client_ip: str = CLIENT_IP
    ) -> Reply[TokenPair]:
        command = Login(email=email, password=password, client_ip=client_ip)
        return await self.client.send(command, TokenPair)

    async def login_ok(self, user: UserView, password: str = PASSWORD) -> TokenPair:
        reply = await self.login(user.email, password)
        assert reply.result is not None, reply.error
        return reply.result

    async def refresh(
        self, refresh_token: str, client_ip: str = CLIENT_IP
    ) -> Reply[TokenPair]:
        command = RefreshTokens(refresh_token=refresh_token, client_ip=client_ip)
        return await self.client.send(command, TokenPair)

    async def logout(self, user: UserView, access_token: str) -> Reply[Done]:
        command = Logout(actor=actor(user), access_token=access_token)
        return await self.client.send(command, Done)

    async def change_password(self, user: UserView) -> None:
        command = UpdateProfile(
            actor=actor(user),
            user_id=user.id,
            password=NEW_PASSWORD,
            current_password=PASSWORD,
        )
        reply = await self.client.send(command, UserView)
        assert reply.result is not None, reply.error

    async def rename(self, user: UserView) -> None:
        command = UpdateProfile(actor=actor(user), user_id=user.id, full_name="Renamed")
        reply = await self.client.send(command, UserView)
        assert reply.result is not None, reply.error

    async def delete(self, user: UserView) -> None:
        command = DeleteUser(actor=actor(user), user_id=user.id)
        reply = await self.client.send(command, Done)
        assert reply.result is not None, reply.error


async def staged_revocations(engine: AsyncEngine, jti: str) -> int:
    """How many ``token.revoked`` events for ``jti`` auth's outbox ever held."""
    async with engine.connect() as connection:
        payloads = await connection.scalars(
            sa.text("SELECT payload FROM outbox WHERE event_type = 'token.revoked'")
        )
        return sum(json.loads(payload)["jti"] == jti for payload in payloads)


def claims_of(token: str) -> dict[str, Any]:
    """A token's claims, read without verifying it (the tests check elsewhere)."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def jti_of(token: str) -> str:
    jti = claims_of(token)["jti"]
    assert isinstance(jti, str)
    return jti


def actor(user: UserView) -> Actor:
    return Actor(user_id=user.id, role=Role(user.role))


def error_of(reply: Reply[Any]) -> tuple[str, str]:
    """The error code and message of a refused command."""
    assert reply.error is not None, "the command was expected to be refused"
    return reply.error.code.value, reply.error.message


# DELETE rather than TRUNCATE: its table locks would deadlock with the
# running relay and handlers.
EMPTY_AUTH = (
    "DELETE FROM blacklisted_tokens",
    "DELETE FROM refresh_tokens",
    "DELETE FROM throttle_counters",
    "DELETE FROM outbox",
    "DELETE FROM inbox",
)
EMPTY_USERS = ("DELETE FROM users", "DELETE FROM outbox", "DELETE FROM inbox")


@dataclass
class Stack:
    """Both contexts running, and what the tests drive them with."""

    amqp_url: str
    settings: AuthSettings
    auth: Served
    users: Served
    commands: Commands
    auth_db: AsyncEngine
    users_db: AsyncEngine
    http: httpx.AsyncClient

    @property
    def runtime(self) -> AuthRuntime:
        assert self.auth.app is not None
        runtime = self.auth.app.state.runtime
        assert isinstance(runtime, AuthRuntime)
        return runtime

    async def get(self, path: str) -> httpx.Response:
        return await self.http.get(f"{self.auth.url}{path}")

    async def clean(self) -> None:
        for engine, statements in (
            (self.auth_db, EMPTY_AUTH),
            (self.users_db, EMPTY_USERS),
        ):
            async with engine.begin() as connection:
                for statement in statements:
                    await connection.execute(sa.text(statement))
        await purge_topology(self.amqp_url)
