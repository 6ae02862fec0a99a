"""Users command handlers in FastStream's in-memory broker.

These commands are refused before any database work, so the runtime points at
a database that does not exist: touching it would fail the test.
"""

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from faststream.rabbit import TestRabbitBroker

from bus.commands import ChangeRole, DeleteUser, UpdateProfile
from bus.messages import Actor, Command, Role
from bus.service import ServiceRuntime
from contexts.users.app import create_runtime
from contexts.users.settings import UsersSettings

REPLIES = "test.users.replies"
NO_DATABASE = "mysql+aiomysql://nobody@127.0.0.1:1/nowhere"
SECRET = "a-secret-password"


class Harness:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.broker = runtime.broker
        self.replies: list[dict[str, Any]] = []

    async def send(self, queue: str, body: Any) -> dict[str, Any]:
        before = len(self.replies)
        await self.broker.publish(body, queue=queue, reply_to=REPLIES)
        assert len(self.replies) == before + 1, "no reply was sent"
        return self.replies[-1]

    async def command(self, command: Command) -> dict[str, Any]:
        return await self.send(command.name, command.model_dump(mode="json"))


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    runtime = create_runtime(UsersSettings(database_url=NO_DATABASE))
    harness = Harness(runtime)

    @runtime.broker.subscriber(REPLIES)
    async def collect(reply: dict[str, Any]) -> None:
        harness.replies.append(reply)

    async with TestRabbitBroker(runtime.broker):
        yield harness


def free_user(user_id: UUID | None = None) -> Actor:
    return Actor(user_id=user_id or uuid4(), role=Role.FREE)


async def test_change_role_from_a_free_user_is_forbidden(harness: Harness) -> None:
    reply = await harness.command(
        ChangeRole(actor=free_user(), user_id=uuid4(), role=Role.ADMIN)
    )

    assert reply["result"] is None
    assert reply["error"]["code"] == "forbidden"


async def test_an_admin_changing_their_own_role_is_forbidden(harness: Harness) -> None:
    admin = Actor(user_id=uuid4(), role=Role.ADMIN)

    reply = await harness.command(
        ChangeRole(actor=admin, user_id=admin.user_id, role=Role.FREE)
    )

    assert reply["error"]["code"] == "forbidden"


async def test_updating_someone_else_answers_not_found(harness: Harness) -> None:
    reply = await harness.command(
        UpdateProfile(actor=free_user(), user_id=uuid4(), full_name="Mallory")
    )

    assert reply["error"]["code"] == "not_found"


async def test_deleting_someone_else_answers_not_found(harness: Harness) -> None:
    reply = await harness.command(DeleteUser(actor=free_user(), user_id=uuid4()))

    assert reply["error"]["code"] == "not_found"


async def test_an_invalid_registration_is_answered_without_echoing_it(
    harness: Harness,
) -> None:
    reply = await harness.send(
        "users.register", {"email": "not-an-email", "password": SECRET}
    )

    assert reply["error"]["code"] == "invalid"
    assert [detail["loc"] for detail in reply["error"]["details"]] == [["email"]]
    assert SECRET not in str(reply)


async def test_a_short_password_is_invalid_and_not_echoed(harness: Harness) -> None:
    reply = await harness.send(
        "users.register", {"email": "ana@example.com", "password": "Zq9xW1k"}
    )

    assert reply["error"]["code"] == "invalid"
    assert "Zq9xW1k" not in str(reply)
