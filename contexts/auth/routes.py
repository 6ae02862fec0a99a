"""Auth's REST reads: the public keys, and the revocations still in force."""

from fastapi import APIRouter, Response

from bus.messages import utcnow
from bus.service import ServiceRuntime
from contexts.auth import service
from contexts.auth.keys import Keyring
from contexts.auth.schemas import JsonWebKey, JsonWebKeySet, RevocationList

# How long a verifier may cache the key set; a key is published at least
# this long before it signs (see contexts.auth.keys on rotation).
JWKS_MAX_AGE = 300


def create_router(runtime: ServiceRuntime, keyring: Keyring) -> APIRouter:
    """The routes of the auth context, reading ``runtime``'s database."""
    router = APIRouter()

    @router.get(
        "/.well-known/jwks.json",
        summary="Public signing keys",
        tags=["keys"],
        response_model=JsonWebKeySet,
    )
    async def jwks(response: Response) -> JsonWebKeySet:
        """The public keys that verify access tokens (a JSON Web Key Set).

        A token's header names its key (`kid`); the algorithm is EdDSA and no
        other. The set lists the current signing key first, then keys that
        were rotated out but whose tokens have not all expired.
        """
        response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
        return JsonWebKeySet(
            keys=[JsonWebKey.model_validate(key) for key in keyring.jwks()]
        )

    @router.get(
        "/revocations",
        summary="Active revocations",
        tags=["revocations"],
        response_model=RevocationList,
    )
    async def revocations() -> RevocationList:
        """Access tokens revoked before their expiry that have not expired yet.

        Internal: a gateway loads this list into its denylist when it starts,
        then follows `token.revoked` events. The gateway does not route it.
        """
        async with runtime.sessions() as session:
            active = await service.active_revocations(session, utcnow())
        return RevocationList(revocations=active)

    return router
