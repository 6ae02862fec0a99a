"""The internal credential check the auth context logs users in with."""

import time

import httpx
from argon2 import PasswordHasher, extract_parameters

from tests.integration.users.support import PASSWORD, Users, assert_no_secrets

VERIFY = "/internal/credentials/verify"
GENERIC = {"detail": "invalid email or password"}


async def check(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post(VERIFY, json={"email": email, "password": password})


async def test_the_right_password_answers_who_it_is(
    http: httpx.AsyncClient, users: Users
) -> None:
    zoe = await users.register("zoe@example.com")

    response = await check(http, "  ZOE@example.com ", PASSWORD)

    assert response.status_code == 200
    assert response.json() == {
        "user_id": str(zoe.id),
        "email": "zoe@example.com",
        "role": "free",
    }
    assert_no_secrets([response.text], PASSWORD)


async def test_a_wrong_password_and_an_unknown_email_get_one_answer(
    http: httpx.AsyncClient, users: Users
) -> None:
    await users.register("abel@example.com")

    wrong = await check(http, "abel@example.com", "not-the-password")
    unknown = await check(http, "nobody@example.com", PASSWORD)
    malformed = await check(http, "not an email", PASSWORD)

    assert wrong.status_code == unknown.status_code == malformed.status_code == 401
    assert wrong.json() == unknown.json() == malformed.json() == GENERIC
    assert_no_secrets([wrong.text, unknown.text], PASSWORD)


async def _fastest(http: httpx.AsyncClient, email: str, tries: int = 3) -> float:
    timings = []
    for _ in range(tries):
        started = time.perf_counter()
        await check(http, email, "not-the-password")
        timings.append(time.perf_counter() - started)
    return min(timings)


async def test_an_unknown_email_costs_a_hash_verification_too(
    http: httpx.AsyncClient, users: Users
) -> None:
    await users.register("bruno@example.com")

    known = await _fastest(http, "bruno@example.com")
    unknown = await _fastest(http, "nobody@example.com")

    # Without the dummy verification an unknown email answers in about a
    # millisecond, against tens of milliseconds for a known one.
    assert unknown > known / 2


async def test_a_hash_with_old_parameters_is_upgraded_on_login(
    http: httpx.AsyncClient, users: Users
) -> None:
    cleo = await users.register("cleo@example.com")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    update = "UPDATE users SET password_hash = :hash WHERE id = :id"
    await users.execute(update, cleo.id, hash=weak)

    response = await check(http, "cleo@example.com", PASSWORD)
    stored = await users.scalar(
        "SELECT password_hash FROM users WHERE id = :id", id=str(cleo.id)
    )

    assert response.status_code == 200
    parameters = extract_parameters(stored)
    assert (parameters.memory_cost, parameters.time_cost) == (19456, 2)
    assert (await check(http, "cleo@example.com", PASSWORD)).status_code == 200
