"""Proxied reads: the context's answer, or a quick 502/503/504, never a hang."""

import socket
import time
from uuid import UUID, uuid4

import httpx

from bus.messages import Role
from gateway.app import create_app
from gateway.runtime import Gateway
from gateway.settings import GatewaySettings
from gateway.upstream import create_session
from tests.unit.gateway.conftest import Harness
from tests.unit.gateway.fakes import FakeCommands

BROKEN = UUID("00000000-0000-0000-0000-000000000500")
UNAVAILABLE = UUID("00000000-0000-0000-0000-000000000503")
INVALID = UUID("00000000-0000-0000-0000-000000000422")
HANGING = UUID("00000000-0000-0000-0000-00000000dead")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def _read_own(harness: Harness, target: UUID) -> httpx.Response:
    return await harness.client.get(
        f"/usuarios/{target}", headers=harness.bearer(target)
    )


async def test_another_users_account_is_a_404_in_the_error_shape(
    harness: Harness, user_id: UUID
) -> None:
    response = await harness.client.get(
        f"/usuarios/{uuid4()}",
        headers=harness.bearer(user_id),
    )

    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "user not found",
        "details": [],
        "retry_after": None,
    }


async def test_a_failing_context_is_a_502_without_its_body(harness: Harness) -> None:
    response = await _read_own(harness, BROKEN)

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "bad_gateway"
    assert "Traceback" not in response.text


async def test_an_unavailable_context_is_a_503(harness: Harness) -> None:
    response = await _read_own(harness, UNAVAILABLE)

    assert response.status_code == 503


async def test_a_contexts_validation_error_keeps_its_field_details(
    harness: Harness,
) -> None:
    response = await _read_own(harness, INVALID)

    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"loc": ["query", "x"], "msg": "bad", "type": "value_error"}
    ]


async def test_a_hanging_context_is_a_504_after_the_timeout(harness: Harness) -> None:
    started = time.monotonic()

    response = await _read_own(harness, HANGING)

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "timeout"
    assert time.monotonic() - started < 2


async def test_a_context_that_is_down_is_a_503_at_once(
    harness: Harness, user_id: UUID, settings: GatewaySettings
) -> None:
    down = settings.model_copy(
        update={"users_url": f"http://127.0.0.1:{closed_port()}"}
    )
    gateway = Gateway(down, session=create_session(down), commands=FakeCommands())
    gateway.keys = harness.gateway.keys
    gateway.verifier = harness.gateway.verifier
    gateway.denylist = harness.gateway.denylist
    app = create_app(down)
    app.state.gateway = gateway
    started = time.monotonic()

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://gw"
    ) as client:
        response = await client.get("/auth/me", headers=harness.bearer(user_id))
    await gateway.session.close()

    assert response.status_code == 503
    assert response.json()["error"]["message"] == "The users service is unreachable."
    assert time.monotonic() - started < 1


async def test_the_admin_list_passes_only_the_declared_query(
    harness: Harness, user_id: UUID
) -> None:
    response = await harness.client.get(
        "/usuarios?page=2&size=5&q=ana&role=admin",
        headers=harness.bearer(user_id, Role.ADMIN),
    )

    assert response.status_code == 200
    assert harness.contexts.seen[-1].query == {"page": "2", "size": "5", "q": "ana"}


async def test_the_admin_list_refuses_others_with_403(
    harness: Harness, user_id: UUID
) -> None:
    response = await harness.client.get("/usuarios", headers=harness.bearer(user_id))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


async def test_me_reads_the_callers_own_account(
    harness: Harness, user_id: UUID
) -> None:
    response = await harness.client.get("/auth/me", headers=harness.bearer(user_id))

    assert response.status_code == 200
    assert response.json()["id"] == str(user_id)
    assert harness.contexts.seen[-1].path == f"/users/{user_id}"
