"""Login through the bus, with the users context checking the password."""

import jwt
import sqlalchemy as sa

from contexts.auth.service import hash_refresh_token
from tests.integration.auth.support import (
    ACCOUNT_LIMIT,
    ADDRESS_LIMIT,
    PASSWORD,
    Stack,
    error_of,
)

GENERIC_FAILURE = ("unauthorized", "invalid email or password")


async def test_login_issues_tokens_that_verify_with_the_published_keys(
    stack: Stack,
) -> None:
    user = await stack.commands.register()

    pair = await stack.commands.login_ok(user)
    jwks = (await stack.get("/.well-known/jwks.json")).json()

    header = jwt.get_unverified_header(pair.access_token)
    assert header["alg"] == "EdDSA"
    (key,) = [key for key in jwks["keys"] if key["kid"] == header["kid"]]
    claims = jwt.decode(
        pair.access_token,
        jwt.PyJWK(key),
        algorithms=["EdDSA"],
        issuer="streamflow-auth",
        audience="streamflow-api",
    )
    assert claims["sub"] == str(user.id)
    assert claims["role"] == "free"
    assert claims["exp"] - claims["iat"] == pair.expires_in == 900
    assert claims["jti"]
    assert claims["sid"]
    assert pair.token_type == "Bearer"


async def test_only_the_refresh_tokens_hash_is_stored(stack: Stack) -> None:
    user = await stack.commands.register()

    pair = await stack.commands.login_ok(user)

    async with stack.auth_db.connect() as connection:
        rows = (await connection.execute(sa.text("SELECT * FROM refresh_tokens"))).all()
    (row,) = rows
    assert row.token_hash == hash_refresh_token(pair.refresh_token)
    assert row.user_id == user.id
    stored = " ".join(str(value) for value in row)
    assert pair.refresh_token not in stored
    assert pair.access_token not in stored


async def test_a_wrong_password_and_an_unknown_email_fail_alike(stack: Stack) -> None:
    user = await stack.commands.register()

    wrong_password = await stack.commands.login(user.email, "not the password")
    unknown_email = await stack.commands.login("nobody@example.com", PASSWORD)

    assert error_of(wrong_password) == error_of(unknown_email) == GENERIC_FAILURE
    assert wrong_password.error == unknown_email.error


async def test_an_account_is_throttled_after_repeated_failures(stack: Stack) -> None:
    user = await stack.commands.register()
    for _ in range(ACCOUNT_LIMIT):
        failed = await stack.commands.login(user.email, "guess", client_ip="192.0.2.1")
        assert error_of(failed) == GENERIC_FAILURE

    # Even the right password, and from another address: the account waits.
    throttled = await stack.commands.login(user.email, client_ip="198.51.100.9")

    assert error_of(throttled)[0] == "too_many_requests"
    assert throttled.error is not None
    assert throttled.error.retry_after is not None
    assert 0 < throttled.error.retry_after <= stack.settings.throttle_window
    other = await stack.commands.register()
    assert (await stack.commands.login(other.email, client_ip="192.0.2.1")).ok


async def test_an_address_is_throttled_after_failures_on_many_accounts(
    stack: Stack,
) -> None:
    user = await stack.commands.register()
    for attempt in range(ADDRESS_LIMIT):
        email = f"stranger-{attempt}@example.com"
        failed = await stack.commands.login(email, "guess", client_ip="192.0.2.77")
        assert error_of(failed) == GENERIC_FAILURE

    throttled = await stack.commands.login(user.email, client_ip="192.0.2.77")

    assert error_of(throttled)[0] == "too_many_requests"
    assert (await stack.commands.login(user.email, client_ip="192.0.2.78")).ok


async def test_a_successful_login_clears_the_accounts_failures(stack: Stack) -> None:
    user = await stack.commands.register()
    for _ in range(ACCOUNT_LIMIT - 1):
        await stack.commands.login(user.email, "guess")
    await stack.commands.login_ok(user)

    for _ in range(ACCOUNT_LIMIT - 1):
        failed = await stack.commands.login(user.email, "guess")
        assert error_of(failed) == GENERIC_FAILURE

    assert (await stack.commands.login(user.email)).ok


async def test_login_while_users_is_down_is_unavailable(stack: Stack) -> None:
    user = await stack.commands.register()

    await stack.users.stop()
    try:
        reply = await stack.commands.login(user.email)
    finally:
        await stack.users.start()

    assert error_of(reply)[0] == "unavailable"
    assert (await stack.commands.login(user.email)).ok


async def test_a_client_address_that_is_not_an_ip_is_refused(stack: Stack) -> None:
    user = await stack.commands.register()

    reply = await stack.commands.login(user.email, client_ip="not-an-address")

    assert error_of(reply) == ("invalid", "client_ip is not an IP address")
