"""Every failure answers with the one error shape, and never a stack trace."""

from typing import Any

import httpx

from bus.correlation import HEADER as CORRELATION_HEADER
from tests.unit.gateway.conftest import Harness

PASSWORD = "hunter2-but-longer"


def assert_error_shape(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "correlation_id"}
    assert set(body["error"]) == {"code", "message", "details", "retry_after"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["correlation_id"] == response.headers[CORRELATION_HEADER]


async def test_an_unknown_path_is_a_404_in_the_error_shape(harness: Harness) -> None:
    response = await harness.client.get("/nowhere")

    assert_error_shape(response, 404, "not_found")


async def test_a_wrong_method_is_a_405_that_names_the_allowed_ones(
    harness: Harness,
) -> None:
    response = await harness.client.put("/auth/me")

    assert_error_shape(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"


async def test_a_malformed_body_names_the_fields_without_echoing_them(
    harness: Harness,
) -> None:
    response = await harness.client.post(
        "/usuarios", json={"email": "not-an-email", "password": PASSWORD, "x": 1}
    )

    assert_error_shape(response, 422, "invalid")
    locations = [detail["loc"] for detail in response.json()["error"]["details"]]
    assert ["body", "email"] in locations
    assert ["body", "x"] in locations
    assert PASSWORD not in response.text
    assert harness.commands.sent == []


async def test_a_body_that_is_not_json_is_a_422(harness: Harness) -> None:
    response = await harness.client.post(
        "/auth/login",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )

    assert_error_shape(response, 422, "invalid")


async def test_an_unexpected_error_is_a_500_without_a_trace(harness: Harness) -> None:
    @harness.app.get("/explode")
    async def explode() -> None:
        raise RuntimeError("database password is swordfish")

    response = await harness.client.get("/explode")

    assert_error_shape(response, 500, "internal")
    assert "swordfish" not in response.text
    assert "Traceback" not in response.text


async def test_readiness_names_the_dependency_that_is_down(harness: Harness) -> None:
    # The revocation feed was never started: no RabbitMQ connection for it.
    response = await harness.client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {
        "rabbitmq": "unavailable: ConnectionError",
        "auth_keys": "ok",
        "revocations": "ok",
    }
    assert (await harness.client.get("/healthz")).status_code == 200
