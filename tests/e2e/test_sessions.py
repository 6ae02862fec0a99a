"""Registration, login, refresh rotation, logout and password changes, end to end."""

import httpx

from tests.e2e.api import (
    bearer,
    eventually_status,
    login,
    new_password,
    refresh,
    register,
    signed_up,
)
from tests.e2e.conftest import Secrets, Stack
from tests.support.rabbit import watch_exchange

# A revoked token must fail at every replica within this many seconds.
REVOCATION_DELAY = 1.0


async def test_registration_publishes_user_created(
    client: httpx.AsyncClient, stack: Stack, secrets_seen: Secrets
) -> None:
    async with watch_exchange(stack.amqp_url, "user.created") as watcher:
        account = await register(client, secrets_seen)

        bodies = await watcher.wait_for(1)

    [event] = [body for body in bodies if body["user_id"] == str(account.id)]
    assert event["email"] == account.email
    assert event["role"] == "free"
    assert "password" not in event
    assert "password_hash" not in event


async def test_login_then_me_then_refresh_rotates_the_pair(
    client: httpx.AsyncClient, secrets_seen: Secrets
) -> None:
    account, first = await signed_up(client, secrets_seen)

    me = await client.get("/auth/me", headers=first.headers)
    rotated = await refresh(client, first.refresh)

    assert me.status_code == 200
    assert me.json()["id"] == str(account.id)
    assert me.json()["email"] == account.email
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first.refresh
    assert second["access_token"] != first.access
    again = await client.get("/auth/me", headers=bearer(second["access_token"]))
    assert again.json()["id"] == str(account.id)


async def test_a_reused_refresh_token_ends_the_whole_family(
    client: httpx.AsyncClient, secrets_seen: Secrets
) -> None:
    _, first = await signed_up(client, secrets_seen)
    newer = (await refresh(client, first.refresh)).json()["refresh_token"]

    replayed = await refresh(client, first.refresh)
    newest = await refresh(client, newer)

    assert replayed.status_code == 401
    assert newest.status_code == 401


async def test_logout_revokes_the_access_token_at_every_replica_within_a_second(
    client: httpx.AsyncClient, replica: httpx.AsyncClient, secrets_seen: Secrets
) -> None:
    _, tokens = await signed_up(client, secrets_seen)

    logout = await client.post("/auth/logout", headers=tokens.headers)

    assert logout.status_code == 204
    await eventually_status(
        lambda: client.get("/auth/me", headers=tokens.headers), 401, REVOCATION_DELAY
    )
    # The other replica has no users context: a token it still accepted would
    # reach the proxy and fail with 503 instead of 401.
    await eventually_status(
        lambda: replica.get("/auth/me", headers=tokens.headers), 401, REVOCATION_DELAY
    )
    assert (await refresh(client, tokens.refresh)).status_code == 401


async def test_a_new_password_ends_the_old_sessions(
    client: httpx.AsyncClient, secrets_seen: Secrets
) -> None:
    account, old = await signed_up(client, secrets_seen)
    password = new_password(secrets_seen)

    changed = await client.patch(
        f"/usuarios/{account.id}",
        json={"password": password, "current_password": account.password},
        headers=old.headers,
    )

    assert changed.status_code == 200, changed.text
    await eventually_status(
        lambda: client.get("/auth/me", headers=old.headers), 401, REVOCATION_DELAY
    )
    assert (await refresh(client, old.refresh)).status_code == 401
    fresh = await login(client, account.email, password)
    assert (await client.get("/auth/me", headers=fresh.headers)).status_code == 200
    stale = await client.post(
        "/auth/login", json={"email": account.email, "password": account.password}
    )
    assert stale.status_code == 401
