"""The seeder: admin plus fake users, each published once, nothing added twice."""

import httpx

from bus.service import ServiceRuntime
from contexts.users.seed import seed
from contexts.users.settings import UsersSettings
from tests.integration.users.support import Users, assert_no_secrets
from tests.support.rabbit import watch_exchange


async def test_seeding_again_adds_nothing_and_a_larger_count_adds_the_rest(
    settings: UsersSettings,
    runtime: ServiceRuntime,
    users: Users,
    http: httpx.AsyncClient,
) -> None:
    async with watch_exchange(settings.amqp_url, "user.created") as created:
        first = await seed(settings, 30)
        await created.wait_for(31)
        again = await seed(settings, 30)
        larger = await seed(settings, 35)
        await created.wait_for(36)
        # A later event is a barrier: any second copy would have come before it.
        await users.register("after-the-seed@example.com")
        events = await created.wait_for(37)

    assert (first.admin_created, first.created, first.skipped) == (True, 30, 0)
    assert (again.admin_created, again.created, again.skipped) == (False, 0, 30)
    assert (larger.created, larger.skipped) == (5, 30)
    assert first.pending == again.pending == larger.pending == 0

    user_ids = [event["user_id"] for event in events]
    assert len(set(user_ids)) == len(user_ids) == 37
    assert await users.scalar("SELECT count(*) FROM users") == 37
    assert_no_secrets(events, settings.admin_password, settings.seed_password)


async def test_the_seeded_admin_and_users_log_in_with_the_configured_passwords(
    settings: UsersSettings, runtime: ServiceRuntime, http: httpx.AsyncClient
) -> None:
    await seed(settings, 3)
    verify = "/internal/credentials/verify"

    admin = await http.post(
        verify,
        json={"email": settings.admin_email, "password": settings.admin_password},
    )
    listed = await http.get(
        "/users",
        headers={"x-user-id": admin.json()["user_id"], "x-user-role": "admin"},
    )
    fake_email = next(
        user["email"] for user in listed.json()["items"] if user["role"] != "admin"
    )
    fake = await http.post(
        verify, json={"email": fake_email, "password": settings.seed_password}
    )

    assert admin.status_code == 200
    assert admin.json()["role"] == "admin"
    assert listed.json()["total"] == 4
    assert fake.status_code == 200
