"""Stand-ins for what the gateway talks to: auth's keys, the contexts, the bus."""

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID, uuid4

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from pydantic import BaseModel

from bus.correlation import current_correlation_id
from bus.messages import Command, Role
from bus.replies import Reply

T = TypeVar("T", bound=BaseModel)

ISSUER = "streamflow-auth"
AUDIENCE = "streamflow-api"


class Authority:
    """Signs access tokens the way auth does, and publishes its JWKS."""

    def __init__(self) -> None:
        self.keys: dict[str, Ed25519PrivateKey] = {}
        self.kid = self.add_key()

    def add_key(self) -> str:
        kid = uuid4().hex
        self.keys[kid] = Ed25519PrivateKey.generate()
        return kid

    def jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                {
                    **OKPAlgorithm.to_jwk(key.public_key(), as_dict=True),
                    "kid": kid,
                    "alg": "EdDSA",
                    "use": "sig",
                }
                for kid, key in self.keys.items()
            ]
        }

    def claims(
        self, user_id: UUID, role: Role = Role.FREE, *, ttl: float = 600
    ) -> dict[str, Any]:
        now = int(time.time())
        return {
            "sub": str(user_id),
            "role": role.value,
            "sid": uuid4().hex,
            "jti": uuid4().hex,
            "iat": now,
            "exp": int(now + ttl),
            "iss": ISSUER,
            "aud": AUDIENCE,
        }

    def sign(self, claims: Mapping[str, Any], *, kid: str | None = None) -> str:
        kid = kid or self.kid
        return jwt.encode(
            dict(claims), self.keys[kid], algorithm="EdDSA", headers={"kid": kid}
        )

    def token(self, user_id: UUID, role: Role = Role.FREE) -> str:
        return self.sign(self.claims(user_id, role))


@dataclass
class Seen:
    """A request the fake context received."""

    path: str
    headers: Mapping[str, str]
    query: Mapping[str, str]


@dataclass
class FakeContexts:
    """One aiohttp server playing auth's key and revocation reads and users'."""

    authority: Authority
    seen: list[Seen] = field(default_factory=list)
    jwks_fetches: int = 0
    revocations: list[dict[str, Any]] = field(default_factory=list)
    hang: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/jwks.json", self._jwks)
        app.router.add_get("/revocations", self._revocations)
        app.router.add_get("/users", self._users)
        app.router.add_get("/users/{user_id}", self._user)
        return app

    async def _jwks(self, _request: web.Request) -> web.Response:
        self.jwks_fetches += 1
        return web.json_response(self.authority.jwks())

    async def _revocations(self, _request: web.Request) -> web.Response:
        return web.json_response({"revocations": self.revocations})

    def _record(self, request: web.Request) -> None:
        self.seen.append(
            Seen(
                path=request.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                query=dict(request.query),
            )
        )

    async def _users(self, request: web.Request) -> web.Response:
        self._record(request)
        if request.headers.get("x-user-role") != "admin":
            return web.json_response({"detail": "admins only"}, status=403)
        return web.json_response({"items": [], "page": 1, "size": 20, "total": 0})

    async def _user(self, request: web.Request) -> web.Response:
        self._record(request)
        user_id = request.match_info["user_id"]
        behaviour = {
            "00000000-0000-0000-0000-000000000500": 500,
            "00000000-0000-0000-0000-000000000503": 503,
            "00000000-0000-0000-0000-000000000422": 422,
        }
        status = behaviour.get(user_id)
        if user_id == "00000000-0000-0000-0000-00000000dead":
            # Answers only when the test ends: a context that hangs.
            await self.hang.wait()
        if status == 422:
            problem = [{"loc": ["query", "x"], "msg": "bad", "type": "value_error"}]
            return web.json_response({"detail": problem}, status=422)
        if status is not None:
            return web.Response(status=status, text="Traceback: upstream exploded")
        if request.headers.get("x-user-id") != user_id:
            return web.json_response({"detail": "user not found"}, status=404)
        return web.json_response(
            {
                "id": user_id,
                "email": "ana@example.com",
                "full_name": "Ana",
                "role": request.headers.get("x-user-role"),
                "created_at": "2025-01-01T00:00:00Z",
                "updated_at": "2025-01-01T00:00:00Z",
            }
        )


Responder = Callable[[Command], Reply[Any]]


@dataclass
class FakeCommands:
    """A command client whose replies the test decides."""

    responders: dict[str, Responder] = field(default_factory=dict)
    failure: Exception | None = None
    sent: list[tuple[Command, str]] = field(default_factory=list)
    is_connected: bool = True

    @property
    def connected(self) -> bool:
        return self.is_connected

    async def connect(self) -> None:
        self.is_connected = True

    async def close(self) -> None:
        self.is_connected = False

    async def send(
        self, command: Command, result: type[T], *, timeout: float | None = None
    ) -> Reply[T]:
        self.sent.append((command, current_correlation_id()))
        if self.failure is not None:
            raise self.failure
        reply = self.responders[command.name](command)
        # As the real client does: the reply is parsed as the expected result.
        typed = Reply[result]  # type: ignore[valid-type]
        return typed.model_validate_json(reply.model_dump_json())
