"""Bad input, throttling, unknown paths and a missing context, end to end."""

import time

import httpx

from tests.e2e.api import register, signed_up
from tests.e2e.conftest import MAX_FAILURES_PER_ACCOUNT, Secrets


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    assert body["correlation_id"] == response.headers["x-correlation-id"]


async def test_malformed_bodies_are_422_with_field_details(
    client: httpx.AsyncClient, secrets_seen: Secrets
) -> None:
    account, tokens = await signed_up(client, secrets_seen)

    registration = await client.post(
        "/usuarios", json={"email": "nope", "password": "short"}
    )
    login_attempt = await client.post("/auth/login", json={"email": account.email})
    change = await client.patch(
        f"/usuarios/{account.id}", json={"nickname": "x"}, headers=tokens.headers
    )
    not_json = await client.post(
        "/auth/refresh",
        content=b"{",
        headers={"content-type": "application/json"},
    )
    bad_id = await client.get("/usuarios/not-a-uuid", headers=tokens.headers)

    for response in (registration, login_attempt, change, not_json, bad_id):
        assert_error(response, 422, "invalid")
    fields = {tuple(d["loc"]) for d in registration.json()["error"]["details"]}
    assert fields == {("body", "email"), ("body", "password")}
    assert ("body", "password") in {
        tuple(d["loc"]) for d in login_attempt.json()["error"]["details"]
    }
    assert ("body", "nickname") in {
        tuple(d["loc"]) for d in change.json()["error"]["details"]
    }


async def test_repeated_failed_logins_are_throttled_with_retry_after(
    client: httpx.AsyncClient, secrets_seen: Secrets
) -> None:
    account = await register(client, secrets_seen)
    wrong = {"email": account.email, "password": "Wrong-" + account.password}

    failures = [
        await client.post("/auth/login", json=wrong)
        for _ in range(MAX_FAILURES_PER_ACCOUNT)
    ]
    throttled = await client.post("/auth/login", json=wrong)

    assert [response.status_code for response in failures] == [401] * len(failures)
    assert_error(throttled, 429, "too_many_requests")
    assert int(throttled.headers["retry-after"]) > 0
    assert throttled.json()["error"]["retry_after"] == int(
        throttled.headers["retry-after"]
    )


async def test_an_unknown_path_is_a_404_in_the_error_shape(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/no/such/path")

    assert_error(response, 404, "not_found")


async def test_the_internal_credential_check_is_not_routed(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/internal/credentials/verify", json={"email": "a@b.c", "password": "x"}
    )

    assert_error(response, 404, "not_found")


async def test_a_context_that_is_down_answers_503_quickly(
    client: httpx.AsyncClient, replica: httpx.AsyncClient, secrets_seen: Secrets
) -> None:
    _, tokens = await signed_up(client, secrets_seen)

    started = time.monotonic()
    response = await replica.get("/auth/me", headers=tokens.headers)
    elapsed = time.monotonic() - started

    assert_error(response, 503, "unavailable")
    assert elapsed < 1.0


async def test_the_openapi_document_and_docs_are_served(
    client: httpx.AsyncClient,
) -> None:
    document = await client.get("/openapi.json")
    docs = await client.get("/docs")

    assert document.status_code == 200
    assert "/usuarios/{user_id}" in document.json()["paths"]
    assert docs.status_code == 200
