"""REST reads: a user by id (themself or an admin), the admin's paged list."""

from typing import Any
from uuid import UUID, uuid4

import httpx

from bus.identity import ROLE_HEADER, USER_ID_HEADER
from bus.messages import Actor, Role
from bus.replies import UserView
from tests.integration.users.support import PASSWORD, Users, assert_no_secrets


def as_(who: Actor | UserView) -> dict[str, str]:
    if isinstance(who, UserView):
        who = Actor(user_id=who.id, role=who.role)
    return {USER_ID_HEADER: str(who.user_id), ROLE_HEADER: who.role.value}


async def get_user(
    http: httpx.AsyncClient, user_id: UUID, who: Actor | UserView
) -> httpx.Response:
    return await http.get(f"/users/{user_id}", headers=as_(who))


async def page(http: httpx.AsyncClient, admin: Actor, **params: Any) -> dict[str, Any]:
    response = await http.get("/users", params=params, headers=as_(admin))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_user_reads_themself_and_an_admin_reads_anyone(
    http: httpx.AsyncClient, users: Users
) -> None:
    uma = await users.register("uma@example.com", full_name="Uma")
    admin = await users.admin()

    own = await get_user(http, uma.id, uma)
    by_admin = await get_user(http, uma.id, admin)

    assert own.status_code == by_admin.status_code == 200
    assert UserView.model_validate(own.json()) == uma
    assert own.json() == by_admin.json()
    assert_no_secrets([own.text], PASSWORD)


async def test_another_users_id_is_a_404_like_a_missing_one(
    http: httpx.AsyncClient, users: Users
) -> None:
    vera = await users.register("vera@example.com")
    walt = await users.register("walt@example.com")

    other = await get_user(http, vera.id, walt)
    missing = await get_user(http, uuid4(), walt)
    missing_for_admin = await get_user(http, uuid4(), await users.admin())

    assert other.status_code == missing.status_code == missing_for_admin.status_code
    assert other.status_code == 404
    assert other.json() == missing.json() == {"detail": "user not found"}


async def test_the_list_is_forbidden_to_a_non_admin(
    http: httpx.AsyncClient, users: Users
) -> None:
    xena = await users.register("xena@example.com")

    response = await http.get("/users", headers=as_(xena))

    assert response.status_code == 403


async def test_the_list_pages_in_email_order_with_a_total(
    http: httpx.AsyncClient, users: Users
) -> None:
    admin = await users.admin("a-admin@example.com")
    for name in ("bea", "cam", "dan", "eli"):
        await users.register(f"{name}@example.com")

    first = await page(http, admin, page=1, size=2)
    last = await page(http, admin, page=3, size=2)
    beyond = await page(http, admin, page=4, size=2)

    assert [user["email"] for user in first["items"]] == [
        "a-admin@example.com",
        "bea@example.com",
    ]
    assert (first["page"], first["size"], first["total"]) == (1, 2, 5)
    assert [user["email"] for user in last["items"]] == ["eli@example.com"]
    assert (beyond["items"], beyond["total"]) == ([], 5)
    assert_no_secrets([first, last], PASSWORD)


async def test_search_matches_email_or_name_and_takes_wildcards_literally(
    http: httpx.AsyncClient, users: Users
) -> None:
    admin = await users.admin()
    await users.register("fede@example.com", full_name="Federico Ruiz")
    await users.register("gala@example.com", full_name="100% Gala")
    await users.register("hans_x@example.com")

    by_name = await page(http, admin, q="ruiz")
    by_email = await page(http, admin, q="GALA@")
    percent = await page(http, admin, q="%")
    underscore = await page(http, admin, q="_")

    assert [user["email"] for user in by_name["items"]] == ["fede@example.com"]
    assert [user["email"] for user in by_email["items"]] == ["gala@example.com"]
    assert [user["email"] for user in percent["items"]] == ["gala@example.com"]
    assert [user["email"] for user in underscore["items"]] == ["hans_x@example.com"]
    assert by_name["total"] == 1


async def test_a_page_size_over_the_cap_is_refused_not_shortened(
    http: httpx.AsyncClient, users: Users
) -> None:
    admin = await users.admin()

    at_cap = await http.get("/users?size=100", headers=as_(admin))
    over = await http.get("/users?size=101", headers=as_(admin))

    assert at_cap.status_code == 200
    assert at_cap.json()["size"] == 100
    assert over.status_code == 422


async def test_reads_need_an_identity(http: httpx.AsyncClient, users: Users) -> None:
    yara = await users.register("yara@example.com")

    response = await http.get(f"/users/{yara.id}")

    assert response.status_code == 401
    assert Role.FREE.value not in response.text
