"""Auth's REST reads, and the purge of rows that no longer matter."""

from datetime import timedelta
from uuid import uuid4

import sqlalchemy as sa

from bus.messages import utcnow
from tests.integration.auth.support import Stack, jti_of


async def test_jwks_lists_the_signing_key_for_eddsa(stack: Stack) -> None:
    response = await stack.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public, max-age=")
    (key,) = response.json()["keys"]
    assert key["kid"] == stack.runtime.keyring.signer_kid
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == (
        "OKP",
        "Ed25519",
        "EdDSA",
        "sig",
    )
    assert "d" not in key


async def test_revocations_list_only_tokens_not_yet_expired(stack: Stack) -> None:
    now = utcnow()
    async with stack.auth_db.begin() as connection:
        await connection.execute(
            sa.text(
                "INSERT INTO blacklisted_tokens (token, user_id, expires_at) "
                "VALUES ('live', :user, :later), ('expired', :user, :earlier)"
            ),
            {
                "user": uuid4(),
                "later": now + timedelta(minutes=5),
                "earlier": now - timedelta(seconds=1),
            },
        )

    response = await stack.get("/revocations")

    assert response.status_code == 200
    (entry,) = response.json()["revocations"]
    assert entry["jti"] == "live"
    assert set(entry) == {"jti", "expires_at"}


async def test_the_purge_deletes_expired_rows_only(stack: Stack) -> None:
    now = utcnow()
    user = await stack.commands.register()
    live = await stack.commands.login_ok(user)
    await stack.commands.login("someone@example.com", "guess", client_ip="192.0.2.50")
    window = timedelta(seconds=stack.settings.throttle_window)
    async with stack.auth_db.begin() as connection:
        await connection.execute(
            sa.text(
                "INSERT INTO blacklisted_tokens (token, user_id, expires_at) "
                "VALUES ('live', :user, :later), ('expired', :user, :earlier)"
            ),
            {"user": user.id, "later": now + window, "earlier": now},
        )
        await connection.execute(
            sa.text(
                "INSERT INTO throttle_counters VALUES ('address:192.0.2.51', :old, 9)"
            ),
            {"old": now - window - timedelta(seconds=1)},
        )
    dead = await stack.commands.login_ok(user)
    dead_jti = jti_of(dead.access_token)
    async with stack.auth_db.begin() as connection:
        await connection.execute(
            sa.text(
                "UPDATE refresh_tokens SET expires_at = :now WHERE access_jti = :j"
            ),
            {"now": now, "j": dead_jti},
        )

    deleted = await stack.runtime.purge_once()

    assert deleted == {"revocations": 1, "refresh_tokens": 1, "throttle_counters": 1}
    assert (await stack.commands.refresh(live.refresh_token)).ok
    async with stack.auth_db.connect() as connection:
        tokens = await connection.scalars(
            sa.text("SELECT token FROM blacklisted_tokens")
        )
        assert list(tokens) == ["live"]
        counters = await connection.scalar(
            sa.text("SELECT count(*) FROM throttle_counters")
        )
        assert counters == 2


async def test_health_and_readiness(stack: Stack) -> None:
    alive = await stack.get("/healthz")
    ready = await stack.get("/readyz")

    assert alive.status_code == 200
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"rabbitmq": "ok", "database": "ok"}
