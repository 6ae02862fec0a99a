"""Access tokens checked locally, with the auth context's public keys.

Only the pinned algorithm is accepted, ``exp``, ``iss`` and ``aud`` are
required and checked, and the ``kid`` of the header picks the key. A token
whose ``kid`` is unknown makes the key set refresh itself once, no more often
than ``jwks_refresh_interval``, so forged tokens cannot make the gateway
hammer auth.

A verified token is remembered until it expires, so the signature is checked
once per token rather than once per request; its expiry and the denylist are
checked on every request.
"""

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import jwt
import structlog

from bus.identity import ROLE_HEADER, USER_ID_HEADER
from bus.messages import Actor, Role
from gateway.denylist import Denylist

log = structlog.get_logger(__name__)

Fetch = Callable[[], Awaitable[Mapping[str, Any]]]

REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti", "role")
# After a failed fetch the next attempt may come sooner than after a good one,
# so a gateway started before auth becomes ready quickly once auth is up.
RETRY_AFTER_FAILURE = 1.0
MAX_CACHED_TOKENS = 10_000


class InvalidToken(Exception):
    """The access token is not acceptable; the message says why, safely."""


@dataclass(frozen=True, slots=True)
class Identity:
    """The caller, as their verified access token says."""

    user_id: UUID
    role: Role
    jti: str
    expires_at: float
    token: str = field(repr=False)
    # What upstream contexts receive (bus.identity), computed once per token.
    headers: Mapping[str, str] = field(repr=False)

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.user_id, role=self.role)


class KeySet:
    """The auth context's signing keys by ``kid``, fetched from its JWKS."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        algorithm: str,
        min_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._algorithm = algorithm
        self._min_interval = min_interval
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._entries: dict[str, Any] = {}
        self._lock = asyncio.Lock()
        self._last_attempt = -math.inf
        self._last_ok = False
        self.on_change: list[Callable[[], None]] = []

    @property
    def loaded(self) -> bool:
        return bool(self._keys)

    def get(self, kid: str) -> jwt.PyJWK | None:
        return self._keys.get(kid)

    async def key_for(self, kid: str) -> jwt.PyJWK | None:
        """The key ``kid``; an unknown one triggers one rate-limited refresh."""
        key = self._keys.get(kid)
        if key is None:
            await self.refresh()
            key = self._keys.get(kid)
        return key

    async def refresh(self) -> bool:
        """Fetch the keys unless that was tried too recently.

        True when keys are loaded and the latest fetch succeeded.
        """
        async with self._lock:
            wait = self._min_interval if self._last_ok else RETRY_AFTER_FAILURE
            if self._clock() - self._last_attempt < wait:
                return self._last_ok and self.loaded
            self._last_attempt = self._clock()
            try:
                document = await self._fetch()
                entries = self._usable_entries(document)
                keys = {
                    kid: jwt.PyJWK(entry, algorithm=self._algorithm)
                    for kid, entry in entries.items()
                }
            except Exception as exc:
                self._last_ok = False
                log.warning("gateway.jwks.fetch_failed", error_type=type(exc).__name__)
                return False
            self._last_ok = True

        if entries != self._entries:
            log.info("gateway.jwks.loaded", kids=sorted(entries))
            self._entries = entries
            self._keys = keys
            for callback in self.on_change:
                callback()
        return self.loaded

    def _usable_entries(self, document: Mapping[str, Any]) -> dict[str, Any]:
        usable: dict[str, Any] = {}
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise ValueError("a JWKS document has a list of keys")
        for entry in entries:
            kid = entry.get("kid") if isinstance(entry, dict) else None
            # A key meant for another algorithm or for encryption is ignored,
            # never used with the pinned algorithm.
            if not isinstance(kid, str) or entry.get("use", "sig") != "sig":
                continue
            if entry.get("alg", self._algorithm) == self._algorithm:
                usable[kid] = entry
        if not usable:
            raise ValueError("the JWKS holds no usable signing key")
        return usable


class TokenVerifier:
    def __init__(
        self,
        keys: KeySet,
        denylist: Denylist,
        *,
        algorithm: str,
        issuer: str,
        audience: str,
        leeway: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._denylist = denylist
        self._algorithm = algorithm
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._clock = clock
        self._verified: dict[str, Identity] = {}
        # A key removed from the JWKS (rotated out, perhaps compromised) must
        # stop vouching for the tokens it signed.
        keys.on_change.append(self._verified.clear)

    async def verify(self, token: str) -> Identity:
        """The identity of a valid, unexpired, unrevoked token.

        Raises ``InvalidToken`` otherwise.
        """
        identity = self._verified.get(token)
        if identity is None:
            identity = await self._decode(token)
            self._remember(identity)
        elif self._clock() >= identity.expires_at + self._leeway:
            raise InvalidToken("The access token has expired.")
        if self._denylist.is_revoked(identity.jti):
            raise InvalidToken("The access token has been revoked.")
        return identity

    async def _decode(self, token: str) -> Identity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("The access token is malformed.") from None
        kid = header.get("kid")
        if header.get("alg") != self._algorithm or not isinstance(kid, str):
            raise InvalidToken("The access token is not signed as expected.")
        key = await self._keys.key_for(kid)
        if key is None:
            raise InvalidToken("The access token's signing key is unknown.")

        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The access token has expired.") from None
        except jwt.PyJWTError:
            raise InvalidToken("The access token is invalid.") from None

        try:
            user_id = UUID(str(claims["sub"]))
            role = Role(claims["role"])
            jti = str(claims["jti"])
            expires_at = float(claims["exp"])
        except (ValueError, TypeError):
            raise InvalidToken("The access token's claims are invalid.") from None
        return Identity(
            user_id=user_id,
            role=role,
            jti=jti,
            expires_at=expires_at,
            token=token,
            headers={USER_ID_HEADER: str(user_id), ROLE_HEADER: role.value},
        )

    def _remember(self, identity: Identity) -> None:
        if len(self._verified) >= MAX_CACHED_TOKENS:
            now = self._clock()
            for token, known in list(self._verified.items()):
                if known.expires_at + self._leeway <= now:
                    del self._verified[token]
            # Limitation: past this many live tokens the memory is simply
            # emptied; the cost is one signature check per token again.
            if len(self._verified) >= MAX_CACHED_TOKENS:
                self._verified.clear()
        self._verified[identity.token] = identity
