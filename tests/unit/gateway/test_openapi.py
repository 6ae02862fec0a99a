"""One complete OpenAPI document: every path, its bodies, examples and errors."""

from typing import Any

import pytest

from gateway.app import create_app
from gateway.settings import GatewaySettings

OPERATIONS = {
    ("post", "/usuarios"): {409, 422, 500, 502, 503, 504},
    ("get", "/usuarios"): {401, 403, 422, 500, 502, 503, 504},
    ("get", "/usuarios/{user_id}"): {401, 404, 422, 500, 502, 503, 504},
    ("patch", "/usuarios/{user_id}"): {401, 403, 404, 409, 422, 500, 502, 503, 504},
    ("delete", "/usuarios/{user_id}"): {401, 403, 404, 422, 500, 502, 503, 504},
    ("post", "/auth/login"): {401, 422, 429, 500, 502, 503, 504},
    ("post", "/auth/refresh"): {401, 422, 429, 500, 502, 503, 504},
    ("post", "/auth/logout"): {401, 500, 502, 503, 504},
    ("get", "/auth/me"): {401, 404, 500, 502, 503, 504},
}
ERROR_REF = "#/components/schemas/ErrorResponse"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(GatewaySettings()).openapi()


def test_every_public_path_is_documented(document: dict[str, Any]) -> None:
    documented = {
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
    }

    assert documented == {*OPERATIONS, ("get", "/healthz"), ("get", "/readyz")}


@pytest.mark.parametrize(("method", "path"), sorted(OPERATIONS))
def test_every_error_status_uses_the_one_error_schema(
    document: dict[str, Any], method: str, path: str
) -> None:
    responses = document["paths"][path][method]["responses"]
    errors = {int(status) for status in responses if int(status) >= 400}

    assert errors == OPERATIONS[(method, path)]
    for status in errors:
        content = responses[str(status)]["content"]["application/json"]
        assert content["schema"] == {"$ref": ERROR_REF}
        assert content["example"]["error"]["code"]


@pytest.mark.parametrize(("method", "path"), sorted(OPERATIONS))
def test_every_success_and_body_has_an_example(
    document: dict[str, Any], method: str, path: str
) -> None:
    operation = document["paths"][path][method]
    schemas = document["components"]["schemas"]

    for status, response in operation["responses"].items():
        if int(status) < 300 and status != "204":
            assert response["content"]["application/json"]["example"]
    if "requestBody" in operation:
        media = operation["requestBody"]["content"]["application/json"]
        assert media["examples"]
        body = schemas[media["schema"]["$ref"].rsplit("/", 1)[1]]
        assert body["examples"]


def test_fastapis_own_validation_schema_is_not_used(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_protected_routes_declare_the_bearer_scheme(document: dict[str, Any]) -> None:
    public = {("post", "/usuarios"), ("post", "/auth/login"), ("post", "/auth/refresh")}

    for method, path in OPERATIONS:
        secured = "security" in document["paths"][path][method]
        assert secured is ((method, path) not in public), (method, path)
