"""Helpers for the users integration tests."""

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bus.commands import RegisterUser
from bus.messages import Actor, Role
from bus.replies import UserView
from bus.rpc import CommandClient

PASSWORD = "Sup3r-secret-pass"


async def wait_until(
    condition: Callable[[], Awaitable[bool]], timeout: float = 10.0
) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        # Database state has nothing to wait on but a poll.
        while not await condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def assert_no_secrets(payloads: Iterable[Any], *passwords: str) -> None:
    """No password, hash or hash field in anything the context sent out."""
    for payload in payloads:
        text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
        assert "$argon2" not in text
        assert "password_hash" not in text
        for password in passwords:
            assert password not in text


@dataclass
class Users:
    """Drives the users context over the bus and reads its database."""

    commands: CommandClient
    engine: AsyncEngine

    async def register(
        self, email: str, password: str = PASSWORD, full_name: str | None = None
    ) -> UserView:
        command = RegisterUser(email=email, password=password, full_name=full_name)
        reply = await self.commands.send(command, UserView)
        assert reply.result is not None, reply.error
        return reply.result

    async def admin(self, email: str = "root@example.com") -> Actor:
        """A registered user promoted to admin directly in the database."""
        user = await self.register(email)
        await self.execute("UPDATE users SET role = 'admin' WHERE id = :id", user.id)
        return Actor(user_id=user.id, role=Role.ADMIN)

    async def execute(self, sql: str, user_id: UUID, **params: Any) -> None:
        """Run ``sql`` with ``:id`` bound to ``user_id``, in its own transaction."""
        async with self.engine.begin() as connection:
            await connection.execute(sa.text(sql), {"id": str(user_id), **params})

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as connection:
            return await connection.scalar(sa.text(sql), params)

    async def role(self, user_id: UUID) -> str:
        role = await self.scalar(
            "SELECT role FROM users WHERE id = :id", id=str(user_id)
        )
        return str(role)

    async def unpublished(self) -> int:
        sql = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        return int(await self.scalar(sql))

    async def all_published(self) -> bool:
        """Every staged event is published and marked so; none will go again."""
        return await self.unpublished() == 0
