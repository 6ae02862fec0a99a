"""Writes go out as commands; their replies come back as HTTP statuses."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from bus.commands import (
    ChangeRole,
    DeleteUser,
    Login,
    Logout,
    RefreshTokens,
    RegisterUser,
    UpdateProfile,
)
from bus.messages import Actor, Command, Role
from bus.replies import Done, ErrorCode, ErrorInfo, FieldError, Reply, UserView
from bus.rpc import BrokerUnavailable, CommandFailed, CommandTimeout
from tests.unit.gateway.conftest import CLIENT_IP, Harness

REGISTRATION = {
    "email": "Ana@Example.com",
    "password": "Str0ng-Passw0rd",
    "full_name": "Ana",
}
LOGIN = {"email": "ana@example.com", "password": "Str0ng-Passw0rd"}


def user_view(user_id: UUID, role: Role = Role.FREE) -> UserView:
    now = datetime.now(UTC)
    return UserView(
        id=user_id,
        email="ana@example.com",
        full_name="Ana",
        role=role,
        created_at=now,
        updated_at=now,
    )


def refuse(code: ErrorCode, **extra: Any) -> Any:
    def responder(_command: Command) -> Reply[Any]:
        return Reply(error=ErrorInfo(code=code, message=f"refused: {code}", **extra))

    return responder


def answer(result: Any) -> Any:
    return lambda _command: Reply(result=result)


async def test_registration_sends_the_command_and_answers_201(
    harness: Harness, user_id: UUID
) -> None:
    harness.commands.responders["users.register"] = answer(user_view(user_id))

    response = await harness.client.post("/usuarios", json=REGISTRATION)

    assert response.status_code == 201
    assert response.json()["id"] == str(user_id)
    assert response.headers["location"] == f"/usuarios/{user_id}"
    [(command, _)] = harness.commands.sent
    assert command == RegisterUser(
        email="Ana@example.com", password="Str0ng-Passw0rd", full_name="Ana"
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (ErrorCode.INVALID, 422),
        (ErrorCode.UNAUTHORIZED, 401),
        (ErrorCode.FORBIDDEN, 403),
        (ErrorCode.NOT_FOUND, 404),
        (ErrorCode.CONFLICT, 409),
        (ErrorCode.TOO_MANY_REQUESTS, 429),
        (ErrorCode.UNAVAILABLE, 503),
        (ErrorCode.INTERNAL, 502),
    ],
)
async def test_an_error_reply_maps_to_its_status(
    harness: Harness, code: ErrorCode, status: int
) -> None:
    harness.commands.responders["users.register"] = refuse(code)

    response = await harness.client.post("/usuarios", json=REGISTRATION)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code.value
    assert response.json()["error"]["message"] == f"refused: {code}"


async def test_field_errors_of_a_reply_reach_the_client(harness: Harness) -> None:
    problem = FieldError(loc=["email"], msg="taken", type="value_error")
    harness.commands.responders["users.register"] = refuse(
        ErrorCode.INVALID, details=[problem]
    )

    response = await harness.client.post("/usuarios", json=REGISTRATION)

    assert response.json()["error"]["details"] == [problem.model_dump()]


async def test_throttled_logins_answer_429_with_retry_after(harness: Harness) -> None:
    harness.commands.responders["auth.login"] = refuse(
        ErrorCode.TOO_MANY_REQUESTS, retry_after=42
    )

    response = await harness.client.post("/auth/login", json=LOGIN)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "42"
    assert response.json()["error"]["retry_after"] == 42


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (CommandTimeout("no reply"), 504, "timeout"),
        (CommandFailed("closed before the reply"), 503, "unavailable"),
        (BrokerUnavailable("not connected"), 503, "unavailable"),
    ],
)
async def test_a_command_without_a_reply_maps_to_504_or_503(
    harness: Harness, failure: Exception, status: int, code: str
) -> None:
    harness.commands.failure = failure

    response = await harness.client.post("/usuarios", json=REGISTRATION)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code


async def test_a_reply_of_the_wrong_shape_is_a_502(harness: Harness) -> None:
    harness.commands.responders["users.register"] = answer(Done())

    response = await harness.client.post("/usuarios", json=REGISTRATION)

    assert response.status_code == 502


async def test_login_throttles_on_the_connection_peer_not_forwarded_for(
    harness: Harness,
) -> None:
    harness.commands.responders["auth.login"] = refuse(ErrorCode.UNAUTHORIZED)

    response = await harness.client.post(
        "/auth/login", json=LOGIN, headers={"x-forwarded-for": "198.51.100.1"}
    )

    assert response.status_code == 401
    [(command, _)] = harness.commands.sent
    assert isinstance(command, Login)
    assert command.client_ip == CLIENT_IP


async def test_refresh_sends_the_token_and_the_peer(harness: Harness) -> None:
    harness.commands.responders["auth.refresh"] = refuse(ErrorCode.UNAUTHORIZED)

    response = await harness.client.post(
        "/auth/refresh", json={"refresh_token": "opaque"}
    )

    assert response.status_code == 401
    [(command, _)] = harness.commands.sent
    assert command == RefreshTokens(refresh_token="opaque", client_ip=CLIENT_IP)


async def test_logout_revokes_the_token_used_for_the_call(
    harness: Harness, user_id: UUID
) -> None:
    harness.commands.responders["auth.logout"] = answer(Done())
    token = harness.token(user_id)

    response = await harness.client.post(
        "/auth/logout", headers={"authorization": f"Bearer {token}"}
    )

    assert response.status_code == 204
    assert response.content == b""
    [(command, _)] = harness.commands.sent
    assert command == Logout(
        actor=Actor(user_id=user_id, role=Role.FREE), access_token=token
    )


async def test_a_role_in_a_change_goes_as_change_role(
    harness: Harness, user_id: UUID
) -> None:
    harness.commands.responders["users.change_role"] = refuse(ErrorCode.FORBIDDEN)

    response = await harness.client.patch(
        f"/usuarios/{user_id}", json={"role": "admin"}, headers=harness.bearer(user_id)
    )

    assert response.status_code == 403
    [(command, _)] = harness.commands.sent
    assert command == ChangeRole(
        actor=Actor(user_id=user_id, role=Role.FREE), user_id=user_id, role=Role.ADMIN
    )


async def test_profile_fields_go_as_update_profile_with_only_what_was_sent(
    harness: Harness, user_id: UUID
) -> None:
    harness.commands.responders["users.update_profile"] = answer(user_view(user_id))

    response = await harness.client.patch(
        f"/usuarios/{user_id}",
        json={"password": "N3w-Passw0rd!", "current_password": "Str0ng-Passw0rd"},
        headers=harness.bearer(user_id),
    )

    assert response.status_code == 200
    assert response.json()["id"] == str(user_id)
    [(command, _)] = harness.commands.sent
    assert isinstance(command, UpdateProfile)
    assert command.model_fields_set == {
        "actor",
        "user_id",
        "password",
        "current_password",
    }


@pytest.mark.parametrize(
    "body",
    [{}, {"current_password": "x"}, {"role": "admin", "full_name": "A"}, {"x": 1}],
)
async def test_an_empty_or_mixed_change_is_a_422_and_sends_nothing(
    harness: Harness, user_id: UUID, body: dict[str, Any]
) -> None:
    response = await harness.client.patch(
        f"/usuarios/{user_id}", json=body, headers=harness.bearer(user_id)
    )

    assert response.status_code == 422
    assert harness.commands.sent == []


async def test_delete_sends_the_callers_actor_and_answers_204(
    harness: Harness, user_id: UUID
) -> None:
    harness.commands.responders["users.delete"] = answer(Done())
    target = uuid4()

    response = await harness.client.delete(
        f"/usuarios/{target}", headers=harness.bearer(user_id, Role.ADMIN)
    )

    assert response.status_code == 204
    [(command, _)] = harness.commands.sent
    assert command == DeleteUser(
        actor=Actor(user_id=user_id, role=Role.ADMIN), user_id=target
    )


async def test_writes_that_need_a_token_send_nothing_without_one(
    harness: Harness, user_id: UUID
) -> None:
    responses = [
        await harness.client.patch(f"/usuarios/{user_id}", json={"full_name": "A"}),
        await harness.client.delete(f"/usuarios/{user_id}"),
        await harness.client.post("/auth/logout"),
    ]

    assert [response.status_code for response in responses] == [401, 401, 401]
    assert harness.commands.sent == []
