"""Logout: the access token is blacklisted, announced once, and listed."""

import sqlalchemy as sa

from bus.events import TokenRevoked
from bus.messages import utcnow
from contexts.auth.keys import generate_private_pem, parse_keys
from contexts.auth.service import issue_access_token
from tests.integration.auth.support import Stack, error_of, jti_of, staged_revocations
from tests.support.rabbit import watch_exchange


async def test_logout_revokes_the_token_once_and_ends_its_session(
    stack: Stack,
) -> None:
    user = await stack.commands.register()
    other = await stack.commands.register()
    pair = await stack.commands.login_ok(user)
    other_pair = await stack.commands.login_ok(other)

    async with watch_exchange(stack.amqp_url, TokenRevoked.name) as revoked:
        assert (await stack.commands.logout(user, pair.access_token)).ok
        (event,) = await revoked.wait_for(1)
        assert (await stack.commands.logout(user, pair.access_token)).ok
        # A later revocation marks the point by which a second one would
        # have been published: the relay publishes in staging order.
        assert (await stack.commands.logout(other, other_pair.access_token)).ok
        events = await revoked.wait_for(2)

    assert event["jti"] == jti_of(pair.access_token)
    assert event["user_id"] == str(user.id)
    assert [e["jti"] for e in events].count(jti_of(pair.access_token)) == 1
    assert len(events) == 2
    assert await staged_revocations(stack.auth_db, jti_of(pair.access_token)) == 1
    listed = (await stack.get("/revocations")).json()["revocations"]
    assert jti_of(pair.access_token) in {entry["jti"] for entry in listed}
    refreshed = await stack.commands.refresh(pair.refresh_token)
    assert error_of(refreshed)[0] == "unauthorized"


async def test_the_blacklist_holds_the_jti_and_never_the_token(stack: Stack) -> None:
    user = await stack.commands.register()
    pair = await stack.commands.login_ok(user)

    assert (await stack.commands.logout(user, pair.access_token)).ok

    async with stack.auth_db.connect() as connection:
        rows = (
            await connection.execute(sa.text("SELECT * FROM blacklisted_tokens"))
        ).all()
    (row,) = rows
    assert row.token == jti_of(pair.access_token)
    assert row.user_id == user.id
    assert row.created_at is not None
    assert pair.access_token not in " ".join(str(value) for value in row)


async def test_logging_out_with_another_users_token_is_forbidden(stack: Stack) -> None:
    user = await stack.commands.register()
    other = await stack.commands.register()
    pair = await stack.commands.login_ok(other)

    reply = await stack.commands.logout(user, pair.access_token)

    assert error_of(reply) == ("forbidden", "the access token belongs to another user")
    assert (await stack.commands.refresh(pair.refresh_token)).ok


async def test_a_token_auth_did_not_sign_is_refused(stack: Stack) -> None:
    user = await stack.commands.register()
    stranger = parse_keys(generate_private_pem().decode())
    forged = issue_access_token(
        stranger,
        stack.settings,
        user_id=user.id,
        role=user.role,
        session_id=user.id,
        now=utcnow(),
    )

    reply = await stack.commands.logout(user, forged.token)

    assert error_of(reply) == ("unauthorized", "invalid access token")
