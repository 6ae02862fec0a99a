"""The users apps' documents and request validation, with no service running."""

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from faststream.specification import AsyncAPI

from bus.identity import ROLE_HEADER, USER_ID_HEADER
from contexts.users.app import create_app, create_asyncapi_app
from contexts.users.settings import UsersSettings

SETTINGS = UsersSettings(database_url="mysql+aiomysql://nobody@127.0.0.1:1/nowhere")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # No lifespan: nothing starts, so only what fails before the database runs.
    transport = httpx.ASGITransport(app=create_app(SETTINGS))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://users"
    ) as client:
        yield client


def identity(role: str) -> dict[str, str]:
    return {USER_ID_HEADER: str(uuid4()), ROLE_HEADER: role}


def openapi() -> dict[str, Any]:
    return create_app(SETTINGS).openapi()


def asyncapi() -> dict[str, Any]:
    specification = create_asyncapi_app(SETTINGS).schema
    assert isinstance(specification, AsyncAPI)
    document: dict[str, Any] = specification.to_specification().to_jsonable()
    return document


def test_openapi_documents_every_read_with_its_errors() -> None:
    paths = openapi()["paths"]

    assert set(paths["/users/{user_id}"]["get"]["responses"]) >= {"200", "401", "404"}
    assert set(paths["/users"]["get"]["responses"]) >= {"200", "401", "403", "422"}
    verify = paths["/internal/credentials/verify"]["post"]
    assert set(verify["responses"]) >= {"200", "401", "422"}
    assert all(op["description"] for path in paths.values() for op in path.values())


def test_openapi_never_shows_a_password_hash() -> None:
    assert "password_hash" not in str(openapi())


def test_asyncapi_lists_the_commands_the_event_and_what_users_publishes() -> None:
    document = asyncapi()
    text = str(document)

    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "StreamFlow users"
    for name in (
        "users.register",
        "users.update_profile",
        "users.change_role",
        "users.delete",
        "users.invoice.paid",
        "user.created",
        "user.updated",
        "user.deleted",
    ):
        assert name in text, name
    assert "password_hash" not in text


def test_every_operation_in_the_asyncapi_document_is_described() -> None:
    channels = asyncapi()["channels"]

    assert channels
    assert all(channel.get("description") for channel in channels.values())


async def test_reads_need_the_gateways_identity(http: httpx.AsyncClient) -> None:
    response = await http.get(f"/users/{uuid4()}")

    assert response.status_code == 401
    assert response.json() == {"detail": "authentication required"}


async def test_the_user_list_is_for_admins_only(http: httpx.AsyncClient) -> None:
    response = await http.get("/users", headers=identity("premium"))

    assert response.status_code == 403


@pytest.mark.parametrize("size", [0, 101])
async def test_a_page_size_outside_1_to_100_is_refused(
    http: httpx.AsyncClient, size: int
) -> None:
    response = await http.get(f"/users?size={size}", headers=identity("admin"))

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "size"]


async def test_a_credential_check_without_a_password_is_invalid(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/internal/credentials/verify", json={"email": "ana@example.com"}
    )

    assert response.status_code == 422
