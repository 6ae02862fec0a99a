"""Password hashing: argon2id at OWASP's minimum or above, off the event loop."""

from argon2 import PasswordHasher, Type, extract_parameters

from contexts.users.service import HASHER, check_password, dummy_hash, hash_password

PASSWORD = "correct horse battery"


def test_the_hasher_uses_argon2id_at_owasps_minimum_or_above() -> None:
    assert HASHER.type is Type.ID
    assert HASHER.memory_cost >= 19456
    assert HASHER.time_cost >= 2
    assert HASHER.parallelism >= 1


async def test_a_hash_is_argon2id_and_verifies_only_its_password() -> None:
    hashed = await hash_password(PASSWORD)

    parameters = extract_parameters(hashed)
    assert parameters.type is Type.ID
    assert (parameters.memory_cost, parameters.time_cost) == (19456, 2)
    assert PASSWORD not in hashed
    assert await check_password(hashed, PASSWORD)
    assert not await check_password(hashed, PASSWORD + "!")


async def test_a_damaged_hash_verifies_nothing() -> None:
    assert not await check_password("not-a-hash", PASSWORD)


async def test_the_dummy_hash_matches_no_guessable_password() -> None:
    assert not await check_password(dummy_hash(), "")
    assert not await check_password(dummy_hash(), PASSWORD)


def test_a_hash_with_weaker_parameters_is_due_for_rehashing() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)

    assert HASHER.check_needs_rehash(weak.hash(PASSWORD))
    assert not HASHER.check_needs_rehash(HASHER.hash(PASSWORD))
