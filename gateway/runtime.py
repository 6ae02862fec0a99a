"""What the routes use, started and stopped with the app.

Start: the command client (RabbitMQ must be reachable, as for every
StreamFlow process), the revocation feed, then a first fetch of auth's keys.
Auth being down at start does not stop the gateway: ``/readyz`` says so, the
keys and revocations are fetched again until they arrive, and authenticated
requests answer 503 until the revocations are known.
"""

from collections.abc import Iterable
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel

from bus.messages import Command
from bus.rpc import CommandClient
from bus.service import Check, run_checks
from gateway.commands import CommandSender, execute
from gateway.denylist import Denylist, Revocation, RevocationFeed, RevocationList
from gateway.errors import ApiError
from gateway.settings import GatewaySettings
from gateway.tokens import Identity, InvalidToken, KeySet, TokenVerifier
from gateway.upstream import Upstream, create_session

T = TypeVar("T", bound=BaseModel)

CHALLENGE = {"WWW-Authenticate": "Bearer"}
JWKS_PATH = "/.well-known/jwks.json"
REVOCATIONS_PATH = "/revocations"


class Gateway:
    """The running gateway: its clients, keys and denylist, and what it checks."""

    def __init__(
        self,
        settings: GatewaySettings,
        *,
        session: aiohttp.ClientSession,
        commands: CommandSender,
    ) -> None:
        self.settings = settings
        self.session = session
        self.commands = commands
        self.users = Upstream("users", settings.users_url, session)
        self.auth = Upstream("auth", settings.auth_url, session)
        self.denylist = Denylist()
        self.keys = KeySet(
            self._fetch_keys,
            algorithm=settings.jwt_algorithm,
            min_interval=settings.jwks_refresh_interval,
        )
        self.verifier = TokenVerifier(
            self.keys,
            self.denylist,
            algorithm=settings.jwt_algorithm,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway=settings.jwt_leeway,
        )
        self.feed = RevocationFeed(
            settings.amqp_url, self.denylist, self._fetch_revocations
        )
        self.checks: dict[str, Check] = {
            "rabbitmq": self._check_rabbitmq,
            "auth_keys": self._check_keys,
            "revocations": self._check_revocations,
        }

    @classmethod
    async def create(cls, settings: GatewaySettings) -> "Gateway":
        """A gateway wired to the real RabbitMQ and contexts (not started)."""
        commands = CommandClient(
            settings.amqp_url, default_timeout=settings.command_timeout
        )
        return cls(settings, session=create_session(settings), commands=commands)

    async def start(self) -> None:
        await self.commands.connect()
        await self.feed.start()
        await self.keys.refresh()

    async def stop(self) -> None:
        await self.feed.stop()
        await self.commands.close()
        await self.session.close()

    async def authenticate(self, token: str | None) -> Identity:
        """The caller behind a bearer token; 401 without a good one.

        Whatever identity headers the client sent are never read: the identity
        passed to the contexts is built from the verified token alone.
        """
        if not token:
            raise ApiError(401, "An access token is required.", headers=CHALLENGE)
        if not self.denylist.loaded:
            # Without the revocations a logged-out token would pass.
            raise ApiError(503, "Token revocations are not loaded yet.")
        try:
            return await self.verifier.verify(token)
        except InvalidToken as exc:
            raise ApiError(401, str(exc), headers=CHALLENGE) from None

    async def send(self, command: Command, result: type[T]) -> T:
        """Send ``command``; its result, or the ``ApiError`` of its reply."""
        return await execute(self.commands, command, result)

    async def readiness(self) -> dict[str, str]:
        return await run_checks(self.checks)

    async def _fetch_keys(self) -> Any:
        return await self.auth.get_json(JWKS_PATH)

    async def _fetch_revocations(self) -> Iterable[Revocation]:
        listed = RevocationList.model_validate(
            await self.auth.get_json(REVOCATIONS_PATH)
        )
        return listed.revocations

    async def _check_rabbitmq(self) -> None:
        if not self.commands.connected or not self.feed.connected:
            raise ConnectionError("the RabbitMQ connection is down")

    async def _check_keys(self) -> None:
        if not await self.keys.refresh():
            raise ConnectionError("auth's JWKS is unreachable")

    async def _check_revocations(self) -> None:
        if not self.denylist.loaded:
            raise ConnectionError("auth's revocations are not loaded yet")
