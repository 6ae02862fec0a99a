"""No password or hash in any log line, whatever the command does."""

import logging

import httpx
import pytest

from bus.commands import UpdateProfile
from bus.messages import Actor
from bus.replies import UserView
from bus.rpc import CommandClient
from tests.integration.users.support import PASSWORD, Users, assert_no_secrets


async def test_log_lines_carry_no_password_or_hash(
    caplog: pytest.LogCaptureFixture,
    users: Users,
    commands: CommandClient,
    http: httpx.AsyncClient,
) -> None:
    new_password = "another-secret-password"
    wrong_password = "a-wrong-secret-password"

    with caplog.at_level(logging.DEBUG):
        ida = await users.register("ida@example.com")
        actor = Actor(user_id=ida.id, role=ida.role)
        await commands.send(
            UpdateProfile(
                actor=actor,
                user_id=ida.id,
                password=new_password,
                current_password=wrong_password,
            ),
            UserView,
        )
        await commands.send_raw(
            "users.register",
            b'{"email": "bad", "password": "' + PASSWORD.encode() + b'"}',
        )
        await http.post(
            "/internal/credentials/verify",
            json={"email": "ida@example.com", "password": wrong_password},
        )

    lines = [record.getMessage() for record in caplog.records]
    assert any("user.registered" in line for line in lines)
    assert_no_secrets(lines, PASSWORD, new_password, wrong_password)
