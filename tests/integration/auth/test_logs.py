"""No password, token or token hash reaches a log line."""

import logging

import pytest

from bus.events import TokenRevoked
from contexts.auth.service import hash_refresh_token
from tests.integration.auth.support import NEW_PASSWORD, PASSWORD, Stack
from tests.support.rabbit import watch_exchange


async def test_a_whole_session_logs_no_secret(
    stack: Stack, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    user = await stack.commands.register()

    async with watch_exchange(stack.amqp_url, TokenRevoked.name) as revoked:
        await stack.commands.login(user.email, "a wrong password")
        first = await stack.commands.login_ok(user)
        second = (await stack.commands.refresh(first.refresh_token)).result
        assert second is not None
        await stack.commands.refresh(first.refresh_token)  # reuse: ends the session
        third = await stack.commands.login_ok(user)
        assert (await stack.commands.logout(user, third.access_token)).ok
        await stack.commands.change_password(user)
        await revoked.wait_for(3)

    secrets = {PASSWORD, NEW_PASSWORD, "a wrong password"}
    for pair in (first, second, third):
        secrets |= {
            pair.access_token,
            pair.refresh_token,
            hash_refresh_token(pair.refresh_token),
            pair.access_token.rsplit(".", 1)[1],  # the signature alone
        }
    captured = capfd.readouterr()
    logged = caplog.text + captured.out + captured.err
    assert "auth.session_opened" in logged
    assert "auth.refresh_token_reused" in logged
    leaked = [secret for secret in secrets if secret in logged]
    assert leaked == []
