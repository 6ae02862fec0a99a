"""Talking to the public API the way a client does."""

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx

from tests.e2e.conftest import Secrets


@dataclass(frozen=True)
class Account:
    id: UUID
    email: str
    password: str


@dataclass(frozen=True)
class Tokens:
    access: str
    refresh: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def new_password(seen: Secrets) -> str:
    password = "Pw-" + secrets.token_urlsafe(12)
    seen.passwords.add(password)
    return password


async def register(client: httpx.AsyncClient, seen: Secrets) -> Account:
    email = f"e2e-{secrets.token_hex(6)}@example.com"
    password = new_password(seen)
    response = await client.post(
        "/usuarios",
        json={"email": email, "password": password, "full_name": "E2E User"},
    )
    assert response.status_code == 201, response.text
    return Account(UUID(response.json()["id"]), email, password)


async def login(client: httpx.AsyncClient, email: str, password: str) -> Tokens:
    response = await client.post(
        "/auth/login", json={"email": email, "password": password}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return Tokens(body["access_token"], body["refresh_token"])


async def signed_up(client: httpx.AsyncClient, seen: Secrets) -> tuple[Account, Tokens]:
    """A new account, logged in."""
    account = await register(client, seen)
    return account, await login(client, account.email, account.password)


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/auth/refresh", json={"refresh_token": token})


async def eventually_status(
    request: Callable[[], Awaitable[httpx.Response]], status: int, within: float
) -> float:
    """Repeat ``request`` until it answers ``status``; the seconds it took.

    Fails if that takes longer than ``within`` seconds.
    """
    started = time.monotonic()
    while True:
        response = await request()
        elapsed = time.monotonic() - started
        if response.status_code == status:
            return elapsed
        assert elapsed < within, f"still {response.status_code} after {within}s"
        # Yield to the loop between attempts rather than sleeping a fixed time.
        await asyncio.sleep(0)
