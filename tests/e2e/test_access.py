"""Who may read and change whom: users themselves, admins, and nobody else."""

from uuid import uuid4

import httpx

from bus.identity import ROLE_HEADER, USER_ID_HEADER
from tests.e2e.api import login, register, signed_up
from tests.e2e.conftest import ADMIN_EMAIL, Secrets, Stack


async def test_a_user_can_neither_read_nor_change_another_user(
    client: httpx.AsyncClient, secrets_seen: Secrets
) -> None:
    alice = await register(client, secrets_seen)
    bob = await register(client, secrets_seen)
    tokens = await login(client, alice.email, alice.password)

    read = await client.get(f"/usuarios/{bob.id}", headers=tokens.headers)
    changed = await client.patch(
        f"/usuarios/{bob.id}", json={"full_name": "Hacked"}, headers=tokens.headers
    )
    deleted = await client.delete(f"/usuarios/{bob.id}", headers=tokens.headers)

    assert [read.status_code, changed.status_code, deleted.status_code] == [
        404,
        404,
        404,
    ]
    assert read.json()["error"]["code"] == "not_found"
    bob_tokens = await login(client, bob.email, bob.password)
    bob_now = await client.get("/auth/me", headers=bob_tokens.headers)
    assert bob_now.json()["full_name"] == "E2E User"


async def test_a_user_cannot_make_themself_admin(
    client: httpx.AsyncClient, secrets_seen: Secrets
) -> None:
    account, tokens = await signed_up(client, secrets_seen)

    response = await client.patch(
        f"/usuarios/{account.id}", json={"role": "admin"}, headers=tokens.headers
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    me = await client.get("/auth/me", headers=tokens.headers)
    assert me.json()["role"] == "free"


async def test_a_user_cannot_list_users(
    client: httpx.AsyncClient, secrets_seen: Secrets
) -> None:
    _, tokens = await signed_up(client, secrets_seen)

    response = await client.get("/usuarios", headers=tokens.headers)

    assert response.status_code == 403


async def test_an_admin_can_read_list_change_and_delete_others(
    client: httpx.AsyncClient, stack: Stack, secrets_seen: Secrets
) -> None:
    secrets_seen.passwords.add(stack.admin_password)
    account = await register(client, secrets_seen)
    admin = await login(client, ADMIN_EMAIL, stack.admin_password)

    read = await client.get(f"/usuarios/{account.id}", headers=admin.headers)
    listed = await client.get(
        "/usuarios", params={"q": account.email, "size": 5}, headers=admin.headers
    )
    promoted = await client.patch(
        f"/usuarios/{account.id}", json={"role": "premium"}, headers=admin.headers
    )
    renamed = await client.patch(
        f"/usuarios/{account.id}", json={"full_name": "Renamed"}, headers=admin.headers
    )

    assert read.status_code == 200
    assert read.json()["email"] == account.email
    assert listed.status_code == 200
    assert [user["id"] for user in listed.json()["items"]] == [str(account.id)]
    assert listed.json()["total"] == 1
    assert promoted.json()["role"] == "premium"
    assert renamed.json()["full_name"] == "Renamed"

    deleted = await client.delete(f"/usuarios/{account.id}", headers=admin.headers)
    assert deleted.status_code == 204
    gone = await client.get(f"/usuarios/{account.id}", headers=admin.headers)
    assert gone.status_code == 404


async def test_identity_headers_sent_by_a_client_are_ignored(
    client: httpx.AsyncClient, secrets_seen: Secrets
) -> None:
    alice = await register(client, secrets_seen)
    bob = await register(client, secrets_seen)
    tokens = await login(client, alice.email, alice.password)
    forged = {USER_ID_HEADER: str(bob.id), ROLE_HEADER: "admin"}

    as_bob = await client.get(
        f"/usuarios/{bob.id}", headers={**tokens.headers, **forged}
    )
    as_admin = await client.get("/usuarios", headers={**tokens.headers, **forged})
    without_token = await client.get(f"/usuarios/{bob.id}", headers=forged)

    assert as_bob.status_code == 404
    assert as_admin.status_code == 403
    assert without_token.status_code == 401


async def test_an_unknown_user_is_a_404_even_for_an_admin(
    client: httpx.AsyncClient, stack: Stack, secrets_seen: Secrets
) -> None:
    secrets_seen.passwords.add(stack.admin_password)
    admin = await login(client, ADMIN_EMAIL, stack.admin_password)

    response = await client.get(f"/usuarios/{uuid4()}", headers=admin.headers)

    assert response.status_code == 404
