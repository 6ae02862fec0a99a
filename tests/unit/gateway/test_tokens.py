"""Access tokens: verified locally, pinned algorithm, checked claims, denylist."""

import base64
import json
import time
from typing import Any
from uuid import UUID, uuid4

import jwt
import pytest

from bus.identity import ROLE_HEADER, USER_ID_HEADER
from bus.messages import Role
from gateway.denylist import Denylist
from gateway.tokens import InvalidToken, KeySet, TokenVerifier
from tests.unit.gateway.conftest import Harness
from tests.unit.gateway.fakes import AUDIENCE, ISSUER, Authority


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def _read_self(harness: Harness, user_id: UUID, token: str) -> int:
    response = await harness.client.get(
        f"/usuarios/{user_id}", headers={"authorization": f"Bearer {token}"}
    )
    if response.status_code == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["error"]["code"] == "unauthorized"
    return response.status_code


async def test_a_valid_token_passes_its_identity_to_the_context(
    harness: Harness, user_id: UUID
) -> None:
    response = await harness.client.get(
        f"/usuarios/{user_id}", headers=harness.bearer(user_id, Role.PREMIUM)
    )

    assert response.status_code == 200
    assert response.json()["id"] == str(user_id)
    seen = harness.contexts.seen[-1].headers
    assert seen[USER_ID_HEADER] == str(user_id)
    assert seen[ROLE_HEADER] == "premium"


async def test_identity_headers_sent_by_the_client_are_ignored(
    harness: Harness, user_id: UUID
) -> None:
    admin_id = uuid4()

    response = await harness.client.get(
        f"/usuarios/{admin_id}",
        headers={
            **harness.bearer(user_id),
            USER_ID_HEADER: str(admin_id),
            ROLE_HEADER: "admin",
        },
    )

    assert response.status_code == 404
    seen = harness.contexts.seen[-1].headers
    assert seen[USER_ID_HEADER] == str(user_id)
    assert seen[ROLE_HEADER] == "free"


async def test_identity_headers_alone_do_not_authenticate(harness: Harness) -> None:
    admin_id = uuid4()

    response = await harness.client.get(
        "/usuarios", headers={USER_ID_HEADER: str(admin_id), ROLE_HEADER: "admin"}
    )

    assert response.status_code == 401
    assert harness.contexts.seen == []


async def test_a_missing_token_is_a_401(harness: Harness) -> None:
    response = await harness.client.get("/auth/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", int(time.time()) - 60),
        ("aud", "someone-else"),
        ("iss", "evil-issuer"),
        ("sub", "not-a-uuid"),
        ("role", "superuser"),
    ],
)
async def test_a_token_with_a_bad_claim_is_a_401(
    harness: Harness, user_id: UUID, claim: str, value: object
) -> None:
    claims = {**harness.authority.claims(user_id), claim: value}
    token = harness.authority.sign(claims)

    assert await _read_self(harness, user_id, token) == 401


@pytest.mark.parametrize("claim", ["exp", "iss", "aud", "jti", "sub", "role"])
async def test_a_token_without_a_required_claim_is_a_401(
    harness: Harness, user_id: UUID, claim: str
) -> None:
    claims = harness.authority.claims(user_id)
    del claims[claim]

    assert await _read_self(harness, user_id, harness.authority.sign(claims)) == 401


async def test_a_token_signed_by_another_key_with_a_known_kid_is_a_401(
    harness: Harness, user_id: UUID
) -> None:
    forger = Authority()
    forger.keys[harness.authority.kid] = forger.keys.pop(forger.kid)
    token = forger.sign(forger.claims(user_id), kid=harness.authority.kid)

    assert await _read_self(harness, user_id, token) == 401


async def test_an_unsigned_token_is_a_401(harness: Harness, user_id: UUID) -> None:
    header = {"alg": "none", "kid": harness.authority.kid}
    token = f"{_b64(header)}.{_b64(harness.authority.claims(user_id))}."

    assert await _read_self(harness, user_id, token) == 401


async def test_an_hmac_token_keyed_with_the_public_key_is_a_401(
    harness: Harness, user_id: UUID
) -> None:
    public_x = harness.authority.jwks()["keys"][0]["x"]
    token = jwt.encode(
        harness.authority.claims(user_id),
        public_x,
        algorithm="HS256",
        headers={"kid": harness.authority.kid},
    )

    assert await _read_self(harness, user_id, token) == 401


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
async def test_a_malformed_token_is_a_401(
    harness: Harness, user_id: UUID, token: str
) -> None:
    assert await _read_self(harness, user_id, token) == 401


async def test_a_revoked_token_is_a_401_even_once_verified(
    harness: Harness, user_id: UUID
) -> None:
    claims = harness.authority.claims(user_id)
    token = harness.authority.sign(claims)
    assert await _read_self(harness, user_id, token) == 200

    harness.gateway.denylist.revoke(claims["jti"], claims["exp"])

    assert await _read_self(harness, user_id, token) == 401


async def test_tokens_are_refused_with_503_until_revocations_are_loaded(
    harness: Harness, user_id: UUID
) -> None:
    harness.gateway.denylist.loaded = False

    response = await harness.client.get(
        f"/usuarios/{user_id}", headers=harness.bearer(user_id)
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"


async def test_an_unknown_kid_refreshes_the_keys_once_within_the_interval(
    harness: Harness, user_id: UUID
) -> None:
    fetches = harness.contexts.jwks_fetches
    new_kid = harness.authority.add_key()
    token = harness.authority.sign(harness.authority.claims(user_id), kid=new_kid)
    # The key was published after the last fetch: the unknown kid fetches again.
    harness.gateway.keys._last_attempt = float("-inf")

    assert await _read_self(harness, user_id, token) == 200
    assert harness.contexts.jwks_fetches == fetches + 1

    for _ in range(5):
        forged = harness.authority.sign(
            harness.authority.claims(user_id), kid=harness.authority.add_key()
        )
        assert await _read_self(harness, user_id, forged) == 401
    assert harness.contexts.jwks_fetches == fetches + 1


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_the_key_set_fetches_no_more_often_than_its_interval() -> None:
    authority = Authority()
    fetches: list[float] = []
    clock = Clock()

    async def fetch() -> dict[str, Any]:
        fetches.append(clock.now)
        return authority.jwks()

    keys = KeySet(fetch, algorithm="EdDSA", min_interval=30, clock=clock)

    assert await keys.key_for("unknown") is None
    assert await keys.key_for("unknown") is None
    clock.now += 29
    assert await keys.key_for("unknown") is None
    clock.now += 1
    assert await keys.key_for("unknown") is None

    assert fetches == [1_000.0, 1_030.0]
    assert keys.get(authority.kid) is not None


async def test_the_key_set_retries_sooner_after_a_failed_fetch() -> None:
    authority = Authority()
    clock = Clock()
    down = True

    async def fetch() -> dict[str, Any]:
        if down:
            raise ConnectionError("auth is down")
        return authority.jwks()

    keys = KeySet(fetch, algorithm="EdDSA", min_interval=30, clock=clock)
    assert not await keys.refresh()

    down = False
    assert not await keys.refresh()
    clock.now += 1

    assert await keys.refresh()


async def test_keys_for_another_algorithm_are_not_used() -> None:
    authority = Authority()

    async def fetch() -> dict[str, Any]:
        document = authority.jwks()
        document["keys"][0]["alg"] = "RS256"
        return document

    keys = KeySet(fetch, algorithm="EdDSA", min_interval=30)

    assert not await keys.refresh()
    assert keys.get(authority.kid) is None


async def test_a_remembered_token_still_expires() -> None:
    authority = Authority()
    user_id = uuid4()
    clock = Clock(time.time())

    async def fetch() -> dict[str, Any]:
        return authority.jwks()

    keys = KeySet(fetch, algorithm="EdDSA", min_interval=30)
    verifier = TokenVerifier(
        keys,
        Denylist(),
        algorithm="EdDSA",
        issuer=ISSUER,
        audience=AUDIENCE,
        leeway=5,
        clock=clock,
    )
    token = authority.sign(authority.claims(user_id, ttl=60))
    identity = await verifier.verify(token)
    assert identity.user_id == user_id

    clock.now = identity.expires_at + 5

    with pytest.raises(InvalidToken, match="expired"):
        await verifier.verify(token)


async def test_a_rotated_out_key_stops_vouching_for_remembered_tokens() -> None:
    authority = Authority()
    user_id = uuid4()
    clock = Clock()

    async def fetch() -> dict[str, Any]:
        return authority.jwks()

    keys = KeySet(fetch, algorithm="EdDSA", min_interval=30, clock=clock)
    verifier = TokenVerifier(
        keys, Denylist(), algorithm="EdDSA", issuer=ISSUER, audience=AUDIENCE, leeway=0
    )
    token = authority.sign(authority.claims(user_id))
    await verifier.verify(token)

    old_kid = authority.kid
    authority.kid = authority.add_key()
    del authority.keys[old_kid]
    clock.now += 30
    await keys.refresh()

    with pytest.raises(InvalidToken, match="unknown"):
        await verifier.verify(token)
