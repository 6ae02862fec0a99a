"""Refresh: each refresh token works once; a reused one ends its session."""

from datetime import timedelta

import sqlalchemy as sa

from bus.events import TokenRevoked
from bus.messages import utcnow
from contexts.auth.service import hash_refresh_token
from tests.integration.auth.support import Stack, claims_of, error_of
from tests.support.rabbit import watch_exchange

REFUSED = ("unauthorized", "invalid or expired refresh token")


async def test_refresh_rotates_both_tokens_within_the_session(stack: Stack) -> None:
    user = await stack.commands.register()
    first = await stack.commands.login_ok(user)

    second = (await stack.commands.refresh(first.refresh_token)).result
    assert second is not None
    third = (await stack.commands.refresh(second.refresh_token)).result
    assert third is not None

    assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
    sessions = {claims_of(pair.access_token)["sid"] for pair in (first, second, third)}
    jtis = {claims_of(pair.access_token)["jti"] for pair in (first, second, third)}
    assert len(sessions) == 1
    assert len(jtis) == 3
    assert claims_of(third.access_token)["sub"] == str(user.id)


async def test_a_reused_refresh_token_ends_the_whole_session(stack: Stack) -> None:
    user = await stack.commands.register()
    first = await stack.commands.login_ok(user)
    second = (await stack.commands.refresh(first.refresh_token)).result
    assert second is not None
    access_jtis = {claims_of(pair.access_token)["jti"] for pair in (first, second)}

    async with watch_exchange(stack.amqp_url, TokenRevoked.name) as revoked:
        replayed = await stack.commands.refresh(first.refresh_token)
        events = await revoked.wait_for(2)

    assert error_of(replayed) == REFUSED
    assert error_of(await stack.commands.refresh(second.refresh_token)) == REFUSED
    assert {event["jti"] for event in events} == access_jtis
    assert {event["user_id"] for event in events} == {str(user.id)}
    listed = (await stack.get("/revocations")).json()["revocations"]
    assert {entry["jti"] for entry in listed} == access_jtis


async def test_an_unknown_refresh_token_is_refused(stack: Stack) -> None:
    reply = await stack.commands.refresh("made-up-token")

    assert error_of(reply) == REFUSED


async def test_an_expired_refresh_token_is_refused(stack: Stack) -> None:
    user = await stack.commands.register()
    pair = await stack.commands.login_ok(user)
    async with stack.auth_db.begin() as connection:
        await connection.execute(
            sa.text(
                "UPDATE refresh_tokens SET expires_at = :past WHERE token_hash = :h"
            ),
            {
                "past": utcnow() - timedelta(seconds=1),
                "h": hash_refresh_token(pair.refresh_token),
            },
        )

    reply = await stack.commands.refresh(pair.refresh_token)

    assert error_of(reply) == REFUSED


async def test_failed_refreshes_throttle_the_address(stack: Stack) -> None:
    user = await stack.commands.register()
    pair = await stack.commands.login_ok(user)
    for _ in range(stack.settings.max_failures_per_address):
        failed = await stack.commands.refresh("guess", client_ip="192.0.2.200")
        assert error_of(failed) == REFUSED

    throttled = await stack.commands.refresh(
        pair.refresh_token, client_ip="192.0.2.200"
    )

    assert error_of(throttled)[0] == "too_many_requests"
    assert (
        await stack.commands.refresh(pair.refresh_token, client_ip="192.0.2.201")
    ).ok
