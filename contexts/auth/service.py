"""Auth's domain logic: sessions, token rotation, revocation and throttling.

Sessions. A login opens a session: a family of refresh tokens that share an
id, which the session's access tokens carry as ``sid``. A refresh spends the
presented token and issues the next of the family together with a new access
token. A spent token presented again means that two parties hold it, so the
whole family ends, the newer tokens with it.

Ending a session (logout, a reused refresh token, the user's credentials or
role changed, the user deleted) revokes the family's refresh tokens and
blacklists each of its access tokens that has not expired yet; every
blacklisted token is announced with ``token.revoked`` through the outbox, in
the same transaction.

Refresh tokens are 256 random bits and only their SHA-256 is stored. A plain
hash suffices: nobody can search 2**256 candidates, so the slow, salted
hashing that passwords need would only slow the lookup down.

Throttling. Failed logins are counted per account and per client address,
and failed refreshes per client address, in fixed windows kept in the
database so that every replica agrees. Once a counter reaches its limit,
attempts are refused with ``too_many_requests`` and ``retry_after`` until its
window ends. A successful login clears its account's counter but not its
address's, so a client cannot mix in logins of its own account to keep
guessing at another. The defaults (settings) allow 5 failures per account
and 30 per address in 15 minutes: room for a user who mistypes, or for an
office behind one address, while guessing one account's password online is
held to 480 tries a day. The counters are kept for unknown emails too, so
the answers say nothing about which accounts exist.

Expired revocations, refresh tokens and throttling windows are deleted by
``purge_expired``, which the runtime runs every ``purge_interval`` seconds.
Nothing relies on it to be correct: every read filters on expiry.
"""

import hashlib
import ipaddress
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import aiohttp
import sqlalchemy as sa
import structlog
from pydantic import BaseModel, ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bus.events import TokenRevoked
from bus.messages import Actor, Role
from bus.outbox import stage
from bus.replies import CommandError, ErrorCode, TokenPair
from contexts.auth.keys import InvalidToken, Keyring
from contexts.auth.models import (
    BlacklistedToken,
    EndReason,
    RefreshToken,
    ThrottleCounter,
)
from contexts.auth.schemas import Revocation, VerifiedCredentials
from contexts.auth.settings import AuthSettings

log = structlog.get_logger(__name__)

LOGIN_FAILED = "invalid email or password"
REFRESH_FAILED = "invalid or expired refresh token"
ACCESS_CLAIMS = ("sub", "role", "sid", "jti", "iat", "exp", "iss", "aud")
# An IPv6 client usually holds a whole /64; counting single addresses there
# would give it 2**64 fresh counters.
IPV6_PREFIX = 64


# -- tokens -------------------------------------------------------------------


class AccessClaims(BaseModel):
    """The claims of an access token."""

    sub: UUID
    role: Role
    sid: UUID
    jti: str
    iat: int
    exp: int
    iss: str
    aud: str

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.exp, UTC)


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    jti: str
    expires_at: datetime


def issue_access_token(
    keyring: Keyring,
    settings: AuthSettings,
    *,
    user_id: UUID,
    role: Role,
    session_id: UUID,
    now: datetime,
) -> IssuedAccessToken:
    """A signed access token for ``user_id`` in session ``session_id``."""
    issued_at = int(now.timestamp())
    claims = AccessClaims(
        sub=user_id,
        role=role,
        sid=session_id,
        jti=uuid4().hex,
        iat=issued_at,
        exp=issued_at + settings.access_token_ttl,
        iss=settings.issuer,
        aud=settings.audience,
    )
    token = keyring.encode(claims.model_dump(mode="json"))
    return IssuedAccessToken(token=token, jti=claims.jti, expires_at=claims.expires_at)


def read_access_token(
    keyring: Keyring, settings: AuthSettings, token: str, *, verify_exp: bool = True
) -> AccessClaims:
    """Verify an access token and return its claims; raise ``InvalidToken``."""
    claims = keyring.decode(
        token,
        issuer=settings.issuer,
        audience=settings.audience,
        required=ACCESS_CLAIMS,
        verify_exp=verify_exp,
    )
    try:
        return AccessClaims.model_validate(claims)
    except ValidationError:
        raise InvalidToken("unexpected claims") from None


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """Hex SHA-256 of a refresh token: what the database holds and looks up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- sessions -----------------------------------------------------------------


def open_session(
    session: AsyncSession,
    keyring: Keyring,
    settings: AuthSettings,
    account: VerifiedCredentials,
    now: datetime,
) -> TokenPair:
    """Start a session for an account whose credentials were verified."""
    family_id = uuid4()
    pair = _issue(
        session, keyring, settings, family_id, account.user_id, account.role, now
    )
    log.info(
        "auth.session_opened", user_id=str(account.user_id), session_id=str(family_id)
    )
    return pair


def _issue(
    session: AsyncSession,
    keyring: Keyring,
    settings: AuthSettings,
    family_id: UUID,
    user_id: UUID,
    role: Role,
    now: datetime,
) -> TokenPair:
    access = issue_access_token(
        keyring, settings, user_id=user_id, role=role, session_id=family_id, now=now
    )
    refresh_token = new_refresh_token()

    session.add(
        RefreshToken(
            id=uuid4(),
            family_id=family_id,
            user_id=user_id,
            role=role.value,
            token_hash=hash_refresh_token(refresh_token),
            access_jti=access.jti,
            access_expires_at=access.expires_at,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.refresh_token_ttl),
        )
    )
    return TokenPair(
        access_token=access.token,
        refresh_token=refresh_token,
        expires_in=settings.access_token_ttl,
    )


async def rotate(
    session: AsyncSession,
    keyring: Keyring,
    settings: AuthSettings,
    refresh_token: str,
    now: datetime,
) -> TokenPair | None:
    """Spend ``refresh_token`` and issue the next pair of its session.

    None when the token is unknown, expired, revoked or already spent; a spent
    one also ends its session, which the caller must commit.
    """
    current = (
        await session.exec(
            select(RefreshToken)
            .where(RefreshToken.token_hash == hash_refresh_token(refresh_token))
            .with_for_update()
        )
    ).first()
    if current is None or current.expires_at <= now or current.revoked_at is not None:
        return None

    if current.used_at is not None:
        log.warning(
            "auth.refresh_token_reused",
            user_id=str(current.user_id),
            session_id=str(current.family_id),
        )
        await end_sessions(
            session,
            col(RefreshToken.family_id) == current.family_id,
            EndReason.REUSE,
            now,
        )
        return None

    current.used_at = now
    session.add(current)
    return _issue(
        session,
        keyring,
        settings,
        current.family_id,
        current.user_id,
        Role(current.role),
        now,
    )


async def end_sessions(
    session: AsyncSession,
    which: sa.ColumnElement[bool],
    reason: EndReason,
    now: datetime,
) -> int:
    """End the sessions whose refresh tokens match ``which``.

    Revokes their live refresh tokens and blacklists their access tokens that
    have not expired yet. Returns how many access tokens were revoked.
    """
    tokens = (
        await session.exec(
            select(RefreshToken)
            .where(which)
            .where(col(RefreshToken.revoked_at).is_(None))
            .where(RefreshToken.expires_at > now)
            .order_by(col(RefreshToken.created_at))
            .with_for_update()
        )
    ).all()

    revoked = 0
    for token in tokens:
        token.revoked_at = now
        token.revoked_reason = reason.value
        session.add(token)
        if token.access_expires_at > now and await revoke_access_token(
            session, token.access_jti, token.user_id, token.access_expires_at, now
        ):
            revoked += 1
    return revoked


async def end_user_sessions(
    session: AsyncSession, user_id: UUID, reason: EndReason, now: datetime
) -> int:
    """End every session of ``user_id``; returns the access tokens revoked."""
    revoked = await end_sessions(
        session, col(RefreshToken.user_id) == user_id, reason, now
    )
    log.info(
        "auth.user_sessions_ended",
        user_id=str(user_id),
        reason=reason.value,
        revoked_tokens=revoked,
    )
    return revoked


async def revoke_access_token(
    session: AsyncSession, jti: str, user_id: UUID, expires_at: datetime, now: datetime
) -> bool:
    """Blacklist ``jti`` and stage ``token.revoked``; False if it already was."""
    inserted = (
        await session.exec(
            insert(BlacklistedToken)
            .values(token=jti, user_id=user_id, expires_at=expires_at, created_at=now)
            .on_conflict_do_nothing(index_elements=[BlacklistedToken.token])
            .returning(col(BlacklistedToken.token))
        )
    ).first()
    if inserted is None:
        return False

    stage(session, TokenRevoked(jti=jti, user_id=user_id, expires_at=expires_at))
    return True


async def logout(
    session: AsyncSession,
    keyring: Keyring,
    settings: AuthSettings,
    actor: Actor,
    access_token: str,
    now: datetime,
) -> None:
    """Revoke the actor's access token and end its session.

    An access token that expired meanwhile still ends its session (its
    refresh token would otherwise live on). Logging out twice is harmless.
    """
    try:
        claims = read_access_token(keyring, settings, access_token, verify_exp=False)
    except InvalidToken:
        raise CommandError(ErrorCode.UNAUTHORIZED, "invalid access token") from None
    if claims.sub != actor.user_id:
        raise CommandError(
            ErrorCode.FORBIDDEN, "the access token belongs to another user"
        )

    if claims.expires_at > now:
        await revoke_access_token(
            session, claims.jti, claims.sub, claims.expires_at, now
        )
    await end_sessions(
        session, col(RefreshToken.family_id) == claims.sid, EndReason.LOGOUT, now
    )
    log.info("auth.logged_out", user_id=str(claims.sub), session_id=str(claims.sid))


async def active_revocations(session: AsyncSession, now: datetime) -> list[Revocation]:
    """Revocations whose tokens have not expired yet, soonest expiry first."""
    rows = (
        await session.exec(
            select(BlacklistedToken)
            .where(BlacklistedToken.expires_at > now)
            .order_by(col(BlacklistedToken.expires_at))
        )
    ).all()
    return [Revocation(jti=row.token, expires_at=row.expires_at) for row in rows]


async def purge_expired(
    session: AsyncSession, now: datetime, throttle_window: timedelta
) -> dict[str, int]:
    """Delete rows that no longer matter; returns how many of each kind."""
    deleted: dict[str, int] = {}
    for name, statement in (
        (
            "revocations",
            sa.delete(BlacklistedToken).where(col(BlacklistedToken.expires_at) <= now),
        ),
        (
            "refresh_tokens",
            sa.delete(RefreshToken).where(col(RefreshToken.expires_at) <= now),
        ),
        (
            "throttle_counters",
            sa.delete(ThrottleCounter).where(
                col(ThrottleCounter.window_started_at) <= now - throttle_window
            ),
        ),
    ):
        result = await session.exec(statement)
        deleted[name] = result.rowcount
    return deleted


# -- throttling ---------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A throttling counter as read from the database."""

    started_at: datetime
    failures: int

    def ends_at(self, length: timedelta) -> datetime:
        return self.started_at + length

    def blocks(self, limit: int, length: timedelta, now: datetime) -> bool:
        """True while the limit is reached and the window has not ended."""
        return self.failures >= limit and now < self.ends_at(length)

    def retry_after(self, length: timedelta, now: datetime) -> int:
        """Whole seconds until the window ends, at least one."""
        return max(1, math.ceil((self.ends_at(length) - now).total_seconds()))


def account_key(email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()
    return f"account:{digest}"


def address_key(client_ip: str) -> str:
    """The counter of a client address: the address, or its /64 for IPv6."""
    try:
        address = ipaddress.ip_address(client_ip.strip())
    except ValueError:
        raise CommandError(
            ErrorCode.INVALID, "client_ip is not an IP address"
        ) from None
    if address.version == 6:
        network = ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False)
        return f"address:{network}"
    return f"address:{address}"


@dataclass(frozen=True)
class Throttle:
    """The counters one kind of attempt is checked against and charged to."""

    limits: Mapping[str, int]
    window: timedelta

    @classmethod
    def for_login(
        cls, settings: AuthSettings, email: str, client_ip: str
    ) -> "Throttle":
        return cls(
            limits={
                account_key(email): settings.max_failures_per_account,
                address_key(client_ip): settings.max_failures_per_address,
            },
            window=timedelta(seconds=settings.throttle_window),
        )

    @classmethod
    def for_refresh(cls, settings: AuthSettings, client_ip: str) -> "Throttle":
        return cls(
            limits={address_key(client_ip): settings.max_failures_per_address},
            window=timedelta(seconds=settings.throttle_window),
        )

    async def check(self, session: AsyncSession, now: datetime) -> None:
        """Refuse with ``too_many_requests`` while any counter is at its limit."""
        counters = (
            await session.exec(
                select(ThrottleCounter).where(
                    col(ThrottleCounter.key).in_(list(self.limits))
                )
            )
        ).all()
        waits = [
            window.retry_after(self.window, now)
            for counter in counters
            if (window := Window(counter.window_started_at, counter.failures)).blocks(
                self.limits[counter.key], self.window, now
            )
        ]
        if waits:
            log.info("auth.attempt_throttled", retry_after=max(waits))
            raise CommandError(
                ErrorCode.TOO_MANY_REQUESTS,
                "too many failed attempts; try again later",
                retry_after=max(waits),
            )

    async def record_failure(self, session: AsyncSession, now: datetime) -> None:
        """Count one failure on every counter, starting a new window if due.

        One statement per counter, so concurrent failures on several replicas
        all count.
        """
        expired = col(ThrottleCounter.window_started_at) <= now - self.window
        for key in self.limits:
            await session.exec(
                insert(ThrottleCounter)
                .values(key=key, window_started_at=now, failures=1)
                .on_conflict_do_update(
                    index_elements=[ThrottleCounter.key],
                    set_={
                        "failures": sa.case(
                            (expired, 1), else_=col(ThrottleCounter.failures) + 1
                        ),
                        "window_started_at": sa.case(
                            (expired, now),
                            else_=col(ThrottleCounter.window_started_at),
                        ),
                    },
                )
            )

    @staticmethod
    async def forgive(session: AsyncSession, key: str) -> None:
        """Forget the failures counted on ``key``."""
        await session.exec(
            sa.delete(ThrottleCounter).where(col(ThrottleCounter.key) == key)
        )


# -- the users context --------------------------------------------------------


class CredentialClient:
    """Asks the users context whether an email and password match.

    One ``aiohttp`` session is shared by every login, created on first use
    (it needs the running event loop) and closed with the runtime.
    """

    def __init__(self, users_url: str, *, timeout: float) -> None:
        self._url = users_url.rstrip("/") + "/internal/credentials/verify"
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._client: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def verify(self, email: str, password: str) -> VerifiedCredentials | None:
        """The account when the credentials match, None when they do not.

        Raises ``unavailable`` when the users context cannot say.
        """
        if self._client is None:
            self._client = aiohttp.ClientSession(timeout=self._timeout)
        body: dict[str, Any] = {"email": email, "password": password}
        try:
            async with self._client.post(self._url, json=body) as response:
                if response.status == 401:
                    return None
                if response.status == 200:
                    return VerifiedCredentials.model_validate(await response.json())
                log.warning("auth.credential_check_failed", status=response.status)
        except (aiohttp.ClientError, TimeoutError, ValidationError) as exc:
            log.warning("auth.credential_check_failed", error_type=type(exc).__name__)
        raise CommandError(
            ErrorCode.UNAVAILABLE, "the users service is unavailable; try again later"
        )
