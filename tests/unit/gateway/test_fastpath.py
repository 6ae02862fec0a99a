"""The fast path answers exactly as the FastAPI routes it stands in for."""

from uuid import UUID, uuid4

import httpx
import pytest

from bus.messages import Role
from gateway.deps import get_gateway
from tests.unit.gateway.conftest import Harness


def _no_dashes(user_id: UUID) -> str:
    # Still a valid id for FastAPI, but not the fast path's canonical form.
    return user_id.hex


def _comparable(response: httpx.Response) -> tuple[int, object, str | None]:
    body = response.json()
    body.pop("correlation_id", None)
    return response.status_code, body, response.headers.get("www-authenticate")


@pytest.mark.parametrize(
    "case", ["own", "other", "no token", "bad token", "basic auth", "not loaded"]
)
async def test_both_paths_answer_the_same(
    harness: Harness, user_id: UUID, case: str
) -> None:
    target = uuid4() if case == "other" else user_id
    headers = {
        "own": harness.bearer(user_id),
        "other": harness.bearer(user_id),
        "no token": {},
        "bad token": {"authorization": "Bearer nonsense"},
        "basic auth": {"authorization": "Basic dXNlcjpwYXNz"},
        "not loaded": harness.bearer(user_id),
    }[case]
    if case == "not loaded":
        harness.gateway.denylist.loaded = False

    fast = await harness.client.get(f"/usuarios/{target}", headers=headers)
    routed = await harness.client.get(
        f"/usuarios/{_no_dashes(target)}", headers=headers
    )

    assert _comparable(fast) == _comparable(routed)


async def test_the_fast_path_serves_without_fastapis_dependencies(
    harness: Harness, user_id: UUID
) -> None:
    async def broken() -> None:
        raise AssertionError("the FastAPI route ran")

    harness.app.dependency_overrides[get_gateway] = broken

    read = await harness.client.get(
        f"/usuarios/{user_id}", headers=harness.bearer(user_id, Role.ADMIN)
    )
    me = await harness.client.get("/auth/me", headers=harness.bearer(user_id))

    assert read.status_code == 200
    assert me.status_code == 200


async def test_an_upper_case_id_reaches_the_context_in_canonical_form(
    harness: Harness, user_id: UUID
) -> None:
    response = await harness.client.get(
        f"/usuarios/{str(user_id).upper()}", headers=harness.bearer(user_id)
    )

    assert response.status_code == 200
    assert harness.contexts.seen[-1].path == f"/users/{user_id}"


async def test_other_methods_and_paths_still_reach_fastapi(
    harness: Harness, user_id: UUID
) -> None:
    wrong_method = await harness.client.post(
        "/auth/me", headers=harness.bearer(user_id)
    )
    not_an_id = await harness.client.get(
        "/usuarios/not-an-id", headers=harness.bearer(user_id)
    )

    assert wrong_method.status_code == 405
    assert not_an_id.status_code == 422
